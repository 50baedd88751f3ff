/**
 * Finding a Slack message an earlier attempt posted: every message Flow posts where a retry could repeat it carries
 * metadata `{event_type, event_payload: {delivery: <id>}}`, and a retry looks for that id in the conversation's recent
 * history (`conversations.history`, or `conversations.replies` for a reply in a thread, with `include_all_metadata`)
 * before posting again. Used by `slack.post_message` (delivery `<workflowId>/<stepId>`) and by subscriptions'
 * notifications (their delivery record's id).
 */
import type { WebClient } from '@slack/web-api';
import { slackFailure } from '../actions/slack-post-message';

/** Where a message landed. */
export interface SlackPlace {
  readonly channel: string;
  readonly ts: string;
}

/** What {@link findSlackDelivery} looks for, and how far back. */
export interface SlackDeliveryQuery {
  /** A conversation id, or a `#name`, which is looked up with `conversations.list` first. */
  readonly channel: string;
  /** The metadata's `event_type`, such as `flow_step`. */
  readonly eventType: string;
  /** The metadata's `event_payload.delivery`. */
  readonly delivery: string;
  /** Messages older than this are not looked at (Slack's `oldest`). */
  readonly since: Date;
  /** The thread the message is a reply in: its replies are searched instead of the channel's history. */
  readonly threadTs?: string;
  /** How many messages at most are looked at, newest first (default {@link DEFAULT_LOOK_BACK_MESSAGES}). */
  readonly maxMessages?: number;
}

/** How many of the most recent messages a retry looks at by default: five pages of 200. */
export const DEFAULT_LOOK_BACK_MESSAGES = 1_000;
const HISTORY_PAGE = 200;
/** How many pages of channels a `#name` is looked up in (1,000 each). */
const DIRECTORY_PAGES = 20;

/**
 * The message carrying `delivery` in its metadata, or undefined when it is not among the conversation's messages since
 * `since` (at most `maxMessages` of them), or when a `#name` names no channel the app sees. Slack's errors become
 * failures of `action` as {@link slackFailure} maps them.
 */
export async function findSlackDelivery(
  client: WebClient,
  action: string,
  query: SlackDeliveryQuery,
): Promise<SlackPlace | undefined> {
  const id = query.channel.startsWith('#')
    ? await channelIdByName(client, action, query.channel.slice(1))
    : query.channel;
  if (id === undefined) return undefined;
  const oldest = (query.since.getTime() / 1000).toFixed(6);
  const budget = query.maxMessages ?? DEFAULT_LOOK_BACK_MESSAGES;
  let seen = 0;
  let cursor: string | undefined;
  while (seen < budget) {
    const limit = Math.min(HISTORY_PAGE, budget - seen);
    const page = { channel: id, oldest, limit, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
    let answer;
    try {
      answer =
        query.threadTs === undefined
          ? await client.conversations.history(page)
          : await client.conversations.replies({ ...page, ts: query.threadTs });
    } catch (error) {
      throw slackFailure(action, error);
    }
    const messages = answer.messages ?? [];
    for (const message of messages) {
      const metadata = message.metadata;
      const payload = metadata?.event_payload as Record<string, unknown> | undefined;
      if (metadata?.event_type === query.eventType && payload?.['delivery'] === query.delivery && message.ts)
        return { channel: id, ts: message.ts };
    }
    seen += Math.max(messages.length, 1);
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!answer.has_more || !cursor) return undefined;
  }
  return undefined;
}

/** A channel's id by its name (`conversations.list`); undefined when the app sees no such channel. */
async function channelIdByName(client: WebClient, action: string, name: string): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < DIRECTORY_PAGES; page++) {
    let answer;
    try {
      answer = await client.conversations.list({
        limit: 1000,
        exclude_archived: true,
        types: 'public_channel,private_channel',
        ...(cursor ? { cursor } : {}),
      });
    } catch (error) {
      throw slackFailure(action, error);
    }
    const found = (answer.channels ?? []).find((channel) => channel.name === name || channel.id === name);
    if (found?.id) return found.id;
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!cursor) return undefined;
  }
  return undefined;
}
