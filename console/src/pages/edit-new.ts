/**
 * A new definition from the action catalog: pick an action, name the definition and the event it reacts to, and get
 * a skeleton YAML whose one step runs that action with its example's `with`; edit it, review it (an id that is taken
 * is refused, so nothing is overwritten) and save it as revision 1.
 */
import { actions } from '../api';
import type { ActionDescription } from '../api-types';
import { h, replace, uniqueId } from '../dom';
import { loadEditor } from '../editor-loader';
import { navigate } from '../navigation';
import { definitionHref } from '../views/definition-facts';
import { lockedForReader, problemView, readScopeNotice } from '../views/edit-controls';
import { yamlReview } from '../views/yaml-review';
import type { Page } from './page';

/** `/ui/new`, or `/ui/new?action=<id>` with that action chosen. */
export const newDefinitionPage: Page = async () => {
  const catalog = await actions();
  const chosen = new URLSearchParams(location.search).get('action') ?? '';
  const field = (label: string, control: HTMLInputElement | HTMLSelectElement, hint: string): HTMLElement => {
    const id = uniqueId('new');
    control.id = id;
    control.setAttribute('aria-describedby', `${id}-hint`);
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      control,
      h('p', { class: 'hint', id: `${id}-hint` }, hint),
    );
  };
  const text = (value: string, pattern: string): HTMLInputElement =>
    h('input', {
      type: 'text',
      value,
      pattern,
      required: true,
      spellcheck: 'false',
      autocomplete: 'off',
      ...lockedForReader(),
    });
  const action = h(
    'select',
    { required: true, ...lockedForReader() },
    [...catalog.values()].map((entry) => h('option', { value: entry.id, selected: entry.id === chosen }, entry.id)),
  );
  const description = h('p', { class: 'description', 'aria-live': 'polite' });
  const describe = (): void => {
    description.textContent = catalog.get(action.value)?.description ?? '';
  };
  action.addEventListener('change', describe);
  describe();
  const id = text('', '[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?');
  const name = text('', '.{1,200}');
  const source = text('demo', '[a-z0-9][a-z0-9_.\\-]{0,63}');
  const type = text('', '[a-z0-9][a-z0-9_.\\-]{0,63}');
  const workbench = h('div', { class: 'new-workbench' });
  const start = h('button', { type: 'submit', ...lockedForReader() }, 'Write the YAML');
  const form = h(
    'form',
    { class: 'new-form', 'aria-label': 'Start from an action' },
    field('Action', action, 'What the first step does; its example fills in the step.'),
    description,
    field('Definition id', id, 'Lowercase letters, digits and dashes, such as announce-release. It never changes.'),
    field('Name', name, 'What people call it, such as Announce a release.'),
    field('Event source', source, 'Who sends the event it reacts to, such as jira, jenkins or demo.'),
    field('Event type', type, 'Which event of that source, such as issue_transitioned.'),
    h('div', { class: 'actions' }, start),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const picked = catalog.get(action.value);
    if (!picked || !form.reportValidity()) return;
    void (async () => {
      try {
        const { toYaml } = await loadEditor();
        const definitionId = id.value.trim();
        replace(
          workbench,
          h('h2', null, `YAML of ${definitionId}`),
          await yamlReview({
            id: () => definitionId,
            base: '',
            baseLabel: 'nothing (a new definition)',
            against: 'new',
            text: skeleton(toYaml, picked, definitionId, name.value.trim(), source.value.trim(), type.value.trim()),
            label: `YAML of ${definitionId}`,
            isNew: true,
            onSaved: () => navigate(definitionHref(definitionId)),
          }),
        );
        workbench.querySelector('h2')?.scrollIntoView();
      } catch (error) {
        replace(workbench, problemView(error));
      }
    })();
  });
  return {
    title: 'New definition',
    content: [
      h('h1', null, 'New definition'),
      h(
        'p',
        { class: 'lead' },
        'Start from an action of the catalog: Flow writes a definition whose one step runs it with its example values. Edit the YAML, review it and save it.',
      ),
      readScopeNotice(),
      form,
      workbench,
    ],
  };
};

/** The skeleton: the definition's names, its one binding, and one step running `action` with its first example. */
function skeleton(
  toYaml: (value: unknown) => string,
  action: ActionDescription,
  id: string,
  name: string,
  source: string,
  type: string,
): string {
  const example = action.examples[0];
  const step = {
    id: (action.id.split('.').at(-1) ?? 'step').replace(/[^a-z0-9_]/g, '_'),
    name: example?.title ?? action.description.split('.')[0] ?? action.id,
    action: action.id,
    with: example?.with ?? {},
  };
  const header = [
    `# A new definition, started from ${action.id}: ${action.description.split('\n')[0] ?? ''}`,
    "# The step below holds the action's example values; change them, add steps, then review and save.",
    '',
  ].join('\n');
  return `${header}${toYaml({ id, name, on: [{ source, type }], steps: [step] })}`;
}
