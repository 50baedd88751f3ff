/**
 * Approval notices: the request of an approval step, its reminders and its outcome, posted to the step's Slack
 * channel (with Approve and Reject buttons; the outcome edits the request) and commented on its Jira issue. The
 * interpreter holds the approval's state and calls {@link approvalNotice} for everything it tells people; answers come
 * back through the gateway (`POST /api/runs/…/approvals/…`, Slack's buttons, Jira transitions), never through here.
 */
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ApprovalNoticeInput, NoticeReceipt } from '../../common/run-control';
import { slackClient } from '../actions/slack-post-message';
import { ISSUE_KEY, jiraClient } from '../clients/jira';
import type { ActionDeps } from '../deps';
import { commentJiraNotice } from './jira-notice';
import { postSlackNotice } from './slack-notice';

export { APPROVAL_BUTTONS, buttonValue, isApprovalButton, parseButtonValue, SLACK_USER_ID } from './slack-buttons';
export type { ApprovalButton, ButtonValue } from './slack-buttons';

/** The name failures carry: what the definition's author wrote, and what `docs/approvals.md` explains. */
const ACTION = 'flow.approval';

/**
 * What one attempt has done, recorded as the activity's heartbeat so that a retry (after the other channel failed,
 * or after a lost response) does not post it again.
 */
const progress = z.object({
  slack: z.object({ channel: z.string(), ts: z.string() }).optional(),
  jira: z.literal(true).optional(),
});
type Progress = z.infer<typeof progress>;

/**
 * Posts one approval notice to the channels in `approval.notify` and returns where the request message is (`{slack:
 * {channel, ts}}`), for reminders to reply to and the outcome to edit; `{}` when the step notifies no Slack channel.
 *
 * Both channels are checked before anything is posted: one the worker is not configured for (no SLACK_TOKEN, no
 * JIRA_*) fails the activity as MissingConfiguration, without retrying. Outages and rate limits are retried; requests
 * Slack or Jira reject (unknown channel or issue, bad auth) are not.
 *
 * Idempotency, best effort: Slack's `chat.postMessage` and Jira's comments have no idempotency key. Each channel's
 * success is recorded as the activity's heartbeat, and a retry skips what the previous attempt recorded, so a Jira
 * outage does not repeat the Slack post. A response lost before its heartbeat reached Temporal (a worker crash right
 * after posting) can still post a request or reminder twice: the duplicate is accepted rather than failed, and both
 * request messages carry working buttons for the same run and step. The outcome edits the request message, which is
 * idempotent; its Jira comment may likewise repeat.
 */
export async function approvalNotice(
  deps: Pick<ActionDeps, 'env' | 'fetch'>,
  input: ApprovalNoticeInput,
): Promise<NoticeReceipt> {
  const context = asyncLocalStorage.getStore();
  const signal = context?.cancellationSignal;
  const notify = input.approval.notify ?? {};
  const previous = progress.safeParse(context?.info.heartbeatDetails);
  const done: Progress = previous.success ? { ...previous.data } : {};

  // Configuration first, so that a worker missing one channel's settings posts to neither.
  const slack = notify.slack_channel
    ? { channel: slackChannel(notify.slack_channel), client: slackClient(deps, ACTION, signal) }
    : undefined;
  const jira = notify.jira_issue
    ? { issue: jiraIssue(notify.jira_issue), client: jiraClient(deps.env, ACTION, signal) }
    : undefined;

  // Each channel's success is recorded at once, so a worker crash during the other loses as little as it can.
  const record = (step: Progress): void => {
    Object.assign(done, step);
    context?.heartbeat(done);
  };
  const results = await Promise.allSettled([
    slack && !done.slack
      ? postSlackNotice(slack.client, ACTION, slack.channel, input).then((place) => record({ slack: place }))
      : undefined,
    jira && !done.jira
      ? commentJiraNotice(jira.client, ACTION, jira.issue, input).then(() => record({ jira: true }))
      : undefined,
  ]);
  const failures = results.flatMap((result) =>
    result.status === 'rejected'
      ? [result.reason instanceof Error ? result.reason : new Error(String(result.reason))]
      : [],
  );
  // A request that can never succeed outweighs one worth retrying: retrying would only repeat both.
  const failure = failures.find((error) => error instanceof ApplicationFailure && error.nonRetryable) ?? failures[0];
  if (failure) throw failure;
  const slackPlace = done.slack ?? input.receipt?.slack;
  return slackPlace ? { slack: { channel: slackPlace.channel, ts: slackPlace.ts } } : {};
}

function slackChannel(channel: string): string {
  if (channel.length > 200)
    throw invalidNotify('notify.slack_channel must be a channel id or #name of at most 200 characters');
  return channel;
}

function jiraIssue(issue: string): string {
  if (!ISSUE_KEY.test(issue)) throw invalidNotify(`notify.jira_issue must be a Jira issue key such as REL-42`);
  return issue;
}

function invalidNotify(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${ACTION}: ${message}`, 'InvalidActionInput');
}
