import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { approvalNotice } from '../../activities/approvals';
import type { ApprovalNoticeInput, ApprovalView, NoticeReceipt } from '../../common/run-control';
import { failureOf } from '../support/failure-of';
import { FakeJira } from '../support/fake-jira';
import { FakeSlack } from '../support/fake-slack';

const TOKEN = 'xoxb-test-0000-approvals';
const WORKFLOW_ID = 'release-prod-evt-0042';
const JIRA_ACCOUNT = '5b10ac8d82e05b22cc7d4ef5';
/** A title that would ping the channel, link and format if it were not escaped. */
const HOSTILE_TITLE = 'Ship 2.4 & <!channel> <https://evil.example|click me> to prod?';

const approval = (overrides: Partial<ApprovalView> = {}): ApprovalView => ({
  stepId: 'go_live',
  title: HOSTILE_TITLE,
  approvers: ['alice', 'U0123ABCD', JIRA_ACCOUNT, 'carol@example.com'],
  required: 1,
  forbidSelfApproval: true,
  status: 'pending',
  answers: [],
  requestedAt: '2026-11-02T09:00:00.000Z',
  timesOutAt: '2026-11-05T09:00:00.000Z',
  notify: { slack_channel: '#releases', jira_issue: 'REL-7', approve_transition: 'Approved' },
  ...overrides,
});

const notice = (
  kind: ApprovalNoticeInput['kind'],
  view: ApprovalView,
  receipt?: NoticeReceipt,
): ApprovalNoticeInput => ({
  kind,
  workflowId: WORKFLOW_ID,
  definition: 'release-prod',
  approval: view,
  ...(receipt ? { receipt } : {}),
});

/** All text of an Atlassian Document, mentions as `@<account id>`. */
function adfText(node: unknown): string {
  const { text, attrs, content, type } = node as {
    text?: string;
    attrs?: { id?: string };
    content?: unknown[];
    type?: string;
  };
  if (type === 'mention') return `@${attrs?.id ?? ''}`;
  return (text ?? '') + (content ?? []).map(adfText).join(type === 'doc' ? '\n' : '');
}

/** Every mrkdwn text of a message's blocks, joined by lines. */
function blockText(blocks: unknown): string {
  return JSON.stringify(blocks);
}

