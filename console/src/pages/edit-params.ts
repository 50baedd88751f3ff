/**
 * Changing a definition's fixed params in a form, step by step (a Slack channel, a tag prefix), without touching its
 * YAML. The changes are written into the stored YAML where the old values stood, so its comments stay, and saved
 * as a new revision with a change message (`PUT /api/definitions/:id`); the API's errors are shown next to their
 * fields.
 */
import { actions, definition, ApiError } from '../api';
import { h } from '../dom';
import { definitionYaml, saveYaml } from '../edit-api';
import { loadEditor } from '../editor-loader';
import { navigate } from '../navigation';
import { definitionHref } from '../views/definition-facts';
import { changeForm, readScopeNotice } from '../views/edit-controls';
import { stepForm, type StepForm, type StepList } from '../views/param-form';
import type { Page } from './page';

/** An error path that is about one value of a step's `with`: `steps[2].with.channel`, `on_failure[0].with.to[1]`. */
const FIELD_PATH = /^(steps|on_failure)\[(\d+)\]\.with(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\])/;

/** `/ui/definitions/:id/edit`. */
export const editParamsPage: Page = async ([id = '']) => {
  const [stored, catalog] = await Promise.all([definition(id), actions()]);
  // The YAML of the revision just read: the form's values, the text the edits go into and the save's If-Match agree.
  const yaml = await definitionYaml(id, stored.revision);
  const def = stored.definition;
  const forms = new Map<string, StepForm>();
  const section = (list: StepList, heading: string, steps: typeof def.steps) =>
    steps.length === 0
      ? null
      : [
          h('h2', null, heading),
          steps.map((step, index) => {
            const form = stepForm(list, index, step, catalog.get(step.action));
            forms.set(`${list}[${index}]`, form);
            return form.element;
          }),
        ];
  const form = changeForm({
    attrs: { class: 'params-form', novalidate: true },
    body: [section('steps', 'Steps', def.steps), section('on_failure', 'On failure', def.on_failure ?? [])],
    button: 'Save',
    working: 'Saving…',
    save: async (message) => {
      for (const stepFormOf of forms.values()) stepFormOf.clearErrors();
      const edits = [...forms.values()].flatMap((stepFormOf) => stepFormOf.edits());
      if (edits.length === 0) return null;
      const { editYaml } = await loadEditor();
      return saveYaml(id, editYaml(yaml, edits), message, stored.revision);
    },
    saved: () => navigate(definitionHref(id)),
    placeErrors: (error) => {
      const shownAtFields = new Set<string>();
      if (!(error instanceof ApiError)) return shownAtFields;
      for (const item of error.problem.errors ?? []) {
        const match = FIELD_PATH.exec(item.path);
        const key = match ? (match[3] ?? (JSON.parse(match[4] ?? '""') as string)) : undefined;
        const target = match ? forms.get(`${match[1]}[${match[2]}]`) : undefined;
        if (key !== undefined && target?.showError(key, item.message)) shownAtFields.add(item.path);
      }
      return shownAtFields;
    },
  });
  return {
    title: `Edit ${def.name}`,
    content: [
      h('h1', null, `Edit ${def.name}`),
      h(
        'p',
        { class: 'lead' },
        `The fixed params of each step of revision ${stored.revision}, from its action's inputs. Values with \${{ }} expressions, and the rest of the definition, are changed in `,
        h('a', { href: `${definitionHref(id)}/yaml` }, 'the YAML editor'),
        '. ',
        h('a', { href: definitionHref(id) }, `Back to ${def.name}`),
        '.',
      ),
      readScopeNotice(),
      form,
    ],
  };
};
