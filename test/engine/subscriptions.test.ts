import { defaultPayloadConverter } from '@temporalio/common';
import assert from 'node:assert/strict';
import request from 'supertest';
import { notificationMessageId, NOTIFICATION_METADATA_TYPE, type DeliveryRecord } from '../../activities/subscriptions';
import type { EventDispatchResult } from '../../common/event-waits';
import { lifecycleKey, type LifecycleType } from '../../common/run-control';
import { dispatchWorkflowId } from '../../common/run-types';
import { deliveryId, type Subscription } from '../../common/subscriptions';
import type { ManagedProcess } from '../../devstack/managed-process';
import { isReadyMessage } from '../../devstack/managed-process';
import { eventIdFor } from '../../intake';
import { NOTIFY_SUBSCRIBERS_PATCH } from '../../workflows/dispatcher';
import { startEntryPoint } from '../support/entry-points';
import { FakeSlack, type PostedMessage } from '../support/fake-slack';
import { withDatabase } from '../support/global-fixture';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { SmtpReceiver } from '../support/smtp-receiver';
import { testConfig, uniqueName } from '../support/stack';

const SLACK_TOKEN = 'xoxb-subscriptions-test-token';
const ALICE = 'U0ALICE';

/** The messages at the peer that carry the delivery id `id` in their metadata. */
function deliveredAs(slack: FakeSlack, id: string): PostedMessage[] {
  return slack.messages.filter(
    (message) =>
      message.metadata?.event_type === NOTIFICATION_METADATA_TYPE && message.metadata.event_payload['delivery'] === id,
  );
}

/** The patch ids whose markers a workflow's history recorded, and the activity types it scheduled. */
async function historyOf(harness: Harness, workflowId: string): Promise<{ patches: string[]; activities: string[] }> {
  const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
  const patches: string[] = [];
  const activities: string[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0] : undefined;
    if (data) patches.push(defaultPayloadConverter.fromPayload<{ id: string }>(data).id);
    const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) activities.push(scheduled);
  }
  return { patches, activities };
}

/** Posts an event with this idempotency key and waits for its dispatcher's result. */
async function dispatch(
  harness: Harness,
  source: string,
  type: string,
  body: Record<string, unknown>,
  key = uniqueName(type),
): Promise<{ eventId: string; workflowId: string; result: EventDispatchResult; duplicate: boolean }> {
  const posted = await request(harness.app)
    .post(`/events/${source}/${type}`)
    .set('Authorization', harness.auth)
    .set('Idempotency-Key', key)
    .send(body);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const workflowId = posted.body.workflowId as string;
  const result = (await harness.client.workflow.getHandle(workflowId).result()) as EventDispatchResult;
  return { eventId: eventIdFor(source, key), workflowId, result, duplicate: posted.body.duplicate === true };
}