describe('activities: approvalNotice (Slack and Jira)', () => {
  let slack: FakeSlack;
  let jira: FakeJira;
  let env: Record<string, string>;
  before(async () => {
    slack = await new FakeSlack({ token: TOKEN }).start();
    jira = await FakeJira.start();
    env = { SLACK_TOKEN: TOKEN, SLACK_API_URL: slack.url, ...jira.env() };
  });
  after(async () => {
    await slack.stop();
    await jira.stop();
  });
  beforeEach(() => {
    slack.reset();
    jira.reset();
    jira.addIssue('REL-7');
  });

  const deps = () => ({ env, fetch: globalThis.fetch });

  it('posts the request with Approve and Reject buttons and escaped text, and comments it on Jira', async () => {
    const receipt = await approvalNotice(deps(), notice('requested', approval()));

    assert.equal(slack.messages.length, 1);
    const message = slack.messages[0]!;
    assert.deepEqual(receipt, { slack: { channel: 'C0RELEASES', ts: message.ts } });
    assert.equal(message.thread_ts, undefined);
    assert.equal(
      message.text,
      'Approval needed: Ship 2.4 &amp; &lt;!channel&gt; &lt;https://evil.example|click me&gt; to prod? (release-prod)',
    );
    const blocks = message.blocks as { type: string; elements?: Record<string, unknown>[] }[];
    const json = blockText(blocks);
    assert.ok(json.includes('Ship 2.4 &amp; &lt;!channel&gt; &lt;https://evil.example|click me&gt; to prod?'), json);
    assert.ok(!json.includes('<!channel>') && !json.includes('<https://evil'), 'no user text renders as markup');
    assert.ok(json.includes('<@U0123ABCD>'), 'a Slack user id among the approvers is mentioned');
    assert.ok(json.includes('carol@example.com') && json.includes('alice'));
    const actions = blocks.find((block) => block.type === 'actions');
    assert.ok(actions, 'the request has an actions block');
    const value = JSON.stringify({ w: WORKFLOW_ID, s: 'go_live' });
    assert.deepEqual(
      actions.elements?.map((button) => ({ action_id: button['action_id'], value: button['value'] })),
      [
        { action_id: 'flow_approve', value },
        { action_id: 'flow_reject', value },
      ],
    );
    assert.deepEqual(
      actions.elements?.map((button) => (button['text'] as { text: string }).text),
      ['Approve', 'Reject'],
    );

    const comments = jira.issue('REL-7').comments;
    assert.equal(comments.length, 1);
    const comment = adfText(comments[0]!.body);
    assert.match(comment, /^Approval needed: Ship 2\.4 & <!channel> <https:\/\/evil\.example\|click me> to prod\?$/m);
    assert.ok(comment.includes(`@${JIRA_ACCOUNT}`), 'a Jira account id among the approvers is mentioned');
    assert.ok(comment.includes('transition this issue to "Approved" to approve'), comment);
    assert.ok(comment.includes(`POST /api/runs/${WORKFLOW_ID}/approvals/go_live`), comment);
  });

  it('posts a request to a group of 300 approvers, listing the first names and counting the rest', async () => {
    const approvers = Array.from(
      { length: 300 },
      (_, index) => `approver-${String(index).padStart(3, '0')}@example.com`,
    );
    await approvalNotice(deps(), notice('requested', approval({ approvers, notify: { slack_channel: '#releases' } })));
    assert.equal(slack.messages.length, 1, 'the request was posted');
    const sections = (slack.messages[0]!.blocks as { type: string; text?: { text: string } }[])
      .filter((block) => block.type === 'section')
      .map((block) => block.text?.text ?? '');
    for (const text of sections) assert.ok(text.length <= 3_000, `a section of ${text.length} characters`);
    const listed = sections.find((text) => text.startsWith('*Approvers*'))!;
    assert.match(
      listed,
      /^\*Approvers\* \(1 of 300 needed\): approver-000@example\.com, approver-001@example\.com, .* and \d+ more$/,
    );
  });

  it('reminds the approvers who have not answered in the request thread, and on Jira', async () => {
    const receipt = await approvalNotice(deps(), notice('requested', approval({ required: 2 })));
    const answered = approval({
      required: 2,
      answers: [{ by: 'alice', decision: 'approved', via: 'api', at: '2026-11-02T10:00:00.000Z' }],
    });
    const again = await approvalNotice(deps(), notice('reminder', answered, receipt));

    assert.deepEqual(again, receipt, 'the receipt still points at the request');
    assert.equal(slack.messages.length, 2);
    const reminder = slack.messages[1]!;
    assert.equal(reminder.channel, 'C0RELEASES');
    assert.equal(reminder.thread_ts, receipt.slack?.ts);
    assert.match(reminder.text ?? '', /Reminder/);
    assert.ok(reminder.text?.includes('<@U0123ABCD>'), reminder.text);
    assert.ok(reminder.text?.includes('carol@example.com'));
    assert.ok(!reminder.text?.includes('alice'), 'alice answered already');
    assert.match(reminder.text ?? '', /1 of 2 approvals so far/);

    const comments = jira.issue('REL-7').comments;
    assert.equal(comments.length, 2);
    const comment = adfText(comments[1]!.body);
    assert.match(comment, /^Reminder, approval still needed: /);
    assert.ok(comment.includes(`@${JIRA_ACCOUNT}`) && !comment.includes('alice'), comment);
  });

  it('posts a reminder with the buttons to the channel when the request never made it to Slack', async () => {
    const receipt = await approvalNotice(deps(), notice('reminder', approval()));
    assert.equal(slack.messages.length, 1);
    const reminder = slack.messages[0]!;
    assert.equal(reminder.thread_ts, undefined);
    assert.deepEqual(
      receipt,
      { slack: { channel: 'C0RELEASES', ts: reminder.ts } },
      'the reminder stands in for the request',
    );
    assert.match(reminder.text ?? '', /Reminder/);
    const blocks = reminder.blocks as { type: string }[];
    assert.ok(
      blocks.some((block) => block.type === 'actions'),
      'its buttons answer the approval',
    );
  });

  it('edits the request message to show the outcome, who decided and their comments, without buttons', async () => {
    const receipt = await approvalNotice(deps(), notice('requested', approval()));
    const decided = approval({
      status: 'approved',
      decidedAt: '2026-11-02T11:00:00.000Z',
      answers: [
        {
          by: 'U0123ABCD',
          decision: 'approved',
          via: 'slack',
          comment: 'LGTM <@U999> & go',
          at: '2026-11-02T11:00:00.000Z',
        },
      ],
    });
    const after = await approvalNotice(deps(), notice('decided', decided, receipt));

    assert.deepEqual(after, receipt);
    assert.equal(slack.messages.length, 1, 'no new message: the request itself shows the outcome');
    assert.deepEqual(
      slack.updates.map((update) => ({ channel: update.channel, ts: update.ts })),
      [receipt.slack],
    );
    const edited = slack.messages[0]!;
    assert.match(edited.text ?? '', /^Approved by <@U0123ABCD>: Ship 2\.4 &amp; &lt;!channel&gt;/);
    const json = blockText(edited.blocks);
    assert.ok(!(edited.blocks as { type: string }[]).some((block) => block.type === 'actions'), 'the buttons are gone');
    assert.ok(json.includes('LGTM &lt;@U999&gt; &amp; go'), json);
    assert.ok(json.includes('approved via slack'), json);

    const comment = adfText(jira.issue('REL-7').comments[1]!.body);
    assert.match(comment, /^Approved by U0123ABCD: Ship 2\.4/);
    assert.ok(comment.includes('LGTM <@U999> & go'), comment);
  });

  it('shows a timeout and a rejection with their own words', async () => {
    const receipt = await approvalNotice(deps(), notice('requested', approval()));
    await approvalNotice(deps(), notice('decided', approval({ status: 'timed_out' }), receipt));
    assert.match(slack.messages[0]!.text ?? '', /^Timed out: Ship/);

    const rejected = approval({
      status: 'rejected',
      answers: [{ by: 'alice', decision: 'rejected', via: 'api', at: '2026-11-02T10:00:00.000Z' }],
    });
    await approvalNotice(deps(), notice('decided', rejected, receipt));
    assert.match(slack.messages[0]!.text ?? '', /^Rejected by alice: Ship/);
  });

  it('posts the outcome as a new message when the request message was deleted', async () => {
    const receipt = { slack: { channel: 'C0RELEASES', ts: '1700000000.000001' } };
    const after = await approvalNotice(deps(), notice('decided', approval({ status: 'timed_out' }), receipt));
    assert.equal(slack.messages.length, 1);
    assert.deepEqual(after, { slack: { channel: 'C0RELEASES', ts: slack.messages[0]!.ts } });
    assert.match(slack.messages[0]!.text ?? '', /^Timed out/);
  });

  it('fails with MissingConfiguration naming SLACK_TOKEN, without posting to Jira either', async () => {
    const { SLACK_TOKEN: _token, ...withoutSlack } = env;
    const failure = await failureOf(
      approvalNotice({ env: withoutSlack, fetch: globalThis.fetch }, notice('requested', approval())),
    );
    assert.equal(failure.type, 'MissingConfiguration');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /flow\.approval needs SLACK_TOKEN in the worker's environment/);
    assert.equal(slack.requests.length, 0);
    assert.equal(jira.requests.length, 0);
  });

  it('needs only the channels the step notifies: Jira alone works without SLACK_TOKEN', async () => {
    const jiraOnly = approval({ notify: { jira_issue: 'REL-7' } });
    const receipt = await approvalNotice({ env: jira.env(), fetch: globalThis.fetch }, notice('requested', jiraOnly));
    assert.deepEqual(receipt, {});
    assert.equal(slack.requests.length, 0);
    assert.equal(jira.issue('REL-7').comments.length, 1);

    const { JIRA_URL: _url, ...withoutJira } = env;
    const failure = await failureOf(
      approvalNotice({ env: withoutJira, fetch: globalThis.fetch }, notice('requested', jiraOnly)),
    );
    assert.equal(failure.type, 'MissingConfiguration');
    assert.match(failure.message, /JIRA_URL/);
  });

  it('retries a Jira outage without posting the Slack request again', async () => {
    const heartbeats: unknown[] = [];
    const attempt = (heartbeatDetails?: unknown) => {
      const environment = new MockActivityEnvironment(
        { heartbeatDetails, activityType: 'approvalNotice' },
        { logger: new DefaultLogger('ERROR') },
      );
      environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
      return environment.run(approvalNotice, deps(), notice('requested', approval()));
    };
    jira.failNext(503);
    const failure = await failureOf(attempt());
    assert.equal(failure.type, 'PeerUnavailable');
    assert.equal(failure.nonRetryable, false);
    assert.equal(slack.messages.length, 1);
    const posted = { channel: 'C0RELEASES', ts: slack.messages[0]!.ts };
    assert.deepEqual(heartbeats.at(-1), { slack: posted });

    const receipt = await attempt(heartbeats.at(-1));
    assert.deepEqual(receipt, { slack: posted });
    assert.equal(slack.messages.length, 1, 'the retry did not post the request twice');
    assert.equal(jira.issue('REL-7').comments.length, 1);
  });

  it('fails without retrying when Slack rejects the channel, and says which Slack error', async () => {
    const failure = await failureOf(
      approvalNotice(
        deps(),
        notice('requested', approval({ notify: { slack_channel: '#nowhere', jira_issue: 'REL-7' } })),
      ),
    );
    assert.equal(failure.type, 'PeerRejected');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^flow\.approval: Slack answered channel_not_found/);
    assert.ok(!failure.message.includes(TOKEN));
  });

  it('retries when Slack rate-limits the request, with the delay Slack asked for', async () => {
    slack.failNext({ status: 429, retryAfterSeconds: 9 });
    const failure = await failureOf(
      approvalNotice(deps(), notice('requested', approval({ notify: { slack_channel: '#releases' } }))),
    );
    assert.equal(failure.type, 'PeerUnavailable');
    assert.equal(failure.nextRetryDelay, '9s');
  });

  it('leaves the buttons out, and names the API instead, when the run id cannot ride a button', async () => {
    const long = {
      ...notice('requested', approval({ notify: { slack_channel: '#releases' } })),
      workflowId: 'x'.repeat(301),
    };
    await approvalNotice(deps(), long);
    const json = blockText(slack.messages[0]!.blocks);
    assert.ok(!json.includes('"actions"'), json);
    assert.ok(json.includes(`POST /api/runs/${'x'.repeat(301)}/approvals/go_live`));
  });
});
