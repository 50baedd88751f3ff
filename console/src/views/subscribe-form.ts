/**
 * "Subscribe" on an event's page and a definition's page: a button that opens a small form (for an event, an
 * optional condition; for a definition, the outcomes of its runs; for both, a Slack target and/or an email address
 * and an optional message), saved with `POST /api/subscriptions` under the signed-in name. Subscribing is the one
 * change a read session may make, so the form is enabled for every session. The API's refusal is drawn next to the
 * field each problem is about (`deliver.email`, `on.if`), the rest under the form; everything is text.
 */
import { ApiError } from '../api';
import { h, replace, uniqueId } from '../dom';
import {
  createSubscription,
  DEFAULT_OUTCOMES,
  SUBSCRIPTION_OUTCOMES,
  type EventTrigger,
  type NewSubscription,
  type OutcomeTrigger,
} from '../subscriptions-api';
import { problemView } from './edit-controls';
import { code } from './tables';

/** The address of the page listing the session's subscriptions. */
export const SUBSCRIPTIONS_HREF = '/ui/subscriptions';

/** What the form subscribes to: one event, or the runs of one definition. */
export type SubscribeTarget =
  | { readonly kind: 'event'; readonly source: string; readonly type: string }
  | { readonly kind: 'definition'; readonly id: string; readonly name: string };

/** A field with its error line: `control` is marked invalid and `error` says why. */
interface FieldParts {
  readonly element: HTMLElement;
  readonly control: HTMLElement;
  readonly error: HTMLElement;
}

/** The longest message the API takes (`MAX_SUBSCRIPTION_MESSAGE`). */
const MAX_MESSAGE = 2_000;

/** The "Subscribe" section: what it does, the button, and the form it opens. */
export function subscribePanel(target: SubscribeTarget): HTMLElement {
  const headingId = uniqueId('subscribe');
  const formId = uniqueId('subscribe-form');
  const status = h('p', { role: 'status', class: 'save-status' });
  const problems = h('div', { class: 'problems' });
  const fields = new Map<string, FieldParts>();

  const condition =
    target.kind === 'event'
      ? textField(
          'Condition (if)',
          'text',
          'Optional. A CEL condition on the event, such as event.project == "SHOP"; it may name event and run. Empty: every such event.',
          { spellcheck: 'false', autocomplete: 'off' },
        )
      : undefined;
  if (condition) fields.set('on.if', condition);
  const outcomes = target.kind === 'definition' ? outcomeChoices() : undefined;
  if (outcomes) fields.set('on.outcomes', outcomes);
  const slack = textField('Slack', 'text', '@you for a direct message, or #channel.', {
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: '@you or #channel',
  });
  const email = textField('Email', 'email', 'One address.', { spellcheck: 'false', autocomplete: 'email' });
  const deliveryError = h('p', { class: 'field-error', id: uniqueId('deliver-error') });
  const delivery = h(
    'fieldset',
    { class: 'subscribe-group', 'aria-describedby': `${deliveryError.id}` },
    h('legend', null, 'Deliver to (Slack, email or both)'),
    slack.element,
    email.element,
    deliveryError,
  );
  fields.set('deliver.slack', slack);
  fields.set('deliver.email', email);
  fields.set('deliver', { element: delivery, control: delivery, error: deliveryError });
  const message = textField(
    'Message template',
    'textarea',
    target.kind === 'event'
      ? 'Optional. Text with ${{ }} expressions over event and run, such as Release ${{ event.version }} started. Empty: a message naming the event.'
      : 'Optional. Text with ${{ }} expressions over event and run, such as ${{ event.definition }} ${{ event.type }}. Empty: a message naming the run and its outcome.',
    { rows: 2, maxlength: MAX_MESSAGE, spellcheck: 'false' },
  );
  fields.set('message', message);

  const save = h('button', { type: 'submit' }, 'Save subscription');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = h(
    'form',
    { id: formId, class: 'subscribe-form', 'aria-label': 'New subscription', novalidate: true, hidden: true },
    condition?.element,
    outcomes?.element,
    delivery,
    message.element,
    h('p', { class: 'field-actions' }, save, cancel),
    problems,
  );
  const open = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': formId }, 'Subscribe');
  const show = (shown: boolean): void => {
    form.hidden = !shown;
    open.setAttribute('aria-expanded', String(shown));
  };
  open.addEventListener('click', () => {
    const opening = open.getAttribute('aria-expanded') !== 'true';
    show(opening);
    if (opening) {
      replace(status);
      form.querySelector<HTMLElement>('input, textarea')?.focus();
    }
  });
  let busy = false;
  const close = (): void => {
    show(false);
    open.focus();
  };
  cancel.addEventListener('click', close);
  // Escape closes the form as Cancel does; what was typed stays for the next opening.
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !busy) {
      event.preventDefault();
      close();
    }
  });

  const clearErrors = (): void => {
    replace(problems);
    for (const field of fields.values()) {
      field.error.textContent = '';
      field.control.removeAttribute('aria-invalid');
    }
  };
  /** Shows each error at its field; returns the paths shown there, and focuses the first. */
  const placeErrors = (error: unknown): Set<string> => {
    const placed = new Set<string>();
    if (!(error instanceof ApiError)) return placed;
    let first: HTMLElement | undefined;
    for (const item of error.problem.errors ?? []) {
      const field = fields.get(fieldKey(item.path));
      if (!field) continue;
      field.error.textContent = field.error.textContent ? `${field.error.textContent} ${item.message}` : item.message;
      field.control.setAttribute('aria-invalid', 'true');
      placed.add(item.path);
      first ??= field.control;
    }
    first?.focus();
    return placed;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    save.disabled = true;
    clearErrors();
    replace(status, 'Saving…');
    const on: EventTrigger | OutcomeTrigger =
      target.kind === 'event'
        ? { source: target.source, type: target.type, ...optional('if', condition?.value()) }
        : { definition: target.id, outcomes: outcomes?.checked() ?? [] };
    const subscription: NewSubscription = {
      on,
      deliver: { ...optional('slack', slack.value()), ...optional('email', email.value()) },
      ...optional('message', message.value()),
    };
    createSubscription(subscription)
      .then((saved) => {
        form.reset();
        show(false);
        replace(
          status,
          `Subscribed to ${describeTarget(target)}: notifications go to ${deliveryText(saved.subscription.deliver)} (subscription `,
          code(saved.id),
          '). ',
          h('a', { href: SUBSCRIPTIONS_HREF }, 'See My subscriptions'),
          '.',
        );
        open.focus();
      })
      .catch((error: unknown) => {
        const placed = placeErrors(error);
        const errors = error instanceof ApiError ? (error.problem.errors ?? []) : [];
        if (errors.length > 0 && errors.every((item) => placed.has(item.path))) {
          replace(
            status,
            `Not saved: ${errors.length === 1 ? 'one problem, marked at its field' : `${errors.length} problems, marked at their fields`}.`,
          );
          return;
        }
        replace(status, 'Not saved.');
        replace(problems, problemView(error, { only: (path) => !placed.has(path) }));
      })
      .finally(() => {
        busy = false;
        save.disabled = false;
      });
  });

  return h(
    'section',
    { class: 'subscribe-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Subscribe'),
    h(
      'p',
      { class: 'subscribe-intro' },
      h(
        'span',
        null,
        target.kind === 'event'
          ? `Be told by Slack or email when ${target.source} sends ${target.type}, without changing any definition.`
          : `Be told by Slack or email when a run of ${target.name} starts, ends or waits, without changing the definition.`,
      ),
      open,
    ),
    form,
    status,
  );
}

