import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import type { RunResult } from '../../common/run-types';
import { FakeJira } from '../support/fake-jira';
import { FakeSlack } from '../support/fake-slack';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const JIRA_SECRET = 'jira-webhook-secret-for-approvals';
const SLACK_TOKEN = 'xoxb-approvals-test-token';
/** The Jira Cloud account id of the approver in the vendor's sample payload. */
const MIA = '5b10a2844c20165700ede21g';

/** Jira's own sample of a status change (fixtures/webhooks), moved to `to` on `issue` by `accountId`. */
function jiraTransition(issue: string, to: string, accountId: string): string {
  const sample = JSON.parse(
    fs.readFileSync(path.join(__dirname, '../gateway/fixtures/webhooks/jira-issue-updated-status.json'), 'utf8'),
  ) as {
    user: Record<string, unknown>;
    issue: { key: string };
    changelog: { items: { field: string; toString: string }[] };
    timestamp: number;
  };
  sample.user = { ...sample.user, accountId, displayName: `user ${accountId.slice(0, 6)}` };
  sample.issue.key = issue;
  sample.timestamp = Date.now();
  for (const item of sample.changelog.items) if (item.field === 'status') item.toString = to;
  return JSON.stringify(sample);
}

describe('engine: approvals answered through Jira transitions, with reminders and notices in Slack and Jira', function () {
  this.timeout(120_000);
  let harness: Harness;
  let slack: FakeSlack;
  let jira: FakeJira;
  let source: string;

  before(async () => {
    slack = await new FakeSlack({ token: SLACK_TOKEN }).start();
    jira = await FakeJira.start();
    harness = await startHarness({
      deps: { env: { ...jira.env(), SLACK_TOKEN, SLACK_API_URL: slack.url } },
      webhookEnv: { FLOW_WEBHOOK_SECRET_JIRA: JIRA_SECRET },
    });
    source = uniqueName('approvals');
    const saved = await request(harness.app)
      .put('/api/definitions/approve-in-jira')
      .set('Authorization', harness.auth)
      .send({
        id: 'approve-in-jira',
        name: 'Approve in Jira',
        on: [{ source, type: 'release' }],
        steps: [
          {
            id: 'go_live',
            action: 'flow.approval',
            with: {
              title: 'Release ${{ event.issue }} to production?',
              approvers: [MIA, 'alice'],
              remind_every: '2s',
              timeout: '60s',
              notify: {
                slack_channel: '#releases',
                jira_issue: '${{ event.issue }}',
                approve_transition: 'Approved',
                reject_transition: 'Rejected',
              },
            },
          },
          { id: 'after', action: 'flow.set', with: { decided: '${{ steps.go_live.output.decision }}' } },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });
  after(async () => {
    await harness.stop();
    await slack.stop();
    await jira.stop();
  });

  async function postJira(body: string): Promise<void> {
    const signature = `sha256=${createHmac('sha256', JIRA_SECRET).update(body).digest('hex')}`;
    const response = await request(harness.app)
      .post('/webhooks/jira')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature', signature)
      .send(body);
    assert.equal(response.status, 202, JSON.stringify(response.body));
  }

  it('posts the request, reminds on time, takes a Jira transition by an approver as the answer, and shows the outcome', async () => {
    const issue = `REL-${Math.floor(Math.random() * 90_000) + 10_000}`;
    jira.addIssue(issue);
    const runId = await harness.startRun(source, 'release', { issue });
    const handle = harness.client.workflow.getHandle(runId);

    const request = await eventually(
      () => slack.messages.find((message) => message.text?.includes(issue) && message.thread_ts === undefined),
      20_000,
      'the Slack request',
    );
    assert.ok(JSON.stringify(request.blocks).includes('flow_approve'), 'the request has an Approve button');

    // Reminders come every 2 s, in the request's thread: the second one about 4 s after the request, not sooner.
    const requestSeen = Date.now();
    await eventually(
      () => (slack.messages.filter((message) => message.thread_ts === request.ts).length >= 2 ? true : undefined),
      20_000,
      'two reminders',
    );
    const elapsed = Date.now() - requestSeen;
    assert.ok(elapsed >= 3_000, `two reminders within ${elapsed} ms of the request; they should be 2 s apart`);

    // A transition by someone who is not an approver does not count.
    await postJira(jiraTransition(issue, 'Approved', '5b10ac8d82e05b22cc7dffff'));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const pending = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.equal(pending.approvals[0]!.status, 'pending');
    assert.deepEqual(pending.approvals[0]!.answers, []);

    // Mia, an approver by her Jira account id, moves the ticket to Approved.
    await postJira(jiraTransition(issue, 'Approved', MIA));
    const result = (await handle.result()) as RunResult;
    assert.equal(result.vars['decided'], 'approved');
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.deepEqual(
      status.approvals[0]!.answers.map((answer) => `${answer.by}:${answer.decision}:${answer.via}`),
      [`${MIA}:approved:jira`],
    );

    // The request message was edited to show the outcome, and Jira got the request and the outcome as comments.
    const edit = slack.updates.find((update) => update.ts === request.ts);
    assert.ok(edit, 'the Slack request was edited');
    assert.match(edit.text ?? '', /approved/i);
    assert.ok(!JSON.stringify(edit.blocks).includes('flow_approve'), 'the buttons are gone');
    const comments = jira.requests.filter(
      (sent) => sent.method === 'POST' && sent.path.includes(`/issue/${issue}/comment`),
    );
    assert.ok(comments.length >= 2, `request and outcome commented on ${issue} (${comments.length})`);
  });
});
