import type { AdapterResult, WebhookAdapter, WebhookRequest } from '../adapter';
import {
  arrayAt,
  event,
  headerOf,
  invalid,
  MESSAGE_MAX,
  numberAt,
  objectAt,
  objectsIn,
  quote,
  stringAt,
  type JsonObject,
} from './payload-fields';

/** Admin-webhook events that are about one issue, so a payload without `issue.key` is useless to definitions. */
const ISSUE_EVENTS: Readonly<Record<string, string>> = {
  'jira:issue_created': 'issue_created',
  'jira:issue_updated': 'issue_updated',
  'jira:issue_deleted': 'issue_deleted',
};

/** Jira's remaining event names (`comment_created`, `jira:worklog_updated`, …) pass through when they are tame. */
const PASS_THROUGH_TYPE = /^[a-z0-9_]{1,64}$/;

/** Jira Cloud and Server send different user fields; the display name is what people recognise. */
function userName(user: JsonObject | undefined): string | null {
  return stringAt(user, 'displayName') ?? stringAt(user, 'accountId') ?? stringAt(user, 'name') ?? null;
}

/** The fields every issue-bearing event shares. */
function issueFields(body: JsonObject): { issue: string | null; project: string | null; user: string | null } {
  const issue = objectAt(body, 'issue');
  return {
    issue: stringAt(issue, 'key') ?? null,
    project: stringAt(objectAt(objectAt(issue, 'fields'), 'project'), 'key') ?? null,
    user: userName(objectAt(body, 'user')),
  };
}

/** The workflow post-function webhook: it only fires on a transition, and names it. */
function fromPostFunction(body: JsonObject, transition: JsonObject, deliveryKey: string | undefined): AdapterResult {
  const fields = issueFields(body);
  if (fields.issue === null) return invalid(422, 'Jira transition payload has no issue.key');
  const to = stringAt(transition, 'to_status');
  if (to === undefined) return invalid(422, 'Jira transition payload has no transition.to_status');
  return event(
    'issue_transitioned',
    {
      issue: fields.issue,
      project: fields.project,
      transition: stringAt(transition, 'transitionName') ?? null,
      from: stringAt(transition, 'from_status') ?? null,
      to,
      user: fields.user,
    },
    deliveryKey,
  );
}

/** The admin webhook: `webhookEvent` names the event; a status change inside `issue_updated` is a transition. */
function fromAdminWebhook(body: JsonObject, webhookEvent: string, deliveryKey: string | undefined): AdapterResult {
  const fields = issueFields(body);
  const issueType = Object.hasOwn(ISSUE_EVENTS, webhookEvent) ? ISSUE_EVENTS[webhookEvent] : undefined;
  if (issueType !== undefined) {
    if (fields.issue === null) return invalid(422, `Jira ${quote(webhookEvent)} payload has no issue.key`);
    const status = objectsIn(arrayAt(objectAt(body, 'changelog'), 'items')).find(
      (item) => stringAt(item, 'field') === 'status' || stringAt(item, 'fieldId') === 'status',
    );
    if (webhookEvent === 'jira:issue_updated' && status !== undefined) {
      return event(
        'issue_transitioned',
        {
          issue: fields.issue,
          project: fields.project,
          from: stringAt(status, 'fromString') ?? null,
          to: stringAt(status, 'toString') ?? null,
          user: fields.user,
        },
        deliveryKey,
      );
    }
    return event(issueType, fields, deliveryKey);
  }
  if (webhookEvent === 'jira:version_released') {
    const version = objectAt(body, 'version');
    const name = stringAt(version, 'name');
    if (name === undefined) return invalid(422, 'Jira "jira:version_released" payload has no version.name');
    // The version payload carries only the numeric project id, never the project key.
    const projectId = stringAt(version, 'projectId') ?? numberAt(version, 'projectId');
    return event(
      'version_released',
      { version: name, project: projectId === undefined ? null : String(projectId) },
      deliveryKey,
    );
  }
  const type = webhookEvent.slice(webhookEvent.lastIndexOf(':') + 1);
  if (!PASS_THROUGH_TYPE.test(type)) {
    return invalid(422, `Jira webhookEvent ${quote(webhookEvent)} does not name an event Flow can match`);
  }
  if (type === 'comment_created' || type === 'comment_updated' || type === 'comment_deleted') {
    const comment = objectAt(body, 'comment');
    return event(
      type,
      {
        ...fields,
        user: fields.user ?? userName(objectAt(comment, 'author')),
        comment: stringAt(comment, 'body', MESSAGE_MAX) ?? null,
      },
      deliveryKey,
    );
  }
  return event(type, fields, deliveryKey);
}

/** Jira admin webhooks and workflow post-function webhooks, signed as `X-Hub-Signature: sha256=<hex>`. */
export const jira: WebhookAdapter = {
  source: 'jira',
  auth: { kind: 'hmac-sha256', header: 'x-hub-signature', prefix: 'sha256=' },
  normalize(request: WebhookRequest): AdapterResult {
    const body = request.body;
    const deliveryKey = headerOf(request, 'x-atlassian-webhook-identifier');
    // The post-function shape is checked first: its `transition` object is specific, and it may also carry a
    // generic `webhookEvent: jira:issue_updated` that would otherwise hide the transition.
    const transition = objectAt(body, 'transition');
    if (transition !== undefined) return fromPostFunction(body, transition, deliveryKey);
    const webhookEvent = stringAt(body, 'webhookEvent');
    if (webhookEvent !== undefined) return fromAdminWebhook(body, webhookEvent, deliveryKey);
    return invalid(422, 'Jira payload has no webhookEvent and no transition object');
  },
};
