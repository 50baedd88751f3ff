import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';

/** Largest response body kept in workflow history. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

const input = z.strictObject({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  url: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL'),
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * Headers whose values come from the worker's environment: `{ Authorization: "TRACKER_TOKEN" }` sends the value of
   * `FLOW_SECRET_TRACKER_TOKEN`. Secrets never appear in definitions or workflow history.
   */
  secret_headers: z
    .record(
      z.string(),
      z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must name an environment variable suffix such as TRACKER_TOKEN'),
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
  id: 'http.request',
  description:
    'Sends an HTTP request and returns {status, headers, body}; body is parsed when the response is JSON. ' +
    '5xx and 429 responses are retried; other 4xx responses fail the step without retrying.',
  input,
  output,
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
    const headers = new Headers(request.headers);
    for (const [name, variable] of Object.entries(request.secret_headers)) {
      const value = deps.env[`FLOW_SECRET_${variable}`];
      if (value === undefined) {
        throw ApplicationFailure.nonRetryable(
          `secret_headers.${name} names FLOW_SECRET_${variable}, which is not set in the worker's environment`,
          'MissingSecret',
        );
      }
      headers.set(name, value);
    }
    let body: string | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const timeout = AbortSignal.timeout(parseTimeout(request.timeout));
    let response: Response;
    try {
      response = await deps.fetch(url, {
        method: request.method,
        headers,
        body,
        signal: AbortSignal.any([signal, timeout]),
        redirect: 'follow',
      });
    } catch (error) {
      // Network errors and timeouts are transient: Temporal retries them.
      throw ApplicationFailure.retryable(
        `${request.method} ${url.origin}${url.pathname} failed: ${describe(error)}`,
        'HttpNetworkError',
      );
    }
    const text = await readLimited(response);
    const result = {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: parseBody(text, response.headers.get('content-type')),
    };
    if (response.status >= 500 || response.status === 429) {
      throw ApplicationFailure.retryable(
        `${request.method} ${url.origin}${url.pathname} answered ${response.status}`,
        'HttpServerError',
        result,
      );
    }
    if (response.status >= 400) {
      throw ApplicationFailure.nonRetryable(
        `${request.method} ${url.origin}${url.pathname} answered ${response.status}`,
        'HttpClientError',
        result,
      );
    }
    return result;
  },
});

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
