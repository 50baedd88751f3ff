import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import { approvalNotice } from '../../activities/approvals';
import { WORKFLOW_TYPES, type RunResult } from '../../common/run-types';
import { FakeSlack } from '../support/fake-slack';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const SECRET = 'slack-signing-secret-for-tests';
const PATH = '/webhooks/slack/interactions';

/** Slack's signature of a body sent at `timestamp` (seconds). */
function slackSignature(body: string, timestamp: number, secret = SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** A form body as Slack sends it: `payload=<JSON>`. */
function formBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A `block_actions` payload of one click on a button; `responseUrl` is where Slack would take a reply. */
function click(
  actionId: string,
  value: unknown,
  options: { user?: string; responseUrl?: string } = {},
): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: options.user ?? 'U0123ABCD', username: 'alice', team_id: 'T0FLOW' },
    team: { id: 'T0FLOW', domain: 'acme' },
    channel: { id: 'C0RELEASES', name: 'releases' },
    trigger_id: '1234.5678.abcd',
    response_url: options.responseUrl ?? 'https://hooks.slack.com/actions/T0FLOW/1/abc',
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'flow_approval',
        value: typeof value === 'string' ? value : JSON.stringify(value),
        action_ts: '1712345678.000100',
      },
    ],
  };
}

describe('gateway: Slack interactions at /webhooks/slack/interactions', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness({ worker: false, webhookEnv: { FLOW_SLACK_SIGNING_SECRET: SECRET } });
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  /** POSTs a body signed (by default correctly, now) as Slack signs it. */
  function post(body: string, options: { timestamp?: number; signature?: string; contentType?: string } = {}) {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return request(harness.app)
      .post(PATH)
      .set('Content-Type', options.contentType ?? 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', String(timestamp))
      .set('X-Slack-Signature', options.signature ?? slackSignature(body, timestamp))
      .send(body);
  }

  it('refuses a forged signature, and one made with another secret, with 401 problem+json', async () => {
    const body = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
    const now = Math.floor(Date.now() / 1000);
    for (const signature of [
      slackSignature(body, now, 'not-the-secret'),
      `v0=${'0'.repeat(64)}`,
      'v0=zz',
      slackSignature(body, now).replace('v0=', 'v1='),
    ]) {
      const res = await post(body, { timestamp: now, signature });
      assert.equal(res.status, 401, signature);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      const problem = JSON.parse(res.text) as { detail: string };
      assert.match(problem.detail, /X-Slack-Signature signature does not match/);
      assert.match(problem.detail, /FLOW_SLACK_SIGNING_SECRET/);
      assert.ok(!res.text.includes(SECRET), 'the secret never appears in an answer');
    }
  });

  it('refuses a signature over another body (the body was changed after signing)', async () => {
    const signedBody = formBody(click('flow_reject', { w: 'release-evt-1', s: 'go_live' }));
    const sentBody = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
    const now = Math.floor(Date.now() / 1000);
    const res = await post(sentBody, { timestamp: now, signature: slackSignature(signedBody, now) });
    assert.equal(res.status, 401);
  });

  it('refuses a request signed more than five minutes ago or ahead, even with a valid signature', async () => {
    const body = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 6 * 60, now + 6 * 60]) {
      const res = await post(body, { timestamp });
      assert.equal(res.status, 401, String(timestamp - now));
      assert.match(JSON.parse(res.text).detail, /more than 5 minutes away from the gateway's clock/);
    }
    // Within the window both ways is accepted (and answered: there is no such run).
    for (const timestamp of [now - 4 * 60, now + 4 * 60]) {
      const res = await post(body, { timestamp });
      assert.equal(res.status, 200, String(timestamp - now));
    }
  });

  it('refuses requests without the timestamp or the signature header', async () => {
    const body = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
    const noTimestamp = await request(harness.app)
      .post(PATH)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Signature', slackSignature(body, Math.floor(Date.now() / 1000)))
      .send(body);
    assert.equal(noTimestamp.status, 401);
    assert.match(JSON.parse(noTimestamp.text).detail, /X-Slack-Request-Timestamp/);
    const noSignature = await request(harness.app)
      .post(PATH)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', String(Math.floor(Date.now() / 1000)))
      .send(body);
    assert.equal(noSignature.status, 401);
    assert.match(JSON.parse(noSignature.text).detail, /X-Slack-Signature header is missing/);
  });

  it('is not a generic webhook: nothing is accepted as an event of source slack', async () => {
    const body = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.ok(!('eventId' in res.body) && !('workflowId' in res.body), JSON.stringify(res.body));
    let dispatchers = 0;
    for await (const _ of harness.client.workflow.list({
      query: `TaskQueue = "${harness.taskQueue}" AND WorkflowType = "${WORKFLOW_TYPES.dispatchEvent}"`,
    }))
      dispatchers++;
    assert.equal(dispatchers, 0);
  });

  it('answers 200 with a text for a run that does not exist, and never calls the response_url', async () => {
    const body = formBody(
      click('flow_approve', { w: uniqueName('release-evt'), s: 'go_live' }, { responseUrl: `${receiver.url}/respond` }),
    );
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.match(res.body.text, /^There is no Flow run release-evt-[0-9a-f]{8} here; nothing was recorded\.$/);
    assert.equal(res.body.replace_original, false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.requests.length, 0, 'the response_url of the payload was never called');
  });

  it('refuses buttons whose ids are not a run id and a step id, or a user that is not a Slack user id', async () => {
    const cases: { value: unknown; user?: string; text: RegExp }[] = [
      { value: 'not json', text: /does not name a Flow run and approval step/ },
      { value: { w: 'release evt', s: 'go_live' }, text: /does not name a Flow run and approval step/ },
      { value: { w: 'x'.repeat(301), s: 'go_live' }, text: /does not name a Flow run and approval step/ },
      { value: { w: 'release-evt-1', s: 'Go-Live' }, text: /does not name a Flow run and approval step/ },
      { value: { w: 'release-evt-1' }, text: /does not name a Flow run and approval step/ },
      { value: ['release-evt-1', 'go_live'], text: /does not name a Flow run and approval step/ },
      { value: { w: 'release-evt-1', s: 'go_live' }, user: 'alice', text: /does not name a Slack user/ },
    ];
    for (const { value, user, text } of cases) {
      const res = await post(formBody(click('flow_approve', value, user ? { user } : {})));
      assert.equal(res.status, 200, JSON.stringify(value));
      assert.match(res.body.text, text, JSON.stringify(value));
    }
  });

  it('refuses to answer a workflow that is not an interpreter run of this deployment', async () => {
    // An event's dispatcher on this task queue, and an interpreter-typed workflow on another task queue.
    const posted = await request(harness.app)
      .post('/events/release/nothing_bound')
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', uniqueName('k'))
      .send({ issue: 'REL-1' });
    assert.equal(posted.status, 202);
    const elsewhere = uniqueName('release-evt');
    await harness.client.workflow.start(WORKFLOW_TYPES.interpret, {
      workflowId: elsewhere,
      taskQueue: uniqueName('another-flow'),
      args: [],
    });
    try {
      for (const workflowId of [posted.body.workflowId as string, elsewhere]) {
        const res = await post(formBody(click('flow_approve', { w: workflowId, s: 'go_live' })));
        assert.equal(res.status, 200);
        assert.equal(res.body.text, `There is no Flow run ${workflowId} here; nothing was recorded.`);
      }
    } finally {
      await harness.client.workflow.getHandle(elsewhere).terminate('test done');
    }
  });

  it('does nothing for other payload types and other buttons, answering 200', async () => {
    const viewSubmission = await post(formBody({ type: 'view_submission', user: { id: 'U0123ABCD' }, view: {} }));
    assert.equal(viewSubmission.status, 200);
    assert.equal(viewSubmission.text, '');
    const otherButton = await post(formBody(click('deploy_now', { w: 'release-evt-1', s: 'go_live' })));
    assert.equal(otherButton.status, 200);
    assert.equal(otherButton.text, '');
  });

  it('refuses a body that is not Slack form data with payload JSON, after checking the signature', async () => {
    const json = await post(JSON.stringify({ payload: {} }), { contentType: 'application/json' });
    assert.equal(json.status, 415);
    const noPayload = await post('token=abc');
    assert.equal(noPayload.status, 400);
    assert.match(JSON.parse(noPayload.text).detail, /no payload field/);
    const notJson = await post('payload=%7Bnot');
    assert.equal(notJson.status, 400);
    assert.match(JSON.parse(notJson.text).detail, /not valid JSON/);
  });

  it('answers 503 naming FLOW_SLACK_SIGNING_SECRET when the gateway has none', async () => {
    const unconfigured = await startHarness({ worker: false });
    try {
      const body = formBody(click('flow_approve', { w: 'release-evt-1', s: 'go_live' }));
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await request(unconfigured.app)
        .post(PATH)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .set('X-Slack-Request-Timestamp', String(timestamp))
        .set('X-Slack-Signature', slackSignature(body, timestamp))
        .send(body);
      assert.equal(res.status, 503);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(JSON.parse(res.text).detail, /set FLOW_SLACK_SIGNING_SECRET to the Slack app's signing secret/);
    } finally {
      await unconfigured.stop();
    }
  });
});

