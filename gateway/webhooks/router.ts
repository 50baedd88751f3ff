import { createHash } from 'node:crypto';
import { Router, type Request } from 'express';
import { parseAllowUnsigned } from '../../config';
import type { AcceptFn } from '../metrics';
import { ProblemError } from '../problem';
import { parseJsonObject, rawBody, rawBodyOf, routeParam } from '../request-body';
import type { WebhookAdapter } from './adapter';
import { verifyDelivery, WebhookAuthError } from './verify';

/** What the webhook router needs. */
export interface WebhookDeps {
  readonly accept: AcceptFn;
  readonly adapters: readonly WebhookAdapter[];
  /** The gateway's environment: `FLOW_WEBHOOK_SECRET_<SOURCE>` and `FLOW_ALLOW_UNSIGNED`. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `POST /webhooks/:source`: native webhooks of Jira, Jenkins, GitHub and GitLab. Each delivery is authenticated
 * against `FLOW_WEBHOOK_SECRET_<SOURCE>` before its body is even parsed; a source without a secret is refused unless
 * `FLOW_ALLOW_UNSIGNED` names it. The adapter maps the payload to an event, which goes through the same durable
 * intake as `POST /events`, keyed by the product's delivery id or, failing that, a hash of the body, so a
 * redelivery never starts a second run.
 */
export function webhooksRouter(deps: WebhookDeps): Router {
  const bySource = new Map(deps.adapters.map((adapter) => [adapter.source, adapter]));
  const allowUnsigned = new Set(parseAllowUnsigned(deps.env));
  const router = Router();
  router.post('/webhooks/:source', rawBody, async (req, res) => {
    const source = routeParam(req, 'source');
    const adapter = bySource.get(source);
    if (!adapter) {
      throw new ProblemError(
        404,
        'Not Found',
        `There is no webhook source ${JSON.stringify(source.slice(0, 64))}; the sources are ${[...bySource.keys()].join(', ')}. Other tools can POST /events/:source/:type.`,
      );
    }
    const raw = rawBodyOf(req);
    const headers = headersOf(req);
    authenticate(adapter, deps.env, allowUnsigned, headers, raw);
    const body = parseJsonObject(req, raw);
    const result = adapter.normalize({ headers, body });
    if (result.kind === 'invalid')
      throw new ProblemError(
        result.status,
        result.status === 400 ? 'Bad Request' : 'Unprocessable Content',
        result.detail,
      );
    if (result.kind === 'ignored') {
      res.status(200).json({ ignored: true, reason: result.reason });
      return;
    }
    const idempotencyKey = result.deliveryKey ?? `body-${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`;
    const accepted = await deps.accept({
      source,
      type: result.type,
      body: { ...result.body, raw: body },
      idempotencyKey,
      ...(result.actor === undefined ? {} : { actor: result.actor }),
    });
    res.status(202).json({ ...accepted, type: result.type });
  });
  return router;
}

function authenticate(
  adapter: WebhookAdapter,
  env: Readonly<Record<string, string | undefined>>,
  allowUnsigned: ReadonlySet<string>,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Buffer,
): void {
  const variable = `FLOW_WEBHOOK_SECRET_${adapter.source.toUpperCase()}`;
  const secret = env[variable];
  if (!secret) {
    if (allowUnsigned.has(adapter.source)) return;
    throw new ProblemError(
      401,
      'Unauthorized',
      `No secret is configured for ${adapter.source} webhooks, so deliveries cannot be verified and are refused. Set ${variable} on the gateway (and the same secret in the webhook's settings), or accept unsigned deliveries with FLOW_ALLOW_UNSIGNED=${adapter.source}.`,
    );
  }
  try {
    verifyDelivery(adapter.auth, secret, headers, rawBody);
  } catch (error) {
    if (error instanceof WebhookAuthError) throw new ProblemError(401, 'Unauthorized', error.message);
    throw error;
  }
}

function headersOf(req: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}
