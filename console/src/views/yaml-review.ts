/**
 * Editing a definition as YAML: the editor, then a review before anything is saved. "Review changes" sends the text
 * to the API's dry save (`POST /api/definitions/:id/validate`): its errors are marked at their lines in the editor
 * and listed with a button to each line; a valid text shows the values that change and a line diff against the
 * stored YAML. Only a text reviewed as valid, and not changed since, can be saved, with a change message.
 */
import { ApiError } from '../api';
import type { Problem } from '../api-types';
import { editButton } from '../controls';
import { h, replace, uniqueId, type Child } from '../dom';
import {
  conflictOf,
  saveYaml,
  validateYaml,
  type Base,
  type DefinitionChange,
  type Saved,
  type Validated,
} from '../edit-api';
import type { LineError, YamlEditor } from '../editor/editor-api';
import { loadEditor } from '../editor-loader';
import { canEdit, messageField, problemView, statusLine } from './edit-controls';
import { diffView, lineDiff } from './line-diff';
import { code, dataTable } from './tables';
import { valueText } from './values';

/** What the workbench edits and how it reports a save. */
export interface YamlReviewOptions {
  /** The definition's id; read when reviewing, so a new definition's id field can change. */
  readonly id: () => string;
  /** The stored YAML the edit is compared with; empty for a new definition. */
  readonly base: string;
  /**
   * The revision `base` is, which a save (and a review) names in `If-Match`, or `'new'`: then a save stores only
   * while no definition has the id. Either way a save made after someone else's is refused (412), not stored.
   */
  readonly against: Base;
  /** What `base` is, for the diff's caption, such as "revision 3". */
  readonly baseLabel: string;
  /** The editor's first text. */
  readonly text: string;
  /** The editor's accessible name. */
  readonly label: string;
  /** A new definition: an id that is taken is refused at review, so nothing is overwritten. */
  readonly isNew: boolean;
  readonly onSaved: (saved: Saved) => void;
}

/** The editor, the change message, "Review changes", "Save" and the review's result. */
export async function yamlReview(options: YamlReviewOptions): Promise<HTMLElement> {
  const { createYamlEditor } = await loadEditor();
  const host = h('div', { class: 'yaml-editor' });
  const review = h('section', { class: 'review', 'aria-label': 'Review' });
  const status = statusLine();
  const { field, input: message } = messageField();
  const writer = { scope: canEdit() ? ('write' as const) : ('read' as const) };
  let reviewed: string | null = null;
  let busy = false;

  const save = editButton(writer, 'Save', () => void onSave());
  const check = editButton(writer, 'Review changes', () => void onReview());
  const saveHint = uniqueId('save-hint');
  save.setAttribute('aria-describedby', saveHint);
  const saveState = h('span', { class: 'hint', id: saveHint });
  const setSavable = (ready: boolean, why: string): void => {
    if (writer.scope === 'write') save.disabled = !ready;
    saveState.textContent = writer.scope === 'write' ? why : '';
  };

  const editor: YamlEditor = createYamlEditor(host, {
    text: options.text,
    label: options.label,
    readOnly: !canEdit(),
    onChange: () => {
      if (reviewed !== null && editor.text() !== reviewed) {
        reviewed = null;
        setSavable(false, 'The YAML changed since the review; review it again before saving.');
      }
    },
  });
  setSavable(false, 'Review the changes before saving.');

  const showRefusal = (error: unknown): void => {
    const problem: Problem = error instanceof ApiError ? error.problem : {};
    const lines: LineError[] = (problem.errors ?? []).flatMap((item) =>
      item.line === undefined ? [] : [{ line: item.line, message: `${item.path}: ${item.message}` }],
    );
    if (problem.line !== undefined) lines.push({ line: problem.line, message: problem.detail ?? 'not valid YAML' });
    editor.showErrors(lines);
    replace(review, h('h2', null, 'Review'), problemView(error, { goToLine: (line) => editor.goToLine(line) }));
  };

  async function onReview(): Promise<void> {
    if (busy) return;
    busy = true;
    const text = editor.text();
    status.textContent = 'Checking…';
    try {
      // A new definition's review does not send If-None-Match: a taken id is said below, with a link to it.
      const result = await validateYaml(options.id(), text, options.against === 'new' ? undefined : options.against);
      editor.showErrors([]);
      if (options.isNew && result.revision !== null) {
        replace(
          review,
          h('h2', null, 'Review'),
          h(
            'div',
            { class: 'problem', role: 'alert' },
            h(
              'p',
              null,
              `A definition with the id ${result.id} exists already (revision ${result.revision}). Choose another id, or open `,
              h('a', { href: `/ui/definitions/${encodeURIComponent(result.id)}` }, result.id),
              ' to change it.',
            ),
          ),
        );
        status.textContent = '';
        return;
      }
      reviewed = text;
      replace(review, h('h2', null, 'Review'), reviewView(result, options, text));
      setSavable(!result.unchanged, result.unchanged ? 'Nothing to save: this is the current revision.' : '');
      status.textContent = result.unchanged ? 'No changes.' : 'The definition is valid; review the changes, then save.';
    } catch (error) {
      showRefusal(error);
      status.textContent = conflictOf(error)
        ? 'The definition changed meanwhile: nothing was saved.'
        : 'Not valid: nothing was saved.';
    } finally {
      busy = false;
    }
  }

  async function onSave(): Promise<void> {
    const text = editor.text();
    if (busy || reviewed === null || text !== reviewed) return;
    busy = true;
    setSavable(false, '');
    status.textContent = 'Saving…';
    try {
      const saved = await saveYaml(options.id(), text, message.value, options.against);
      status.textContent = saved.unchanged ? 'Nothing changed.' : `Saved as revision ${saved.revision}.`;
      options.onSaved(saved);
    } catch (error) {
      showRefusal(error);
      reviewed = null;
      const conflict = conflictOf(error);
      setSavable(
        false,
        conflict ? 'Not saved: the definition changed meanwhile (see below).' : 'Not saved; review the changes again.',
      );
      status.textContent = conflict ? 'Not saved: the definition changed meanwhile.' : 'Not saved.';
    } finally {
      busy = false;
    }
  }

  return h(
    'div',
    { class: 'yaml-review' },
    h(
      'p',
      { class: 'hint' },
      'YAML of the whole definition; Tab leaves the editor. "Review changes" checks it and shows what will change; nothing is saved until you save.',
    ),
    host,
    field,
    h('div', { class: 'actions' }, check, ' ', save, ' ', saveState),
    status,
    review,
  );
}

function reviewView(result: Validated, options: YamlReviewOptions, text: string): Child {
  if (result.unchanged) return h('p', null, `No changes: the definition is the same as ${options.baseLabel}.`);
  return [
    result.revision === null
      ? h('p', null, `A new definition, ${result.id}.`)
      : changesTable(result.diff, `Values that change from ${options.baseLabel}`),
    diffView(`Lines that change from ${options.baseLabel}`, lineDiff(options.base, text)),
  ];
}

/** The API's list of changed values. */
function changesTable(changes: readonly DefinitionChange[], caption: string): Child {
  if (changes.length === 0) return h('p', null, 'No value changes; only comments or layout differ.');
  const shown = (value: unknown): Child => (value === undefined ? '—' : code(valueText(value)));
  return dataTable(
    caption,
    ['Path', 'Before', 'After'],
    changes.map((change) => [code(change.path), shown(change.before), shown(change.after)]),
  );
}
