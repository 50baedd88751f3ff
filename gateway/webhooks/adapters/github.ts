import type { AdapterResult, WebhookAdapter, WebhookRequest } from '../adapter';
import {
  booleanAt,
  commitsAt,
  event,
  headerOf,
  invalid,
  MESSAGE_MAX,
  numberAt,
  objectAt,
  quote,
  refParts,
  stringAt,
  type JsonObject,
} from './payload-fields';

/** Actions become part of the event type (`pull_request_opened`), so they must be tame identifiers. */
const ACTION_PATTERN = /^[a-z0-9_]{1,40}$/;

/** The repository every GitHub event carries, as `owner/name`. */
function repositoryOf(body: JsonObject): string | null {
  return stringAt(objectAt(body, 'repository'), 'full_name') ?? null;
}

/** The account that triggered the event (every GitHub event has a `sender`): the event's actor. */
function senderOf(body: JsonObject): string | undefined {
  return stringAt(objectAt(body, 'sender'), 'login');
}

function push(body: JsonObject, deliveryKey: string | undefined): AdapterResult {
  const ref = stringAt(body, 'ref');
  if (ref === undefined) return invalid(422, 'GitHub push payload has no ref');
  return event(
    'push',
    {
      ref,
      ...refParts(ref),
      before: stringAt(body, 'before') ?? null,
      after: stringAt(body, 'after') ?? null,
      repository: repositoryOf(body),
      pusher: stringAt(objectAt(body, 'pusher'), 'name') ?? null,
      commits: commitsAt(body, 'commits'),
      created: booleanAt(body, 'created'),
      deleted: booleanAt(body, 'deleted'),
      forced: booleanAt(body, 'forced'),
    },
    deliveryKey,
    senderOf(body),
  );
}

function pullRequest(body: JsonObject, deliveryKey: string | undefined): AdapterResult {
  const action = stringAt(body, 'action');
  if (action === undefined || !ACTION_PATTERN.test(action)) {
    return invalid(422, 'GitHub pull_request payload has no valid action');
  }
  const pr = objectAt(body, 'pull_request');
  if (pr === undefined) return invalid(422, 'GitHub pull_request payload has no pull_request object');
  const number = numberAt(body, 'number') ?? numberAt(pr, 'number');
  if (number === undefined) return invalid(422, 'GitHub pull_request payload has no number');
  return event(
    `pull_request_${action}`,
    {
      action,
      number,
      title: stringAt(pr, 'title', MESSAGE_MAX) ?? null,
      state: stringAt(pr, 'state') ?? null,
      merged: booleanAt(pr, 'merged'),
      base: stringAt(objectAt(pr, 'base'), 'ref') ?? null,
      head: stringAt(objectAt(pr, 'head'), 'ref') ?? null,
      repository: repositoryOf(body),
      user: stringAt(objectAt(pr, 'user'), 'login') ?? null,
      url: stringAt(pr, 'html_url', MESSAGE_MAX) ?? null,
    },
    deliveryKey,
    senderOf(body),
  );
}

function release(body: JsonObject, deliveryKey: string | undefined): AdapterResult {
  const action = stringAt(body, 'action');
  if (action === undefined || !ACTION_PATTERN.test(action)) {
    return invalid(422, 'GitHub release payload has no valid action');
  }
  const rel = objectAt(body, 'release');
  if (rel === undefined) return invalid(422, 'GitHub release payload has no release object');
  const tag = stringAt(rel, 'tag_name');
  if (tag === undefined) return invalid(422, 'GitHub release payload has no release.tag_name');
  return event(
    `release_${action}`,
    {
      action,
      tag,
      name: stringAt(rel, 'name') ?? null,
      prerelease: booleanAt(rel, 'prerelease'),
      draft: booleanAt(rel, 'draft'),
      repository: repositoryOf(body),
      url: stringAt(rel, 'html_url', MESSAGE_MAX) ?? null,
    },
    deliveryKey,
    senderOf(body),
  );
}

/** GitHub repository and organization webhooks, signed as `X-Hub-Signature-256: sha256=<hex>`. */
export const github: WebhookAdapter = {
  source: 'github',
  auth: { kind: 'hmac-sha256', header: 'x-hub-signature-256', prefix: 'sha256=' },
  normalize(request: WebhookRequest): AdapterResult {
    // GitHub names the event only in this header; the body alone is ambiguous (push and release both have `ref`-like fields).
    const eventName = headerOf(request, 'x-github-event');
    if (eventName === undefined) return invalid(400, 'GitHub delivery has no X-GitHub-Event header');
    const deliveryKey = headerOf(request, 'x-github-delivery');
    switch (eventName) {
      case 'push':
        return push(request.body, deliveryKey);
      case 'pull_request':
        return pullRequest(request.body, deliveryKey);
      case 'release':
        return release(request.body, deliveryKey);
      case 'ping':
        return { kind: 'ignored', reason: 'GitHub ping' };
      default:
        return { kind: 'ignored', reason: `GitHub event ${quote(eventName)} is not handled by Flow` };
    }
  },
};
