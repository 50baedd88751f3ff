import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { HostLookupError, NETWORK_GUARD_ENV, networkGuard, type NetworkGuard } from '../network-guard';
import { requireSecretOrigin } from '../secret-origins';

const ID = 'http.request';
/** Largest response body kept in workflow history. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Most redirects one request follows. */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** What fetch itself would drop on a cross-origin redirect, besides the secret headers Flow drops. */
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie', 'proxy-authorization'];
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location', 'content-length'];

const input = z.strictObject({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  url: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL'),
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * Headers whose values come from the worker's environment: `{ Authorization: "TRACKER_TOKEN" }` sends the value of
   * `FLOW_SECRET_TRACKER_TOKEN`, and only to the origins in `FLOW_SECRET_TRACKER_TOKEN_ORIGINS`. Secrets never appear
   * in definitions or workflow history.
   */
  secret_headers: z
    .record(
      z.string(),
      z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/, 'must name an environment variable suffix such as TRACKER_TOKEN')
        .refine((name) => !name.endsWith('_ORIGINS'), 'must name a secret, not the _ORIGINS list of one'),
    )
    .default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  json: z.unknown().optional(),
  body: z.string().optional(),
  timeout: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must be a duration such as 500ms, 30s or 2m')
    .default('30s'),
});

