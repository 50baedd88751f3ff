/**
 * What a notification says: the subscription's `message` template rendered with Flow's expression engine over
 * `{event, run}`, or a default that names the event or the run. Always plain text: the Slack sender escapes it and
 * turns Slack's markup off, and email sends it as `text/plain`, so nothing a sender of events writes becomes a
 * mention, a link or HTML.
 */
import { createExpressionEngine } from '../../common/expressions';
import { LIFECYCLE_SOURCE } from '../../common/run-control';
import { runContext, type FlowEvent } from '../../common/run-types';
import type { SubscriptionSnapshot } from '../../common/subscriptions';

/** How much of a message is sent (Slack accepts 40,000 characters; a notification is a line or a few). */
export const MAX_NOTIFICATION_CHARS = 4_000;
/** How many top-level fields of the event the default message lists, and how much of each. */
const DEFAULT_FIELDS = 5;
const MAX_FIELD_CHARS = 80;
const MAX_SUBJECT_CHARS = 160;

/** A notification's text, and the one-line subject of its email. */
export interface NotificationText {
  readonly subject: string;
  readonly text: string;
}

/** How a lifecycle type reads after "Run <id> of <definition>". */
const OUTCOME_WORDS: Readonly<Record<string, string>> = {
  run_started: 'started',
  run_completed: 'completed',
  run_failed: 'failed',
  run_cancelled: 'was cancelled',
  run_rejected: 'was rejected by its release train',
  run_queued: 'is queued behind another run',
  run_superseded: 'was superseded by a newer run',
  approval_requested: 'waits for an approval',
};

/**
 * The text of `subscription`'s notification of `event`: its `message` rendered (a template that fails to render
 * falls back to the default, saying why, so a typo never swallows a notification), or the default.
 */
export function notificationText(subscription: SubscriptionSnapshot, event: FlowEvent): NotificationText {
  const fallback = defaultText(subscription, event);
  if (subscription.message === undefined) return { subject: subjectOf(fallback), text: clip(fallback) };
  const outcome = subscription.definition !== undefined && event.source === LIFECYCLE_SOURCE;
  const context = {
    event: event.body,
    // For an outcome, the run the lifecycle event is about; for an event, what a binding's `if` sees as `run`.
    run: outcome ? event.body : runContext(event, '', 0),
    steps: {},
    vars: {},
  };
  try {
    const rendered = createExpressionEngine().render(subscription.message, context);
    const text = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
    if (text.trim() !== '') return { subject: subjectOf(text), text: clip(text) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const text = `${fallback}\n(The subscription's message could not be rendered: ${oneLine(why)})`;
    return { subject: subjectOf(fallback), text: clip(text) };
  }
  return { subject: subjectOf(fallback), text: clip(fallback) };
}

/** `jira/issue_transitioned arrived (event jira-42)` and a few fields; or `Run <id> of <definition> failed: …`. */
export function defaultText(subscription: SubscriptionSnapshot, event: FlowEvent): string {
  const body = event.body;
  if (subscription.definition !== undefined && event.source === LIFECYCLE_SOURCE) {
    const run = typeof body['workflowId'] === 'string' ? body['workflowId'] : '(unknown run)';
    const definition = typeof body['definition'] === 'string' ? body['definition'] : subscription.definition;
    const word = OUTCOME_WORDS[event.type] ?? event.type;
    const failure = body['failure'];
    const message =
      typeof failure === 'object' &&
      failure !== null &&
      typeof (failure as Record<string, unknown>)['message'] === 'string'
        ? `: ${oneLine((failure as Record<string, unknown>)['message'] as string)}`
        : '';
    return `Run ${run} of ${definition} ${word}${message}`;
  }
  const fields = Object.entries(body)
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    .slice(0, DEFAULT_FIELDS)
    .map(([key, value]) => `${key}: ${oneLine(String(value)).slice(0, MAX_FIELD_CHARS)}`);
  return [`${event.source}/${event.type} arrived (event ${event.id})`, ...fields].join('\n');
}

function subjectOf(text: string): string {
  const first = oneLine(text.split('\n', 1)[0] ?? '');
  return first.length > MAX_SUBJECT_CHARS ? `${first.slice(0, MAX_SUBJECT_CHARS - 1)}…` : first || 'Flow notification';
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t\v\f]+/g, ' ').trim();
}

function clip(text: string): string {
  return text.length > MAX_NOTIFICATION_CHARS ? `${text.slice(0, MAX_NOTIFICATION_CHARS - 1)}…` : text;
}
