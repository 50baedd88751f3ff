/**
 * The Jira Cloud client every `jira.*` action uses: built from the worker's environment only, and wrapped so that a
 * failed call becomes the right Temporal failure (4xx rejected, 5xx/408/429/network retried).
 */
import { ApplicationFailure } from '@temporalio/common';
import { HttpException, Version3Client } from 'jira.js';
import { z } from 'zod';
import { FailureType, failureForStatus, peerUnreachable, requireEnv } from '../failures';

/** The worker environment variables the Jira actions need. */
export const JIRA_ENV = ['JIRA_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN'] as const;

/** A Jira issue key such as `REL-42`; also keeps anything that could read as an option or a path out of URLs. */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]+-\d+$/;

/** The zod schema for one issue key. */
export const issueKey = z.string().regex(ISSUE_KEY, 'must be a Jira issue key such as REL-42');

/** How long one request to Jira may take before it counts as a network failure (and is retried). */
const REQUEST_TIMEOUT_MS = 30_000;

/** A Jira client for one action invocation; requests are aborted when the activity is cancelled. */
export function jiraClient(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  signal?: AbortSignal,
): Version3Client {
  const { JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN } = requireEnv(env, action, JIRA_ENV);
  if (!/^https?:\/\/[^/]/i.test(JIRA_URL) || !URL.canParse(JIRA_URL)) {
    throw ApplicationFailure.nonRetryable(
      `${action} needs JIRA_URL to be the http(s) base URL of the Jira site, such as https://example.atlassian.net`,
      FailureType.MissingConfiguration,
    );
  }
  return new Version3Client({
    host: JIRA_URL,
    authentication: { basic: { email: JIRA_EMAIL, apiToken: JIRA_API_TOKEN } },
    baseRequestConfig: { timeout: REQUEST_TIMEOUT_MS, ...(signal ? { signal } : {}) },
  });
}

/**
 * Runs one Jira call; `what` completes the sentence "<action> could not …" in the failure message. HTTP errors are
 * classified by status, network errors are retryable, anything else (a bug) is rethrown unchanged.
 */
export async function callJira<T>(action: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw jiraFailure(action, what, error);
  }
}

/** Maps an error thrown by jira.js to a Temporal failure. */
function jiraFailure(action: string, what: string, error: unknown): unknown {
  const response = httpResponseOf(error);
  if (response) {
    const reasons = jiraReasons(response.data);
    const hint = response.status === 401 ? ' (check JIRA_EMAIL and JIRA_API_TOKEN)' : '';
    return failureForStatus(
      response.status,
      `${action} could not ${what}: Jira answered ${response.status}${hint}${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
      { status: response.status, reasons },
    );
  }
  if (isAxiosError(error)) {
    // No response at all: refused, reset, DNS or timeout. Axios messages name host and port, never credentials.
    return peerUnreachable(`${action} could not ${what}: Jira is unreachable (${error.message})`);
  }
  return error;
}

/** The status and body of a real HTTP answer, or undefined when jira.js failed before getting one. */
function httpResponseOf(error: unknown): { status: number; data: unknown } | undefined {
  if (!(error instanceof HttpException)) return undefined;
  // jira.js wraps a real answer as `{ status, data, … }`; other errors it wraps carry no status (it defaults to 500).
  const wrapped = error.response;
  if (typeof wrapped !== 'object' || typeof (wrapped as { status?: unknown }).status !== 'number') return undefined;
  return { status: error.status, data: (wrapped as { data?: unknown }).data };
}

function isAxiosError(error: unknown): error is Error {
  return error instanceof Error && (error as { isAxiosError?: unknown }).isAxiosError === true;
}

const jiraErrorBody = z.object({
  errorMessages: z.array(z.string()).optional(),
  errors: z.record(z.string(), z.string()).optional(),
});

/** Jira's own explanation from an error body (`errorMessages` plus per-field `errors`), capped for history. */
function jiraReasons(data: unknown): string[] {
  const parsed = jiraErrorBody.safeParse(data);
  if (!parsed.success) return [];
  const reasons = [
    ...(parsed.data.errorMessages ?? []),
    ...Object.entries(parsed.data.errors ?? {}).map(([field, message]) => `${field}: ${message}`),
  ];
  return reasons.slice(0, 10).map((reason) => reason.slice(0, 500));
}

/**
 * Reads the part of a successful Jira answer an action relies on. A 2xx body of the wrong shape means something
 * other than Jira answered (a proxy or login page), so the failure is retryable like an unreachable peer.
 */
export function readJira<S extends z.ZodType>(action: string, what: string, schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  throw ApplicationFailure.retryable(
    `${action} could not ${what}: the answer is not what Jira sends (${problems.join('; ')})`,
    FailureType.PeerUnavailable,
  );
}

/** A status as Jira returns it inside issues and transitions. */
export const jiraStatus = z.object({ id: z.string().optional(), name: z.string() });
