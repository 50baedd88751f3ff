import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import type { ApprovalNoticeInput } from '../../common/run-control';
import { postSlackMessage, slackFailure } from '../actions/slack-post-message';
import { slackOutcome, slackReminder, slackRequest } from './render';

/** Where a message is in Slack: the channel id and the message's ts. */
export interface SlackPlace {
  readonly channel: string;
  readonly ts: string;
}

/** Slack errors of `chat.update` that mean the request message cannot be edited, so the outcome is posted anew. */
const MESSAGE_GONE = new Set(['message_not_found', 'cant_update_message']);

/**
 * Posts one notice to Slack and returns where the request message is, for the workflow to keep: the request goes to
 * `channel`; a reminder replies in the request's thread; the outcome edits the request message with `chat.update`,
 * which drops its buttons. Without a recorded request (its post failed for good) a reminder is posted to the channel
 * with the buttons, and its place returned in the request's stead; the outcome is then a message of its own.
 */
export async function postSlackNotice(
  client: WebClient,
  action: string,
  channel: string,
  input: ApprovalNoticeInput,
): Promise<SlackPlace> {
  const request = input.receipt?.slack;
  switch (input.kind) {
    case 'requested':
      return postSlackMessage(client, action, { channel, ...slackRequest(input) });
    case 'reminder': {
      const reminder = slackReminder(input);
      if (request) {
        await postSlackMessage(client, action, { channel: request.channel, thread_ts: request.ts, ...reminder });
        return request;
      }
      const [, ...details] = slackRequest(input).blocks ?? [];
      const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: reminder.text } }, ...details];
      return postSlackMessage(client, action, { channel, text: reminder.text, blocks });
    }
    case 'decided': {
      const outcome = slackOutcome(input);
      if (!request) return postSlackMessage(client, action, { channel, ...outcome });
      try {
        await client.chat.update({
          channel: request.channel,
          ts: request.ts,
          text: outcome.text,
          blocks: [...(outcome.blocks ?? [])],
        });
        return request;
      } catch (error) {
        // The request message was deleted: the outcome still has to be told, so it gets a message of its own.
        if (error instanceof WebAPIPlatformError && MESSAGE_GONE.has(error.data.error)) {
          return postSlackMessage(client, action, { channel: request.channel, ...outcome });
        }
        throw slackFailure(action, error);
      }
    }
  }
}
