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

/** Who acted, as an event names them: `user` for people to read, `user_id` for definitions and approvals to compare. */
type JiraUser = { readonly user: string | null; readonly user_id: string | null };

/**
 * Jira Cloud and Server send different user fields. The display name is what people recognise; the id is what
 * stays the same: Cloud's `accountId`, or Server's and Data Center's username (`name`), or else its user `key`.
 */
function userOf(user: JsonObject | undefined): JiraUser {
  const id = stringAt(user, 'accountId') ?? stringAt(user, 'name') ?? stringAt(user, 'key') ?? null;
  return { user: stringAt(user, 'displayName') ?? id, user_id: id };
}

/** The fields every issue-bearing event shares. */
function issueFields(body: JsonObject): { issue: string | null; project: string | null } & JiraUser {
  const issue = objectAt(body, 'issue');
  return {
    issue: stringAt(issue, 'key') ?? null,
    project: stringAt(objectAt(objectAt(issue, 'fields'), 'project'), 'key') ?? null,
    ...userOf(objectAt(body, 'user')),
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
      user_id: fields.user_id,
    },
    deliveryKey,
    fields.user_id,
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
          user_id: fields.user_id,
        },
        deliveryKey,
        fields.user_id,
      );
    }
    return event(issueType, fields, deliveryKey, fields.user_id);
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
    // A comment event may name its user only as the comment's author.
    const who = fields.user === null ? userOf(objectAt(comment, 'author')) : fields;
    return event(
      type,
      { ...fields, user: who.user, user_id: who.user_id, comment: stringAt(comment, 'body', MESSAGE_MAX) ?? null },
      deliveryKey,
      who.user_id,
    );
  }
  return event(type, fields, deliveryKey, fields.user_id);
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
