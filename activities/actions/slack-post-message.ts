import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { stepDelivery } from '../clients/delivery';
import { findSlackDelivery } from '../clients/slack-delivery';
import { defineAction } from '../define-action';
import type { ActionDeps } from '../deps';
import { FailureType, failureForStatus, peerUnreachable, requireEnv } from '../failures';

const ID = 'slack.post_message';

/** The `event_type` of the metadata every message of this action carries; its `event_payload` is `{delivery}`. */
export const STEP_METADATA_TYPE = 'flow_step';

/** How far back, and through how many messages, a retry looks for the message an earlier attempt posted. */
export const LOOK_BACK_MS = 24 * 60 * 60 * 1000;
export const LOOK_BACK_MESSAGES = 1_000;

/** How long one request to Slack may take before it counts as a network failure (and is retried). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Slack error codes that say "try again later" rather than "this request is wrong". */
const RETRYABLE_SLACK_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** What an operator should do about the Slack errors a misconfigured step or worker usually gets. */
const SLACK_ERROR_HINTS: Readonly<Record<string, string>> = {
  not_authed: 'set SLACK_TOKEN to a bot token',
  invalid_auth: 'SLACK_TOKEN is not a valid token',
  token_revoked: 'SLACK_TOKEN was revoked',
  token_expired: 'SLACK_TOKEN has expired',
  account_inactive: 'the SLACK_TOKEN app or user was deactivated',
  missing_scope: 'the Slack app needs the chat:write scope',
  channel_not_found: 'check the channel id or name, and that the app can see the channel',
  not_in_channel: 'invite the Slack app to the channel',
  is_archived: 'the channel is archived',
  invalid_blocks: 'the blocks are not valid Block Kit',
  msg_too_long: 'the message text is too long',
};

/** Posts a message to a Slack channel or thread through the Web API, with a bot token from the worker environment. */
export const slackPostMessage = defineAction({
  id: ID,
  guarantee: {
    level: 'at-least-once-with-dedupe',
    explanation:
      "The message carries metadata (`event_type: flow_step`, `delivery: <run>/<step>`), and a retry first looks for it, in the channel's last 1,000 messages of the past 24 hours (in the thread's replies for a reply), and returns it instead of posting again. A retry more than 24 hours after the post, or after 1,000 newer messages, posts again, and so does one whose bot may not read the channel (no history scope).",
  },
  description:
    'Posts a message to a Slack channel (id such as C0123ABCD, or #name) with chat.postMessage and returns ' +
    '{channel, ts}; pass ts as thread_ts of a later step to reply in the thread. `text` is always required: it is ' +
    'the whole message, or the notification and accessibility fallback when Block Kit `blocks` are given. Uses the ' +
    'bot token in SLACK_TOKEN from the worker environment. SLACK_API_URL overrides the Web API base URL: an ' +
    'http(s) URL whose path ends in /api/, such as https://slack.com/api/ (the default) or ' +
    'http://127.0.0.1:8080/api/ for a local stand-in; any other form fails the step as MissingConfiguration. Rate limits, Slack outages and ' +
    'network errors are retried; errors such as channel_not_found, not_in_channel or invalid_auth fail the step at ' +
    'once, naming the Slack error. The message carries metadata (`event_type: flow_step`, `event_payload: ' +
    '{delivery: "<workflow id>/<step id>"}`); a retry first looks for it in the channel (or the thread) and returns it instead ' +
    'of posting again.',
  input: z.strictObject({
    channel: z.string().min(1).max(200),
    text: z.string().min(1).max(40_000),
    blocks: z
      .array(z.looseObject({ type: z.string().min(1) }))
      .max(50)
      .optional(),
    thread_ts: z
      .string()
      .regex(/^\d+\.\d+$/, 'must be the ts of a message, such as 1712345678.123456')
      .optional(),
  }),
  output: z.object({ channel: z.string(), ts: z.string() }),
  env: ['SLACK_TOKEN', 'SLACK_API_URL'],
  defaults: { timeout: '1m' },
  examples: [
    { title: 'Announce a release', with: { channel: '#releases', text: 'Release ${{ vars.version }} is out' } },
    {
      title: 'Reply in the thread of an earlier message, with blocks',
      with: {
        channel: '${{ steps.announce.output.channel }}',
        thread_ts: '${{ steps.announce.output.ts }}',
        text: 'Build ${{ vars.version }} passed',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Build ${{ vars.version }}* passed :white_check_mark:' } },
        ],
      },
    },
  ],
  async run(input, { deps, step, attempt, signal }) {
    const client = slackClient(deps, ID, signal);
    const delivery = stepDelivery(step);
    // A first attempt has nothing to find; a retry may follow one whose post landed but whose answer was lost.
    if (attempt > 1) {
      try {
        const found = await findSlackDelivery(client, ID, {
          channel: input.channel,
          eventType: STEP_METADATA_TYPE,
          delivery,
          since: new Date(Date.now() - LOOK_BACK_MS),
          maxMessages: LOOK_BACK_MESSAGES,
          ...(input.thread_ts ? { threadTs: input.thread_ts } : {}),
        });
        if (found) return found;
      } catch (error) {
        // A bot that may post but not read the channel (no history scope, not a member) posts as before: at least once.
        if (!cannotLook(error)) throw error;
      }
    }
    return postSlackMessage(client, ID, {
      channel: input.channel,
      text: input.text,
      ...(input.blocks ? { blocks: input.blocks } : {}),
      ...(input.thread_ts ? { thread_ts: input.thread_ts } : {}),
      metadata: { event_type: STEP_METADATA_TYPE, event_payload: { delivery } },
    });
  },
});

