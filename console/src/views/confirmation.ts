/**
 * Doing something from a page: a question asked in place before an action that cannot be undone, and a notice that
 * says what was done or, in the API's own words, why it was refused. Every message is text.
 */
import { ApiError } from '../api';
import { h, replace, type Child } from '../dom';

/** Where a page says what an action did (a polite status) or why it failed (an alert). */
export interface Notice {
  readonly element: HTMLElement;
  done(message: Child): void;
  refused(message: Child): void;
}

/** A notice area, empty until an action reports. */
export function noticeArea(): Notice {
  const status = h('p', { role: 'status', class: 'notice' });
  const alert = h('p', { role: 'alert', class: 'form-error' });
  return {
    element: h('div', { class: 'notices', tabindex: -1 }, status, alert),
    done(message) {
      replace(alert);
      replace(status, message);
    },
    refused(message) {
      replace(status);
      replace(alert, message);
    },
  };
}

/**
 * Why `what` did not happen, readable: the API's refusal (a 403 for who may not, a 409 for what is no longer
 * possible) with its own `detail`, or the failure that stopped the request.
 */
export function refusalText(what: string, error: unknown): string {
  if (!(error instanceof ApiError)) return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
  const detail = error.problem.detail ?? error.message;
  switch (error.status) {
    case 0:
      return `${what} failed: ${detail}`;
    case 403:
      return `${what} was refused: ${detail}`;
    case 404:
      return `${what} found nothing to act on: ${detail}`;
    case 409:
      return `${what} is no longer possible: ${detail}`;
    default:
      return `${what} failed (HTTP ${error.status}): ${detail}`;
  }
}

/**
 * Asks before `act`: the trigger makes room for `question` and two buttons, and the focus moves to the first. `yes`
 * runs `act` (its buttons disabled meanwhile); `no`, or a refused `act`, puts the trigger back.
 */
export function confirmInPlace(
  trigger: HTMLElement,
  question: Child,
  labels: { readonly yes: string; readonly no: string },
  act: () => Promise<boolean>,
): void {
  const yes = h('button', { type: 'button' }, labels.yes);
  const no = h('button', { type: 'button', class: 'secondary' }, labels.no);
  const group = h(
    'div',
    { class: 'confirm', role: 'group', 'aria-label': labels.yes },
    h('p', null, question),
    yes,
    no,
  );
  const back = (): void => {
    if (group.isConnected) group.replaceWith(trigger);
    trigger.focus();
  };
  no.addEventListener('click', back);
  yes.addEventListener('click', () => {
    yes.disabled = true;
    no.disabled = true;
    void act()
      .catch(() => false)
      .then((done) => {
        if (!done) back();
      });
  });
  trigger.replaceWith(group);
  yes.focus();
}

/** A button that reads the page's data again and draws it; a failure is said in the notice, as `what` failed. */
export function refreshButton(notice: Notice, what: string, draw: () => Promise<void>): HTMLElement {
  const button = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  button.addEventListener('click', () => {
    button.disabled = true;
    draw()
      .catch((error: unknown) => notice.refused(refusalText(what, error)))
      .finally(() => {
        button.disabled = false;
      });
  });
  return h('p', { class: 'page-actions' }, button);
}