const output = z.object({
  status: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

/** Sends one HTTP request; 5xx and 429 are retried by Temporal, other 4xx fail the step at once. */
export const httpRequest = defineAction({
  id: ID,
  guarantee: {
    level: 'at-least-once',
    explanation:
      'A retry (after a 5xx, a 429 or a lost answer) sends the request again, and Flow adds no idempotency key of its own: it is once only if the receiver deduplicates, for example by an `Idempotency-Key` the step sets in `headers` from values that stay the same across retries (such as `run.eventId` and the step id).',
  },
  description:
    'Sends an HTTP request and returns {status, headers, body}; body is parsed when the response is JSON. ' +
    '5xx and 429 responses are retried; other 4xx responses fail the step without retrying. secret_headers take ' +
    'their values from the worker variables FLOW_SECRET_<NAME>, and each is sent only to the origins listed in ' +
    'FLOW_SECRET_<NAME>_ORIGINS (none when unset: the step fails with SecretOriginRefused, naming the variable and ' +
    'the origin). Up to 5 redirects are followed; one that leaves the origin drops every secret header (and ' +
    'Authorization and Cookie). With FLOW_HTTP_BLOCK_PRIVATE=1 on the worker, loopback, link-local and private ' +
    'addresses are refused (PrivateDestinationRefused) unless their origin is in FLOW_HTTP_PRIVATE_ORIGINS.',
  input,
  output,
  env: ['FLOW_SECRET_<NAME>', 'FLOW_SECRET_<NAME>_ORIGINS', ...NETWORK_GUARD_ENV],
  guardedInputs: [
    { input: 'url', decides: "chooses where the worker's secret headers are sent", onlyWith: 'secret_headers' },
    { input: 'secret_headers', decides: "chooses which of the worker's secrets are sent, and in which headers" },
  ],
  defaults: { timeout: '2m' },
  examples: [
    { title: 'Read an issue', with: { url: 'https://tracker.example/api/issue/${{ event.issue }}' } },
    {
      title: 'Post a JSON message',
      with: { method: 'POST', url: '${{ event.callback }}', json: { text: 'Release ${{ vars.version }} started' } },
    },
  ],
  async run(request, { deps, signal }) {
    if (request.json !== undefined && request.body !== undefined) {
      throw ApplicationFailure.nonRetryable('http.request takes either json or body, not both', 'InvalidActionInput');
    }
    const url = new URL(request.url);
    for (const [key, value] of Object.entries(request.query)) url.searchParams.set(key, String(value));
    const guard = networkGuard(deps.env, ID);
    const headers = new Headers(request.headers);
    let secretHeaders: string[] = [];
    for (const [name, variable] of Object.entries(request.secret_headers)) {
      const secretVariable = `FLOW_SECRET_${variable}`;
      const value = deps.env[secretVariable];
      if (value === undefined) {
        throw ApplicationFailure.nonRetryable(
          `secret_headers.${name} names ${secretVariable}, which is not set in the worker's environment`,
          'MissingSecret',
        );
      }
      requireSecretOrigin(deps.env, secretVariable, url, `secret_headers.${name}`);
      headers.set(name, value);
      secretHeaders.push(name);
    }
    let method: string = request.method;
    let body: string | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const requestSignal = AbortSignal.any([signal, AbortSignal.timeout(parseTimeout(request.timeout))]);

    // Redirects are followed here, not by fetch, so that each hop is checked: secrets never leave the origin they
    // were bound to, and the network guard sees every host the request reaches.
    let current = url;
    let response: Response;
    for (let redirects = 0; ; redirects++) {
      await checkDestination(guard, method, current);
      try {
        response = await deps.fetch(current, { method, headers, body, signal: requestSignal, redirect: 'manual' });
      } catch (error) {
        // Network errors and timeouts are transient: Temporal retries them.
        throw ApplicationFailure.retryable(
          `${method} ${current.origin}${current.pathname} failed: ${describe(error)}`,
          'HttpNetworkError',
        );
      }
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      // A redirect without a Location is an answer like any other.
      if (location === null) break;
      await response.body?.cancel();
      const next = redirectTarget(method, current, location, redirects);
      if (next.origin !== current.origin) {
        // Leaving the origin: every secret header goes, and stays gone even if a later hop comes back.
        for (const name of [...secretHeaders, ...CROSS_ORIGIN_DROPPED]) headers.delete(name);
        secretHeaders = [];
      }
      if (
        ((response.status === 301 || response.status === 302) && method === 'POST') ||
        (response.status === 303 && method !== 'GET' && method !== 'HEAD')
      ) {
        // As browsers and fetch do: the next request is a GET without the body.
        method = 'GET';
        body = undefined;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      current = next;
    }
    const text = await readLimited(response);
    const result = {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: parseBody(text, response.headers.get('content-type')),
    };
    const what = `${method} ${current.origin}${current.pathname}`;
    if (response.status >= 500 || response.status === 429) {
      throw ApplicationFailure.retryable(`${what} answered ${response.status}`, 'HttpServerError', result);
    }
    if (response.status >= 400) {
      throw ApplicationFailure.nonRetryable(`${what} answered ${response.status}`, 'HttpClientError', result);
    }
    return result;
  },
});

/** Runs the network guard for one hop; an unresolvable host is a network error, retried like a refused connection. */
async function checkDestination(guard: NetworkGuard, method: string, url: URL): Promise<void> {
  try {
    await guard.check(url);
  } catch (error) {
    if (error instanceof HostLookupError) {
      throw ApplicationFailure.retryable(
        `${method} ${url.origin}${url.pathname} failed: ${error.message}`,
        'HttpNetworkError',
      );
    }
    throw error;
  }
}

/** Where a redirect leads; refuses one past the limit, or to a place that is not an http(s) URL. */
function redirectTarget(method: string, from: URL, location: string, redirects: number): URL {
  const what = `${method} ${from.origin}${from.pathname}`;
  if (redirects >= MAX_REDIRECTS) {
    throw ApplicationFailure.nonRetryable(
      `${what} redirected more than ${MAX_REDIRECTS} times; point url at the final location`,
      'HttpTooManyRedirects',
    );
  }
  const next = URL.canParse(location, from.href) ? new URL(location, from) : undefined;
  if (!next || !/^https?:$/.test(next.protocol)) {
    throw ApplicationFailure.nonRetryable(
      `${what} redirected to ${next ? `a ${next.protocol} URL` : 'an invalid Location'}, which http.request does not follow`,
      'HttpRedirectRefused',
    );
  }
  return next;
}

function parseTimeout(value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  const amount = Number(match?.[1] ?? 30);
  return match?.[2] === 'ms' ? amount : match?.[2] === 'm' ? amount * 60_000 : amount * 1_000;
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop early cancels the stream, so a huge body is never read to the end.
    if (size > MAX_RESPONSE_BYTES) break;
    chunks.push(chunk);
  }
  if (size > MAX_RESPONSE_BYTES) {
    throw ApplicationFailure.nonRetryable(
      `the response body is larger than ${MAX_RESPONSE_BYTES} bytes, too large to keep in workflow history`,
      'HttpResponseTooLarge',
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  if (contentType && /\bjson\b/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