/** Slack errors that say the bot cannot read the channel's history, which a post may still succeed without. */
const CANNOT_LOOK = new Set(['missing_scope', 'not_in_channel', 'channel_not_found']);

function cannotLook(error: unknown): boolean {
  if (!(error instanceof ApplicationFailure) || !error.nonRetryable) return false;
  const detail = error.details?.[0] as { slack_error?: unknown } | undefined;
  return typeof detail?.slack_error === 'string' && CANNOT_LOOK.has(detail.slack_error);
}

/** A message to post: mrkdwn `text` (the notification fallback when `blocks` are given), in a thread or not. */
export interface SlackMessageArguments {
  readonly channel: string;
  readonly text: string;
  readonly blocks?: readonly { readonly type: string }[];
  readonly thread_ts?: string;
  /** Message metadata, by which a retry finds the message (`findSlackDelivery`). */
  readonly metadata?: { readonly event_type: string; readonly event_payload: { readonly delivery: string } };
}

/**
 * Posts a message with `chat.postMessage` and returns where it landed (the channel id and the message's ts), for
 * `action`; Slack's errors become failures as {@link slackFailure} maps them.
 */
export async function postSlackMessage(
  client: WebClient,
  action: string,
  message: SlackMessageArguments,
): Promise<{ channel: string; ts: string }> {
  let posted: { channel?: string; ts?: string };
  try {
    posted = await client.chat.postMessage({
      channel: message.channel,
      text: message.text,
      ...(message.blocks ? { blocks: [...message.blocks] } : {}),
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      ...(message.metadata
        ? {
            metadata: { event_type: message.metadata.event_type, event_payload: { ...message.metadata.event_payload } },
          }
        : {}),
    });
  } catch (error) {
    throw slackFailure(action, error);
  }
  if (!posted.channel || !posted.ts) {
    // The message is posted; retrying would post it twice.
    throw ApplicationFailure.nonRetryable(
      `${action}: Slack accepted the message but did not say where (no channel or ts in the answer)`,
      FailureType.PeerRejected,
    );
  }
  return { channel: posted.channel, ts: posted.ts };
}

/**
 * A Web API client with the bot token in SLACK_TOKEN, for one activity invocation of `action` (the name failures
 * carry): it calls SLACK_API_URL only, never retries by itself (Temporal retries the activity), rejects rate-limited
 * calls so Temporal waits as long as Slack asked, and aborts its request when `signal` does (a cancelled activity).
 */
