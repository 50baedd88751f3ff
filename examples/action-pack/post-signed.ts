import { createHmac } from 'node:crypto';
import { ApplicationFailure, defineAction, failureForStatus, peerUnreachable, requireEnv, z } from 'flow/sdk';

const ID = 'webhooks.post_signed';
/** The worker variables this action reads: the signing secret, and where a body signed with it may go. */
const SECRET = 'WEBHOOKS_SIGNING_SECRET';
const ORIGINS = 'WEBHOOKS_ALLOWED_ORIGINS';
/** Longest response text kept in the step's output (and so in workflow history). */
const MAX_RESPONSE_CHARS = 10_000;

const input = z.strictObject({
  url: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL'),
  body: z.record(z.string(), z.unknown()),
  signature_header: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be an HTTP header name')
    .default('X-Signature-256'),
});

const output = z.object({
  status: z.number(),
  /** The response, parsed when it is JSON; text cut to 10,000 characters otherwise. */
  body: z.unknown(),
  /** The idempotency key sent: the same on every attempt of one step, so a receiver can drop a repeated delivery. */
  delivery: z.string(),
});

/**
 * POSTs a JSON body signed with HMAC-SHA256: the signature header carries `sha256=<hex>` of the exact bytes sent,
 * keyed with the worker's `WEBHOOKS_SIGNING_SECRET`, and goes only to an origin in `WEBHOOKS_ALLOWED_ORIGINS`.
 */
export const postSigned = defineAction({
  id: ID,
  description:
    'POSTs `body` as JSON to `url`, signed with HMAC-SHA256 of the exact bytes sent under the worker secret ' +
    'WEBHOOKS_SIGNING_SECRET, in `signature_header` (default X-Signature-256) as sha256=<hex>, with an ' +
    'Idempotency-Key that is the same on every attempt of the step. Only origins in WEBHOOKS_ALLOWED_ORIGINS ' +
    'receive a signed body (OriginNotAllowed otherwise). 5xx, 408 and 429 are retried; other non-2xx answers fail ' +
    'the step without retrying; redirects are not followed.',
  input,
  output,
  env: [SECRET, ORIGINS],
  // Whoever picks the URL receives a valid signature over the body; the registry asks for it to be chosen on purpose.
  guardedInputs: [{ input: 'url', decides: 'chooses who receives a body signed with the worker secret' }],
  defaults: { timeout: '1m' },
  examples: [
    {
      title: 'Tell the deploy tracker a release went out',
      with: {
        url: 'https://deploys.example/hooks/flow',
        body: { release: '${{ vars.version }}', status: 'shipped' },
      },
    },
  ],
  async run(request, { deps, step, signal }) {
    const env = requireEnv(deps.env, ID, [SECRET, ORIGINS]);
    const url = new URL(request.url);
    const allowed = env[ORIGINS].split(/[\s,]+/).filter(Boolean);
    if (!allowed.includes(url.origin)) {
      throw ApplicationFailure.nonRetryable(
        `${ID} signs only for the origins in ${ORIGINS}, and ${url.origin} is not one of them; add it there to allow it`,
        'OriginNotAllowed',
      );
    }
    const payload = JSON.stringify(request.body);
    const signature = createHmac('sha256', env[SECRET]).update(payload).digest('hex');
    const delivery = `${step.workflowId}/${step.stepId}`;
    let response: Response;
    try {
      response = await deps.fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [request.signature_header]: `sha256=${signature}`,
          'idempotency-key': delivery,
        },
        body: payload,
        redirect: 'manual',
        signal,
      });
    } catch (error) {
      // Cancelled: the worker must see the cancellation, not a network failure to retry.
      if (signal.aborted) throw signal.reason;
      throw peerUnreachable(
        `${ID} could not reach ${url.origin}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const text = await response.text();
    let body: unknown = text.slice(0, MAX_RESPONSE_CHARS);
    if (response.headers.get('content-type')?.includes('json')) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // A receiver that says JSON and sends something else: keep the text.
      }
    }
    if (!response.ok) {
      throw failureForStatus(response.status, `${url.origin} answered ${response.status} to ${ID}`, { body });
    }
    return { status: response.status, body, delivery };
  },
});
