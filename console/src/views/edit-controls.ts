/**
 * The parts every editing page shares: whether this session may edit, the change message field, a save button that
 * a read session sees disabled with the reason (`editButton`), a status line, and the API's refusal drawn next to
 * what it is about, every error with its path and, for YAML, its line.
 */
import { ApiError, session } from '../api';
import type { Problem } from '../api-types';
import { editButton, READ_SCOPE_REASON } from '../controls';
import { h, replace, uniqueId, type Attrs, type Child } from '../dom';
import { conflictOf, type Conflict, type Saved } from '../edit-api';

/** True when the signed-in session has the write scope. */
export function canEdit(): boolean {
  return session()?.scope === 'write';
}

/** A submit button for a write session; for a read one, a disabled button that says why. */
export function submitButton(label: string): HTMLButtonElement {
  if (canEdit()) return h('button', { type: 'submit' }, label);
  return editButton({ scope: 'read' }, label, () => undefined);
}

/** The read scope's reason, said once at the top of an editing page; nothing for a write session. */
export function readScopeNotice(): Child {
  return canEdit() ? null : h('p', { class: 'read-only-notice' }, READ_SCOPE_REASON);
}

/** Attributes that make a field of an editing form read-only, with the reason, for a read session. */
export function lockedForReader(): Record<string, string | boolean> {
  return canEdit() ? {} : { disabled: true, title: READ_SCOPE_REASON };
}

/** The change message field ("why", like a commit message), its label and hint. */
export function messageField(): { field: Child; input: HTMLInputElement } {
  const id = uniqueId('change-message');
  const hint = `${id}-hint`;
  const input = h('input', {
    id,
    type: 'text',
    maxlength: 500,
    autocomplete: 'off',
    'aria-describedby': hint,
    ...lockedForReader(),
  });
  return {
    input,
    field: h(
      'div',
      { class: 'field' },
      h('label', { for: id }, 'Change message'),
      input,
      h(
        'p',
        { class: 'hint', id: hint },
        'Why you make this change; it is kept with the revision, like a commit message.',
      ),
    ),
  };
}

/** A live region for what a save did or why it was refused. */
export function statusLine(): HTMLElement {
  return h('p', { class: 'save-status', role: 'status' });
}

/** One error of a refusal, as a person reads it: `Line 12: steps[1].action: unknown action …`. */
export function errorText(error: { readonly path: string; readonly message: string; readonly line?: number }): string {
  return `${error.line === undefined ? '' : `Line ${error.line}: `}${error.path}: ${error.message}`;
}

/**
 * The API's refusal: its detail, then each error (with a button to its line when `goToLine` is given). `only`
 * leaves out errors shown elsewhere, such as next to their fields.
 */
export function problemView(
  error: unknown,
  options: { goToLine?: (line: number) => void; only?: (path: string) => boolean } = {},
): HTMLElement {
  const conflict = conflictOf(error);
  if (conflict) return conflictView(conflict);
  const problem: Problem = error instanceof ApiError ? error.problem : {};
  const detail = error instanceof Error ? error.message : String(error);
  const errors = (problem.errors ?? []).filter((item) => options.only?.(item.path) ?? true);
  const { goToLine } = options;
  const toLine = (line: number): Child =>
    goToLine
      ? [
          ' ',
          h('button', { type: 'button', class: 'link-button', onclick: () => goToLine(line) }, `Go to line ${line}`),
        ]
      : null;
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', null, detail, problem.line === undefined ? null : toLine(problem.line)),
    errors.length > 0
      ? h(
          'ul',
          { 'aria-label': 'Errors' },
          errors.map((item) => h('li', null, errorText(item), item.line === undefined ? null : toLine(item.line))),
        )
      : null,
  );
}

/**
 * A save refused because the definition changed after the page read it (412): who won, and the way on. The change
 * stays on the page (the form's fields, the editor's text); the comparison opens in a new tab so it is not lost, and
 * reloading, which shows the current revision, discards it.
 */
function conflictView(conflict: Conflict): HTMLElement {
  const page = `/ui/definitions/${encodeURIComponent(conflict.id)}`;
  const { current, expected } = conflict;
  if (current === 0) {
    return h(
      'div',
      { class: 'problem conflict', role: 'alert' },
      h(
        'p',
        null,
        `Not saved: ${conflict.id} was deleted meanwhile, so there is nothing to save your change over. Your change is still on this page.`,
      ),
    );
  }
  if (expected === undefined) {
    return h(
      'div',
      { class: 'problem conflict', role: 'alert' },
      h(
        'p',
        null,
        `Not saved: a definition with the id ${conflict.id} was created meanwhile (revision ${current}). Your text is still here: choose another id, or open `,
        h('a', { href: page, target: '_blank', rel: 'noopener' }, conflict.id),
        ' (in a new tab) to change it.',
      ),
    );
  }
  return h(
    'div',
    { class: 'problem conflict', role: 'alert' },
    h(
      'p',
      null,
      `Not saved: someone else saved revision ${current} of ${conflict.id} while you were changing revision ${expected}. Your change is still on this page; nothing was stored.`,
    ),
    h(
      'p',
      null,
      h(
        'a',
        { href: `${page}/compare?from=${expected}&to=${current}`, target: '_blank', rel: 'noopener' },
        `Compare revision ${expected} with revision ${current}`,
      ),
      ' (in a new tab) to see what changed, then ',
      h(
        'button',
        { type: 'button', class: 'link-button', onclick: () => location.reload() },
        `reload revision ${current}`,
      ),
      ' (your change here is discarded), re-apply your change and save again.',
    ),
  );
}

/** What {@link changeForm} draws and does. */
export interface ChangeFormOptions {
  /** The form's attributes, such as its class and accessible name. */
  readonly attrs: Attrs;
  /** What comes before the change message: an explanation, fields. */
  readonly body: Child;
  /** The submit button's label. */
  readonly button: string;
  /** The status while it saves, such as "Restoring…". */
  readonly working: string;
  /** Saves with the change message; null when there is nothing to save. */
  readonly save: (message: string) => Promise<Saved | null>;
  /** After a save, such as going to the definition's page. */
  readonly saved: (saved: Saved) => void;
  /** Shows the refusal's errors where they belong; those it shows are left out of the list under the form. */
  readonly placeErrors?: (error: unknown) => ReadonlySet<string>;
}

/**
 * A form that saves a change with a change message: its body, the message field, the button (disabled with the
 * reason for a read session), a status line and the API's refusal under it; one save at a time.
 */
export function changeForm(options: ChangeFormOptions): HTMLFormElement {
  const { field, input: message } = messageField();
  const status = statusLine();
  const problems = h('div', { class: 'problems' });
  const button = submitButton(options.button);
  const form = h('form', options.attrs, options.body, field, h('div', { class: 'actions' }, button), status, problems);
  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy || !canEdit()) return;
    busy = true;
    button.disabled = true;
    status.textContent = options.working;
    replace(problems);
    options
      .save(message.value)
      .then((saved) => {
        if (saved === null) {
          status.textContent = 'Nothing changed, so nothing was saved.';
          return;
        }
        status.textContent = `Saved as revision ${saved.revision}.`;
        options.saved(saved);
      })
      .catch((error: unknown) => {
        status.textContent = 'Not saved.';
        const placed = options.placeErrors?.(error) ?? new Set<string>();
        replace(problems, problemView(error, { only: (path) => !placed.has(path) }));
      })
      .finally(() => {
        busy = false;
        button.disabled = false;
      });
  });
  return form;
}