export function slackClient(deps: Pick<ActionDeps, 'env' | 'fetch'>, action: string, signal?: AbortSignal): WebClient {
  const { SLACK_TOKEN } = requireEnv(deps.env, action, ['SLACK_TOKEN']);
  return new WebClient(SLACK_TOKEN, {
    slackApiUrl: slackApiUrl(deps.env['SLACK_API_URL'], action),
    // The token goes to SLACK_API_URL only: never to an absolute URL, and the client refuses redirects.
    allowAbsoluteUrls: false,
    // Temporal retries the step with its own policy; the client retrying as well would multiply the attempts.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: REQUEST_TIMEOUT_MS,
    logLevel: LogLevel.ERROR,
    // The client's fetch is the worker's, and a cancelled activity aborts the request in flight.
    fetch: (url, init) => deps.fetch(url, withSignal(init, signal)),
  });
}

function withSignal(init: RequestInit | undefined, signal: AbortSignal | undefined): RequestInit | undefined {
  if (!signal) return init;
  return { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal };
}

/**
 * The Web API base URL from the worker's SLACK_API_URL: an http(s) URL whose path ends in `/api/`, such as
 * `https://slack.com/api/` (the default) or `http://127.0.0.1:8080/api/` for a local stand-in. Method names are
 * appended to it, so anything else (a missing `/api/`, a query, credentials) would send the token somewhere else.
 */
function slackApiUrl(configured: string | undefined, action: string): string | undefined {
  if (!configured) return undefined;
  const url = URL.canParse(configured) ? new URL(configured) : undefined;
  const valid =
    url !== undefined &&
    /^https?:$/.test(url.protocol) &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    /\/api\/?$/.test(url.pathname);
  if (!valid) {
    throw ApplicationFailure.nonRetryable(
      `${action} needs SLACK_API_URL to be the Web API base URL ending in /api/, such as https://slack.com/api/ ` +
        '(without credentials, query or fragment), or unset for https://slack.com/api/',
      FailureType.MissingConfiguration,
    );
  }
  return url.pathname.endsWith('/') ? url.href : `${url.href}/`;
}

/**
 * Maps an error of the Slack Web API client to a Temporal failure of `action`: Slack's own error codes are rejected
 * (not retried) unless they mean "try later"; rate limits, HTTP 5xx and network errors are retried.
 */
export function slackFailure(action: string, error: unknown): unknown {
  if (error instanceof WebAPIPlatformError) {
    const code = error.data.error;
    const hint = SLACK_ERROR_HINTS[code];
    const message = `${action}: Slack answered ${code}${hint ? ` (${hint})` : ''}`;
    const retryable = RETRYABLE_SLACK_ERRORS.has(code);
    return ApplicationFailure.create({
      message,
      type: retryable ? FailureType.PeerUnavailable : FailureType.PeerRejected,
      nonRetryable: !retryable,
      details: [{ slack_error: code }],
    });
  }
  if (error instanceof WebAPIRateLimitedError) {
    // Temporal waits at least as long as Slack asked before the next attempt.
    return ApplicationFailure.create({
      message: `${action}: Slack rate-limited the request; retry after ${error.retryAfter}s`,
      type: FailureType.PeerUnavailable,
      details: [{ slack_error: 'ratelimited', retry_after_s: error.retryAfter }],
      ...(error.retryAfter > 0 ? { nextRetryDelay: `${error.retryAfter}s` } : {}),
    });
  }
  if (error instanceof WebAPIHTTPError) {
    return failureForStatus(
      error.statusCode,
      `${action}: Slack answered HTTP ${error.statusCode} ${error.statusMessage}`,
      {
        status: error.statusCode,
      },
    );
  }
  if (error instanceof WebAPIRequestError) {
    // Refused, reset, DNS failure or timeout; the message names the cause, never the token.
    return peerUnreachable(`${action}: Slack is unreachable (${describe(error.original)})`);
  }
  if (error instanceof Error && /rate limit|retry header/i.test(error.message)) {
    // A 429 without a usable Retry-After header.
    return ApplicationFailure.retryable(`${action}: Slack rate-limited the request`, FailureType.PeerUnavailable);
  }
  return error;
}

function describe(error: Error): string {
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