/** A label, its control, a hint and an error line. */
function textField(
  label: string,
  kind: 'text' | 'email' | 'textarea',
  hint: string,
  attrs: Record<string, string | number>,
): FieldParts & { value(): string } {
  const id = uniqueId('subscribe-field');
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const common = { id, 'aria-describedby': `${hintId} ${errorId}`, ...attrs };
  const control =
    kind === 'textarea' ? h('textarea', common) : h('input', { ...common, type: kind === 'email' ? 'email' : 'text' });
  const error = h('p', { class: 'field-error', id: errorId });
  return {
    element: h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      control,
      h('p', { class: 'hint', id: hintId }, hint),
      error,
    ),
    control,
    error,
    value: () => control.value.trim(),
  };
}

/** The outcomes as checkboxes, the ones that need someone checked. */
function outcomeChoices(): FieldParts & { checked(): string[] } {
  const errorId = uniqueId('outcomes-error');
  const hintId = uniqueId('outcomes-hint');
  const boxes = SUBSCRIPTION_OUTCOMES.map((outcome) => {
    const id = uniqueId(`outcome-${outcome}`);
    const box = h('input', {
      id,
      type: 'checkbox',
      name: 'outcomes',
      value: outcome,
      checked: DEFAULT_OUTCOMES.includes(outcome),
    });
    return { box, element: h('li', null, box, ' ', h('label', { for: id }, outcome.replaceAll('_', ' '))) };
  });
  const error = h('p', { class: 'field-error', id: errorId });
  const element = h(
    'fieldset',
    { class: 'subscribe-group', 'aria-describedby': `${hintId} ${errorId}` },
    h('legend', null, 'Outcomes'),
    h('p', { class: 'hint', id: hintId }, 'Which moments of a run to be told of.'),
    h(
      'ul',
      { class: 'choices' },
      boxes.map(({ element: item }) => item),
    ),
    error,
  );
  return {
    element,
    control: element,
    error,
    checked: () => boxes.filter(({ box }) => box.checked).map(({ box }) => box.value),
  };
}

/** The field an error path is about: `on.outcomes[1]` → `on.outcomes`, `message` with anything after → `message`. */
function fieldKey(path: string): string {
  if (path.startsWith('on.outcomes')) return 'on.outcomes';
  if (path.startsWith('message')) return 'message';
  return path;
}

/** `{key: value}` when the value is not empty, else nothing. */
function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: string });
}

function describeTarget(target: SubscribeTarget): string {
  return target.kind === 'event' ? `${target.source} / ${target.type}` : `the outcomes of ${target.name}'s runs`;
}

/** Where a subscription delivers, as a person reads it: `Slack @alice and email alice@example.com`. */
export function deliveryText(deliver: { readonly slack?: string; readonly email?: string }): string {
  const parts = [
    deliver.slack ? `Slack ${deliver.slack}` : undefined,
    deliver.email ? `email ${deliver.email}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? 'nowhere' : parts.join(' and ');
}