describe('gateway: a Slack click answers a run waiting in flow.approval', () => {
  const SLACK_TOKEN = 'xoxb-test-0000-interactions';
  let harness: Harness;
  let slack: FakeSlack;
  before(async () => {
    slack = await new FakeSlack({ token: SLACK_TOKEN }).start();
    const env = { SLACK_TOKEN, SLACK_API_URL: slack.url };
    harness = await startHarness({
      webhookEnv: { FLOW_SLACK_SIGNING_SECRET: SECRET },
      // The worker's notices use this environment, as workers/create-worker.ts wires them from the worker's own.
      deps: { env, approvalNotice: (input) => approvalNotice({ env, fetch: globalThis.fetch }, input) },
    });
  });
  after(async () => {
    await harness.stop();
    await slack.stop();
  });

  function signedClick(payload: Record<string, unknown>) {
    const body = formBody(payload);
    const timestamp = Math.floor(Date.now() / 1000);
    return request(harness.app)
      .post(PATH)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', String(timestamp))
      .set('X-Slack-Signature', slackSignature(body, timestamp))
      .send(body);
  }

  /** Saves a definition whose first step is an approval by two Slack users, notified in #releases. */
  async function saveApprovalDefinition(approval: Record<string, unknown>, next: Record<string, unknown>) {
    const definition = uniqueName('approve-by-slack');
    const type = uniqueName('ready').replace(/-/g, '_');
    const saved = await request(harness.app)
      .put(`/api/definitions/${definition}`)
      .set('Authorization', harness.auth)
      .send({
        id: definition,
        name: 'Release after a Slack approval',
        on: [{ source: 'release', type }],
        steps: [
          {
            id: 'go_live',
            action: 'flow.approval',
            with: {
              title: 'Release 2.4 <to> production & beyond?',
              approvers: ['U0123ABCD', 'U0BOB0001'],
              timeout: '1h',
              notify: { slack_channel: '#releases' },
              ...approval,
            },
          },
          next,
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    return type;
  }

  /** The request message, once it is posted, and the value of its Approve button. */
  async function approvalRequest() {
    const message = await eventually(() => slack.messages[0], 20_000, 'the approval request in Slack');
    const actions = (message.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find(
      (block) => block.type === 'actions',
    );
    const approve = actions?.elements?.find((button) => button.action_id === 'flow_approve');
    assert.ok(approve, 'the request has an Approve button');
    return { message, value: approve.value };
  }

  it('approves through the Approve button, the run goes on, and the request message shows who approved', async () => {
    const type = await saveApprovalDefinition(
      {},
      {
        id: 'after',
        action: 'flow.set',
        with: { decision: '${{ steps.go_live.output.decision }}', by: '${{ steps.go_live.output.by }}' },
      },
    );
    const runId = await harness.startRun('release', type, { version: '2.4' });
    const { message: requestMessage, value } = await approvalRequest();
    assert.deepEqual(JSON.parse(value), { w: runId, s: 'go_live' });

    // Someone who is not an approver is refused, and nothing is recorded.
    const stranger = await signedClick(click('flow_approve', value, { user: 'U0STRANGER' }));
    assert.equal(stranger.status, 200);
    assert.match(stranger.body.text, /^Not recorded: U0STRANGER is not an approver of /);

    const approved = await signedClick(click('flow_approve', value, { user: 'U0123ABCD' }));
    assert.equal(approved.status, 200);
    assert.equal(approved.body.text, '"Release 2.4 <to> production & beyond?" is approved; the run goes on.');

    const result = (await harness.client.workflow.getHandle(runId).result()) as RunResult;
    assert.deepEqual(
      result.steps.map((step) => [step.id, step.status]),
      [
        ['go_live', 'completed'],
        ['after', 'completed'],
      ],
      'the run went on past the approval',
    );
    assert.deepEqual(result.vars, { decision: 'approved', by: ['U0123ABCD'] });

    // The request message itself was edited to show the outcome; its buttons are gone.
    assert.equal(slack.messages.length, 1);
    assert.deepEqual(
      slack.updates.map((update) => ({ channel: update.channel, ts: update.ts })),
      [{ channel: 'C0RELEASES', ts: requestMessage.ts }],
    );
    const edited = slack.messages[0]!;
    assert.match(edited.text ?? '', /^Approved by <@U0123ABCD>: Release 2\.4 &lt;to&gt; production &amp; beyond\?/);
    assert.ok(!(edited.blocks as { type: string }[]).some((block) => block.type === 'actions'));

    // A click on the old message once the run has ended records nothing.
    const late = await signedClick(click('flow_approve', value, { user: 'U0BOB0001' }));
    assert.equal(late.status, 200);
    assert.equal(late.body.text, `Run ${runId} already ended; nothing was recorded.`);
  });
  it('rejects through the Reject button; a later click is refused as closed while the run goes on', async () => {
    slack.reset();
    const type = await saveApprovalDefinition(
      { on_reject: 'continue' },
      {
        id: 'hold',
        action: 'flow.sleep',
        with: { duration: '1h' },
      },
    );
    const runId = await harness.startRun('release', type, { version: '2.5' });
    const { message, value } = await approvalRequest();

    const rejected = await signedClick(click('flow_reject', value, { user: 'U0BOB0001' }));
    assert.equal(rejected.status, 200);
    assert.equal(rejected.body.text, '"Release 2.4 <to> production & beyond?" is rejected.');

    const edited = await eventually(
      () => (slack.updates.length > 0 ? slack.messages[0] : undefined),
      20_000,
      'the request edited with the outcome',
    );
    assert.equal(edited.ts, message.ts);
    assert.match(edited.text ?? '', /^Rejected by <@U0BOB0001>: Release 2\.4/);

    // The run still runs (it sleeps after the approval), so the run itself refuses the late click.
    const late = await signedClick(click('flow_approve', value, { user: 'U0123ABCD' }));
    assert.equal(late.status, 200);
    assert.match(late.body.text, /^Not recorded: "Release 2\.4 <to> production & beyond\?" is already rejected/);
    await harness.client.workflow.getHandle(runId).terminate('test done');
  });
});