describe('engine: subscriptions are notified by the dispatcher, once', function () {
  this.timeout(180_000);
  let harness: Harness;
  let slack: FakeSlack;
  let smtp: SmtpReceiver;
  let receiver: HttpReceiver;
  let source: string;
  const save = (subscription: Subscription): Promise<unknown> =>
    harness.subscriptions.save(subscription, subscription.owner);

  before(async () => {
    slack = await new FakeSlack({ token: SLACK_TOKEN, users: [{ id: ALICE, name: 'alice' }] }).start();
    smtp = await new SmtpReceiver({ user: 'flow', pass: 'pw' }).start();
    receiver = await HttpReceiver.start();
    receiver.respondWith((req) => (req.path === '/broken' ? { status: 404, body: { error: 'no' } } : undefined));
    harness = await startHarness({
      deps: {
        env: {
          SLACK_TOKEN,
          SLACK_API_URL: slack.url,
          SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          SMTP_FROM: 'Flow <flow@example.com>',
        },
      },
    });
    source = uniqueName('subs');
    // Saved before any event, so the worker's first reading of the lifecycle bindings sees the outcome ones.
    await save({
      id: 'shop-releases',
      owner: 'alice',
      on: { source, type: 'transitioned', if: 'event.project == "SHOP"' },
      deliver: { slack: '#releases' },
      message: 'Release ${{ event.issue }} started by ${{ event.user }}',
    });
    await save({
      id: 'release-trouble',
      owner: 'alice',
      on: { definition: 'subs-release', outcomes: ['failed', 'cancelled'] },
      deliver: { slack: `@${ALICE}` },
    });
    await save({ id: 'mail-me', owner: 'bob', on: { source, type: 'mailed' }, deliver: { email: 'bob@example.com' } });
    await save({
      id: 'muted',
      owner: 'carol',
      on: { source, type: 'quiet' },
      deliver: { slack: '#releases', email: 'carol@example.com' },
      muted_until: '2999-01-01T00:00:00Z',
    });
    await save({ id: 'a-nowhere', owner: 'dave', on: { source, type: 'mixed' }, deliver: { slack: '#nowhere' } });
    await save({ id: 'b-releases', owner: 'dave', on: { source, type: 'mixed' }, deliver: { slack: '#releases' } });
    for (const [id, steps] of [
      ['subs-release', [{ id: 'broken', action: 'http.request', with: { url: `${receiver.url}/broken` } }]],
      ['subs-sleeper', [{ id: 'hold', action: 'flow.sleep', with: { duration: '1h' } }]],
      ['subs-plain', [{ id: 'noop', action: 'flow.set', with: { x: 1 } }]],
    ] as const) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send({ id, name: id, on: [{ source, type: id }], steps });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });
  after(async () => {
    await harness?.stop();
    await slack?.stop();
    await smtp?.stop();
    await receiver?.stop();
  });

  it('notifies an event subscription whose if holds, as plain text with its delivery id, and not one whose if is false', async () => {
    const matching = await dispatch(harness, source, 'transitioned', {
      project: 'SHOP',
      issue: 'SHOP-1',
      user: '<!channel> & <https://evil.example|click>',
    });
    const id = deliveryId('shop-releases', matching.eventId);
    assert.deepEqual(matching.result.subscriptions, {
      sent: [{ id: 'shop-releases', channels: ['slack'] }],
      skipped: [],
    });
    const [message, ...more] = deliveredAs(slack, id);
    assert.equal(more.length, 0);
    assert.equal(message?.channel, 'C0RELEASES');
    // User text stays text: no @channel, no link, entities escaped, Slack's markup off.
    assert.equal(message?.text, 'Release SHOP-1 started by &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    assert.deepEqual(message?.formatting, { mrkdwn: 'false', parse: 'none', link_names: 'false' });
    const record = await harness.db.collection<DeliveryRecord>('subscription_deliveries').findOne({ _id: id });
    assert.equal(record?.state, 'sent');
    assert.deepEqual([record?.slack?.state, record?.slack?.state === 'sent' && record.slack.ts], ['sent', message?.ts]);
    // Matched no run: still an unmatched event (FlowMatchedRuns = 0), whose result says whom it notified.
    assert.deepEqual(matching.result.matched, []);
    assert.ok((await historyOf(harness, matching.workflowId)).patches.includes(NOTIFY_SUBSCRIBERS_PATCH));

    const before = slack.messages.length;
    const other = await dispatch(harness, source, 'transitioned', { project: 'OPS', issue: 'OPS-1', user: 'x' });
    assert.deepEqual(other.result.subscriptions, {
      sent: [],
      skipped: [{ id: 'shop-releases', reason: 'if "event.project == \\"SHOP\\"" is false' }],
    });
    assert.equal(slack.messages.length, before);
    const { activities } = await historyOf(harness, other.workflowId);
    assert.ok(!activities.includes('notifySubscribers'), 'a subscription that says no costs no activity');
  });

  it('a redelivered event (the same idempotency key) notifies once', async () => {
    const key = uniqueName('again');
    const first = await dispatch(harness, source, 'transitioned', { project: 'SHOP', issue: 'SHOP-2', user: 'a' }, key);
    const second = await dispatch(
      harness,
      source,
      'transitioned',
      { project: 'SHOP', issue: 'SHOP-2', user: 'a' },
      key,
    );
    assert.equal(second.duplicate, true);
    assert.equal(second.workflowId, first.workflowId);
    assert.equal(deliveredAs(slack, deliveryId('shop-releases', first.eventId)).length, 1);
  });

  it('notifies an outcome subscription when a run fails and when one is cancelled, by DM, through the lifecycle events', async () => {
    const failing = await dispatch(harness, source, 'subs-release', {});
    const run = failing.result.matched[0]!.workflowId;
    await assert.rejects(harness.client.workflow.getHandle(run).result());
    const failedEvent = eventIdFor('flow', lifecycleKey({ workflowId: run, type: 'run_failed' }));
    const failedDispatch = (await harness.client.workflow
      .getHandle(dispatchWorkflowId(failedEvent))
      .result()) as EventDispatchResult;
    assert.deepEqual(failedDispatch.subscriptions?.sent, [{ id: 'release-trouble', channels: ['slack'] }]);
    const [dm] = deliveredAs(slack, deliveryId('release-trouble', failedEvent));
    assert.equal(dm?.channel, `D${ALICE}`);
    assert.match(dm?.text ?? '', new RegExp(`^Run ${run} of subs-release failed: `));

    const sleeping = await dispatch(harness, source, 'subs-sleeper', {});
    const sleeper = sleeping.result.matched[0]!.workflowId;
    // A run of another definition: its run_cancelled is not about subs-release.
    await harness.client.workflow.getHandle(sleeper).cancel();
    await assert.rejects(harness.client.workflow.getHandle(sleeper).result());
    const cancelledEvent = eventIdFor('flow', lifecycleKey({ workflowId: sleeper, type: 'run_cancelled' }));
    const cancelledDispatch = (await harness.client.workflow
      .getHandle(dispatchWorkflowId(cancelledEvent))
      .result()) as EventDispatchResult;
    assert.deepEqual(cancelledDispatch.subscriptions, {
      sent: [],
      skipped: [{ id: 'release-trouble', reason: 'the run is of "subs-sleeper", not subs-release' }],
    });
  });

  it('notifies an outcome subscription on cancelled when its definition’s run is cancelled', async () => {
    const saved = await request(harness.app)
      .put('/api/definitions/subs-release')
      .set('Authorization', harness.auth)
      .send({
        id: 'subs-release',
        name: 'subs-release',
        on: [{ source, type: 'subs-release' }],
        steps: [{ id: 'hold', action: 'flow.sleep', with: { duration: '1h' } }],
      });
    assert.ok(saved.status < 300, JSON.stringify(saved.body));
    const started = await dispatch(harness, source, 'subs-release', {});
    const run = started.result.matched[0]!.workflowId;
    await harness.client.workflow.getHandle(run).cancel();
    await assert.rejects(harness.client.workflow.getHandle(run).result());
    const type: LifecycleType = 'run_cancelled';
    const event = eventIdFor('flow', lifecycleKey({ workflowId: run, type }));
    const dispatched = (await harness.client.workflow
      .getHandle(dispatchWorkflowId(event))
      .result()) as EventDispatchResult;
    assert.deepEqual(dispatched.subscriptions?.sent, [{ id: 'release-trouble', channels: ['slack'] }]);
    const [dm, ...more] = deliveredAs(slack, deliveryId('release-trouble', event));
    assert.equal(more.length, 0);
    assert.equal(dm?.channel, `D${ALICE}`);
    assert.match(dm?.text ?? '', new RegExp(`^Run ${run} of subs-release was cancelled`));
  });

  it('sends one email with the stable Message-ID, and the same one again when a record says an attempt died', async () => {
    const mailed = await dispatch(harness, source, 'mailed', { version: '2.4.0', ok: true, nested: { no: 1 } });
    const id = deliveryId('mail-me', mailed.eventId);
    assert.deepEqual(mailed.result.subscriptions?.sent, [{ id: 'mail-me', channels: ['email'] }]);
    const mails = smtp.received.filter((mail) => mail.mail.messageId === notificationMessageId(id));
    assert.equal(mails.length, 1);
    assert.equal(notificationMessageId(id), `<${id}@flow>`);
    assert.deepEqual(mails[0]!.envelopeTo, ['bob@example.com']);
    assert.equal(mails[0]!.mail.subject, `${source}/mailed arrived (event ${mailed.eventId})`);
    assert.equal(
      mails[0]!.mail.text?.trim(),
      `${source}/mailed arrived (event ${mailed.eventId})\nversion: 2.4.0\nok: true`,
    );
    assert.equal(mails[0]!.mail.headers.get('auto-submitted'), 'auto-generated');

    // An attempt that inserted its record and died: the next one cannot know whether the mail went, so it sends it
    // again with the same Message-ID (the at-least-once window of email).
    const key = uniqueName('died');
    const eventId = eventIdFor(source, key);
    const died = deliveryId('mail-me', eventId);
    await harness.db.collection<DeliveryRecord>('subscription_deliveries').insertOne({
      _id: died,
      subscription: 'mail-me',
      revision: 1,
      eventId,
      state: 'sending',
      startedAt: new Date(),
      updatedAt: new Date(),
    });
    const retried = await dispatch(harness, source, 'mailed', { version: '2.4.1' }, key);
    assert.deepEqual(retried.result.subscriptions?.sent, [{ id: 'mail-me', channels: ['email'] }]);
    assert.equal(smtp.received.filter((mail) => mail.mail.messageId === notificationMessageId(died)).length, 1);
  });

  it('sends nothing to a muted subscription and says so', async () => {
    const before = [slack.messages.length, smtp.received.length];
    const quiet = await dispatch(harness, source, 'quiet', {});
    assert.deepEqual(quiet.result.subscriptions, {
      sent: [],
      skipped: [{ id: 'muted', reason: 'muted until 2999-01-01T00:00:00.000Z' }],
    });
    assert.deepEqual([slack.messages.length, smtp.received.length], before);
  });

  it('records a target that fails for good as failed, without retrying, and delivers the others', async () => {
    const mixed = await dispatch(harness, source, 'mixed', {});
    assert.deepEqual(mixed.result.subscriptions?.sent, [{ id: 'b-releases', channels: ['slack'] }]);
    assert.equal(mixed.result.subscriptions?.failed?.length, 1);
    assert.equal(mixed.result.subscriptions?.failed?.[0]?.id, 'a-nowhere');
    assert.match(mixed.result.subscriptions?.failed?.[0]?.reason ?? '', /slack: .*channel_not_found/);
    assert.equal(deliveredAs(slack, deliveryId('b-releases', mixed.eventId)).length, 1);
    const record = await harness.db
      .collection<DeliveryRecord>('subscription_deliveries')
      .findOne({ _id: deliveryId('a-nowhere', mixed.eventId) });
    assert.equal(record?.state, 'failed');
  });

  it('an event no subscription is bound to records nothing new: no marker, no activity, no field', async () => {
    const plain = await dispatch(harness, source, 'subs-plain', {});
    assert.equal(plain.result.matched.length, 1);
    assert.equal(plain.result.subscriptions, undefined);
    const { patches, activities } = await historyOf(harness, plain.workflowId);
    assert.ok(!patches.includes(NOTIFY_SUBSCRIBERS_PATCH), `patches: ${patches.join(', ')}`);
    assert.ok(!activities.includes('notifySubscribers'));
  });
});

describe('engine: a worker killed while it delivers a notification', function () {
  this.timeout(240_000);
  let harness: Harness;
  let slack: FakeSlack;
  const workers: ManagedProcess[] = [];
  before(async () => {
    slack = await new FakeSlack({ token: SLACK_TOKEN }).start();
    harness = await startHarness({ worker: false });
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await harness?.stop();
    await slack?.stop();
  });

  /** A worker process with the Slack peer's settings. */
  async function startWorker(): Promise<ManagedProcess> {
    const worker = startEntryPoint(
      'workers/main.ts',
      {
        MONGODB_URI: withDatabase(testConfig().mongodb.uri, harness.db.databaseName),
        FLOW_TASK_QUEUE: harness.taskQueue,
        SLACK_TOKEN,
        SLACK_API_URL: slack.url,
      },
      { prefix: '    ' },
    );
    workers.push(worker);
    await worker.waitForMessage(isReadyMessage, 120_000);
    return worker;
  }

  it('finds the message the dead worker posted by its metadata and does not post it again', async () => {
    const source = uniqueName('crash');
    await harness.subscriptions.save(
      { id: 'crash-watch', owner: 'alice', on: { source, type: 'go' }, deliver: { slack: '#releases' } },
      'alice',
    );
    // Slack takes the first post but does not answer it: the worker dies before it can record `sent`.
    slack.holdNextPost();
    const crashing = await startWorker();
    const key = uniqueName('go');
    const posted = await request(harness.app)
      .post(`/events/${source}/go`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send({ n: 1 });
    assert.equal(posted.status, 202);
    const id = deliveryId('crash-watch', eventIdFor(source, key));
    await eventually(() => (slack.heldCount > 0 ? true : undefined), 60_000, 'the post to be held');
    assert.equal(deliveredAs(slack, id).length, 1);
    const record = await harness.db.collection<DeliveryRecord>('subscription_deliveries').findOne({ _id: id });
    assert.equal(record?.state, 'sending');

    crashing.child.kill('SIGKILL');
    await crashing.exited;
    await startWorker();
    const result = (await harness.client.workflow
      .getHandle(posted.body.workflowId as string)
      .result()) as EventDispatchResult;
    assert.deepEqual(result.subscriptions?.sent, [{ id: 'crash-watch', channels: ['slack'] }]);
    assert.equal(deliveredAs(slack, id).length, 1, 'exactly one message at the peer');
    assert.ok(
      slack.requests.some((req) => req.apiMethod === 'conversations.history'),
      'the retry looked for it in the history',
    );
    const after = await harness.db.collection<DeliveryRecord>('subscription_deliveries').findOne({ _id: id });
    assert.equal(after?.state, 'sent');
  });
});
