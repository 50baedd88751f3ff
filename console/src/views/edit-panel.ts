/**
 * What the definition page offers for changing a definition: the form for its fixed params, its YAML, turning it
 * off and on (a save with `enabled` flipped, in its YAML so the comments stay), and comparing any two revisions,
 * where a revision can be restored. A read session sees these controls disabled, with the reason, and can still
 * read the YAML and compare.
 */
import type { Revision, StoredDefinition } from '../api-types';
import { editButton } from '../controls';
import { h, uniqueId } from '../dom';
import { definitionYaml, saveYaml } from '../edit-api';
import { loadEditor } from '../editor-loader';
import { navigate } from '../navigation';
import { definitionHref } from './definition-facts';
import { canEdit, changeForm } from './edit-controls';

/** The address of the comparison of two revisions. */
export function compareHref(id: string, from: number, to: number): string {
  return `${definitionHref(id)}/compare?from=${from}&to=${to}`;
}

/** The "Change this definition" section: links to the editors, and enable or disable with a change message. */
export function editPanel(stored: StoredDefinition): HTMLElement {
  const { id, enabled } = stored.definition;
  const href = definitionHref(id);
  const headingId = uniqueId('change');
  const paramsLink = canEdit()
    ? h('a', { href: `${href}/edit`, class: 'button-link' }, 'Edit fixed params')
    : editButton({ scope: 'read' }, 'Edit fixed params', () => undefined);
  const yamlLink = h('a', { href: `${href}/yaml`, class: 'button-link' }, canEdit() ? 'Edit YAML' : 'View YAML');
  return h(
    'section',
    { class: 'edit-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Change this definition'),
    h('p', { class: 'actions' }, paramsLink, ' ', yamlLink),
    toggleForm(id, enabled, stored.revision),
  );
}

/**
 * Disable (or enable) with a change message: the YAML's `enabled` set, saved as a new revision after `revision`, the
 * one the page shows (a save by someone else since is not overwritten: 412).
 */
function toggleForm(id: string, enabled: boolean, revision: number): HTMLElement {
  const label = enabled ? 'Disable' : 'Enable';
  return changeForm({
    attrs: { class: 'toggle-form', 'aria-label': `${label} this definition` },
    body: h(
      'p',
      null,
      enabled
        ? 'Enabled: events it is bound to start runs. Disabled, it keeps its bindings and revisions but starts nothing.'
        : 'Disabled: it starts no runs. Enabled again, the events it is bound to start runs.',
    ),
    button: label,
    working: enabled ? 'Disabling…' : 'Enabling…',
    save: async (message) => {
      const [{ editYaml }, yaml] = await Promise.all([loadEditor(), definitionYaml(id, revision)]);
      return saveYaml(id, editYaml(yaml, [{ path: ['enabled'], value: !enabled }]), message, revision);
    },
    saved: () => navigate(definitionHref(id), { replace: true }),
  });
}

/** Two revision choices and "Compare", which opens their comparison (a read session may compare too). */
export function compareForm(id: string, history: readonly Revision[], from: number, to: number): HTMLElement {
  const choice = (label: string, selected: number): { field: HTMLElement; select: HTMLSelectElement } => {
    const selectId = uniqueId('revision');
    const select = h(
      'select',
      { id: selectId },
      history.map((revision) =>
        h(
          'option',
          { value: revision.revision, selected: revision.revision === selected },
          `${revision.revision}${revision.current ? ' (current)' : ''}${revision.message ? `: ${revision.message}` : ''}`,
        ),
      ),
    );
    return { select, field: h('div', { class: 'field inline' }, h('label', { for: selectId }, label), select) };
  };
  const first = choice('From revision', from);
  const second = choice('To revision', to);
  const form = h(
    'form',
    { class: 'compare-form', 'aria-label': 'Compare revisions' },
    first.field,
    second.field,
    h('button', { type: 'submit' }, 'Compare'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(compareHref(id, Number(first.select.value), Number(second.select.value)));
  });
  return form;
}

/** Below the revisions: compare two of them (the one before the current and the current, to begin with). */
export function revisionTools(id: string, history: readonly Revision[]): HTMLElement | null {
  if (history.length < 2) return null;
  const current = history.find((revision) => revision.current) ?? history[0];
  const previous = history.find((revision) => revision.revision < (current?.revision ?? 0));
  if (!current || !previous) return null;
  return h(
    'div',
    { class: 'revision-tools' },
    compareForm(id, history, previous.revision, current.revision),
    h('p', { class: 'hint' }, 'Compare any two revisions; from there, restore one as the newest revision.'),
  );
}
