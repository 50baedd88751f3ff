/**
 * A notification in Slack: the target resolved to a conversation (`@U…` opens a DM with `conversations.open`; `@name`
 * is looked up with `users.list` first; `#name` is posted to by name), the message posted as plain text with the
 * delivery id in its metadata, and, for a retry that finds its record `sending`, the target's recent history searched
 * for that id (`conversations.history` with `include_all_metadata`), so a message an earlier attempt posted is not
 * posted again.
 */
import type { WebClient } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { SLACK_USER_ID } from '../approvals/slack-buttons';
import { escapeMrkdwn } from '../approvals/render';
import { slackFailure } from '../actions/slack-post-message';
import { findSlackDelivery, type SlackPlace } from '../clients/slack-delivery';
import { FailureType } from '../failures';

/** The `event_type` of the metadata every notification carries; its `event_payload` is `{delivery: <id>}`. */
export const NOTIFICATION_METADATA_TYPE = 'flow_notification';

/** How far back before its record's start a retry looks for the message, and how many messages at most. */
const LOOK_BACK_SLACK_MS = 60_000;
const LOOK_BACK_MESSAGES = 1_000;
/** How many pages of users a name is looked up in (1,000 each). */
const DIRECTORY_PAGES = 20;

/** Where a notification landed. */
export type { SlackPlace };

/**
 * The conversation id of a target, when it can be known before posting: a DM's (opened, which is idempotent), or
 * undefined for a `#channel`, which is posted to by name and whose id the post's answer gives.
 */
export async function directConversation(
  client: WebClient,
  action: string,
  target: string,
): Promise<string | undefined> {
  if (target.startsWith('#')) return undefined;
  const name = target.slice(1);
  const user = SLACK_USER_ID.test(name) ? name : await userIdByName(client, action, name);
  try {
    const opened = await client.conversations.open({ users: user });
    if (opened.channel?.id) return opened.channel.id;
  } catch (error) {
    throw slackFailure(action, error);
  }
  throw ApplicationFailure.retryable(
    `${action}: Slack opened no conversation with ${target}`,
    FailureType.PeerUnavailable,
  );
}

/** Posts a notification as plain text (escaped, Slack's markup and name linking off) with its delivery id. */
export async function postNotification(
  client: WebClient,
  action: string,
  message: { readonly channel: string; readonly text: string; readonly delivery: string },
): Promise<SlackPlace> {
  let posted: { channel?: string; ts?: string };
  try {
    posted = await client.chat.postMessage({
      channel: message.channel,
      // `&`, `<` and `>` escaped: `<!channel>`, `<@U…>` and `<https://…|…>` in user text stay text.
      text: escapeMrkdwn(message.text),
      mrkdwn: false,
      parse: 'none',
      link_names: false,
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: NOTIFICATION_METADATA_TYPE, event_payload: { delivery: message.delivery } },
    });
  } catch (error) {
    throw slackFailure(action, error);
  }
  if (!posted.channel || !posted.ts) {
    // Posted, but where is unknown; a retry finds it by its metadata (its record stays `sending`).
    throw ApplicationFailure.retryable(
      `${action}: Slack accepted the notification but did not say where (no channel or ts in the answer)`,
      FailureType.PeerUnavailable,
    );
  }
  return { channel: posted.channel, ts: posted.ts };
}

/**
 * Looks for the message of `delivery` in the conversation's history since a minute before `since` (at most 1,000
 * messages, newest first); undefined when it is not there. `channel` is an id, or a `#name`, which is looked up with
 * `conversations.list` first. The search is {@link findSlackDelivery}'s, shared with `slack.post_message`.
 */
export async function findNotification(
  client: WebClient,
  action: string,
  channel: string,
  delivery: string,
  since: Date,
): Promise<SlackPlace | undefined> {
  return findSlackDelivery(client, action, {
    channel,
    eventType: NOTIFICATION_METADATA_TYPE,
    delivery,
    since: new Date(since.getTime() - LOOK_BACK_SLACK_MS),
    maxMessages: LOOK_BACK_MESSAGES,
  });
}

/** A user's id by their name or display name (`users.list`); a non-retryable failure when nobody has it. */
async function userIdByName(client: WebClient, action: string, name: string): Promise<string> {
  let cursor: string | undefined;
  for (let page = 0; page < DIRECTORY_PAGES; page++) {
    let answer;
    try {
      answer = await client.users.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
    } catch (error) {
      throw slackFailure(action, error);
    }
    const found = (answer.members ?? []).find(
      (member) => !member.deleted && (member.name === name || member.profile?.display_name === name),
    );
    if (found?.id) return found.id;
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!cursor) break;
  }
  throw ApplicationFailure.create({
    message: `${action}: Slack has no user named @${name} (use the member id, such as @U0123ABCD)`,
    type: FailureType.PeerRejected,
    nonRetryable: true,
    details: [{ slack_error: 'users_not_found' }],
  });
}
