import type { AdapterResult, WebhookAdapter, WebhookRequest } from '../adapter';
import { commitsAt, event, headerOf, invalid, objectAt, quote, refParts, stringAt } from './payload-fields';

/** The object kinds Flow turns into events; the kind is also the event type. */
const HANDLED_KINDS: ReadonlySet<string> = new Set(['push', 'tag_push']);

/** GitLab project and group webhooks, authenticated by the secret token GitLab sends in `X-Gitlab-Token`. */
export const gitlab: WebhookAdapter = {
  source: 'gitlab',
  auth: { kind: 'token', header: 'x-gitlab-token' },
  normalize(request: WebhookRequest): AdapterResult {
    const body = request.body;
    const kind = stringAt(body, 'object_kind');
    if (kind === undefined) return invalid(422, 'GitLab payload has no object_kind');
    if (!HANDLED_KINDS.has(kind))
      return { kind: 'ignored', reason: `GitLab ${quote(kind)} events are not handled by Flow` };
    const ref = stringAt(body, 'ref');
    if (ref === undefined) return invalid(422, `GitLab ${kind} payload has no ref`);
    // Idempotency-Key stays the same when GitLab retries a delivery; X-Gitlab-Event-UUID is the fallback for
    // GitLab versions before 17.4, which do not send it.
    const deliveryKey = headerOf(request, 'idempotency-key') ?? headerOf(request, 'x-gitlab-event-uuid');
    const user = stringAt(body, 'user_username') ?? null;
    return event(
      kind,
      {
        ref,
        ...refParts(ref),
        before: stringAt(body, 'before') ?? null,
        after: stringAt(body, 'after') ?? null,
        repository: stringAt(objectAt(body, 'project'), 'path_with_namespace') ?? null,
        user,
        commits: commitsAt(body, 'commits'),
      },
      deliveryKey,
      user,
    );
  },
};
