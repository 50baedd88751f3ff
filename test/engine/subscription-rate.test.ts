import assert from 'node:assert/strict';
import request from 'supertest';
import {
  digestDeliveryId,
  digestWorkflowId,
  MUTE_LABEL,
  notificationLinks,
  NOTIFICATION_METADATA_TYPE,
  notifySubscribers,
  SubscriptionDeliveries,
  startSubscriptionDigest,
  UNSUBSCRIBE_LABEL,
  type DeliveryRecord,
  type DigestResult,
  type NotifyDeps,
  type RateSettings,
} from '../../activities/subscriptions';
import type { EventDispatchResult } from '../../common/event-waits';
import type { FlowEvent } from '../../common/run-types';
import { SUBSCRIPTION_LINK_PATH } from '../../common/subscription-links';
import { deliveryId, type NotifyResult, type SubscriptionSnapshot } from '../../common/subscriptions';
import { eventIdFor } from '../../intake';
import { openMongo, type MongoHandle } from '../../registry';
import { FakeSlack, type PostedMessage } from '../support/fake-slack';
import { startHarness, type Harness } from '../support/harness';
import { SmtpReceiver } from '../support/smtp-receiver';
import { testConfig, uniqueName } from '../support/stack';

const SLACK_TOKEN = 'xoxb-rate-test-token';
const LINK_SECRET = 'a-subscription-link-secret-of-at-least-32-characters';
const PUBLIC_URL = 'https://flow.example.test';
/** The rate windows of these tests: the code path of production's minute, shorter. */
const RATE: RateSettings = { windowMs: 12_000, graceMs: 500 };

/** The messages at the peer that carry the delivery id `id` in their metadata. */
function deliveredAs(slack: FakeSlack, id: string): PostedMessage[] {
  return slack.messages.filter(
    (message) =>
      message.metadata?.event_type === NOTIFICATION_METADATA_TYPE && message.metadata.event_payload['delivery'] === id,
  );
}

/** Waits until the current rate window has at least `ms` left, so a burst lands in one window. */
async function windowWithRoom(ms: number): Promise<void> {
  const windowMs = RATE.windowMs!;
  const left = windowMs - (Date.now() % windowMs);
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/** The delivery records of a subscription's notifications of `eventIds`. */
async function recordsOf(
  harness: Harness,
  subscription: string,
  eventIds: readonly string[],
): Promise<DeliveryRecord[]> {
  const records = harness.db.collection<DeliveryRecord>('subscription_deliveries');
  const found = await Promise.all(eventIds.map((id) => records.findOne({ _id: deliveryId(subscription, id) })));
  return found.map((record, index) => {
    assert.ok(record, `a delivery record for ${eventIds[index]}`);
    return record;
  });
}

/** Per window of the records: how many were sent and how many held back. */
function byWindow(records: readonly DeliveryRecord[]): Map<string, { sent: number; held: number }> {
  const windows = new Map<string, { sent: number; held: number }>();
  for (const record of records) {
    assert.ok(record.rate, `record ${record._id} has its rate decision`);
    const counts = windows.get(record.rate.minute) ?? { sent: 0, held: 0 };
    if (record.rate.held) {
      assert.equal(record.state, 'held');
      counts.held++;
    } else {
      assert.equal(record.state, 'sent');
      counts.sent++;
    }
    windows.set(record.rate.minute, counts);
  }
  return windows;
}

describe('engine: a noisy event does not flood anyone (rate limit and digests)', function () {
  this.timeout(240_000);
  let harness: Harness;
  let slack: FakeSlack;
  let smtp: SmtpReceiver;
  let mongo: MongoHandle;
  let source: string;

  before(async () => {
    slack = await new FakeSlack({ token: SLACK_TOKEN }).start();
    smtp = await new SmtpReceiver({ user: 'flow', pass: 'pw' }).start();
    harness = await startHarness({
      deps: {
        env: {
          SLACK_TOKEN,
          SLACK_API_URL: slack.url,
          SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          SMTP_FROM: 'Flow <flow@example.com>',
          FLOW_PUBLIC_URL: PUBLIC_URL,
          FLOW_SUBSCRIPTION_LINK_SECRET: LINK_SECRET,
        },
        subscriptionRate: RATE,
      },
      gateway: { subscriptionLinks: { secret: LINK_SECRET } },
    });
    mongo = openMongo({ uri: testConfig().mongodb.uri, database: harness.db.databaseName });
    source = uniqueName('rate');
  });
  after(async () => {
    await harness?.stop();
    await mongo?.close();
    await slack?.stop();
    await smtp?.stop();
  });

  const env = {
    SLACK_TOKEN: '',
    SLACK_API_URL: '',
    FLOW_PUBLIC_URL: PUBLIC_URL,
    FLOW_SUBSCRIPTION_LINK_SECRET: LINK_SECRET,
  };
  /** The notify activity as the worker wires it (workers/create-worker.ts), on the harness's queue and database. */
  function notifyDeps(): NotifyDeps {
    Object.assign(env, { SLACK_TOKEN, SLACK_API_URL: slack.url });
    return {
      env,
      fetch: globalThis.fetch,
      deliveries: new SubscriptionDeliveries(mongo),
      startDigest: (digest) =>
        startSubscriptionDigest({ client: harness.client, taskQueue: harness.taskQueue }, digest),
      rate: RATE,
    };
  }

  async function snapshotOf(type: string, id: string): Promise<SubscriptionSnapshot> {
    const found = (await harness.subscriptions.findForEvent(source, type)).find((snapshot) => snapshot.id === id);
    assert.ok(found, `the snapshot of ${id}`);
    return found;
  }

  function eventOf(type: string, n: number): FlowEvent {
    const id = eventIdFor(source, `${type}-${n}`);
    return {
      id,
      source,
      type,
      body: { n },
      receivedAt: new Date().toISOString(),
      causation: { rootEventId: id, depth: 0 },
    };
  }

  it('holds back what the dispatchers of a burst notify beyond the limit, and one digest a window counts it', async () => {
    await harness.subscriptions.save(
      {
        id: 'noisy',
        owner: 'alice',
        on: { source, type: 'burst' },
        deliver: { slack: '#releases' },
        rate_per_minute: 3,
      },
      'alice',
    );
    await windowWithRoom(9_000);
    const posted = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        request(harness.app)
          .post(`/events/${source}/burst`)
          .set('Authorization', harness.auth)
          .set('Idempotency-Key', `burst-${n}`)
          .send({ n }),
      ),
    );
    const results = await Promise.all(
      posted.map(async (res) => {
        assert.equal(res.status, 202, JSON.stringify(res.body));
        return (await harness.client.workflow.getHandle(res.body.workflowId as string).result()) as EventDispatchResult;
      }),
    );
    const sent = results.filter((result) => result.subscriptions?.sent.some((entry) => entry.id === 'noisy'));
    const held = results.filter((result) =>
      result.subscriptions?.skipped.some(
        (entry) => entry.id === 'noisy' && /^held back for the digest/.test(entry.reason),
      ),
    );
    assert.equal(sent.length + held.length, 12);

    const records = await recordsOf(
      harness,
      'noisy',
      Array.from({ length: 12 }, (_, n) => eventIdFor(source, `burst-${n}`)),
    );
    const windows = byWindow(records);
    assert.ok(
      [...windows.values()].some((counts) => counts.held > 0),
      'something was held back',
    );
    for (const [minute, counts] of windows) {
      assert.ok(counts.sent <= 3, `at most the limit sent in the window from ${minute}: ${counts.sent}`);
      const notifications = records.filter((record) => record.rate?.minute === minute && !record.rate.held);
      for (const record of notifications) assert.equal(deliveredAs(slack, record._id).length, 1);
      if (counts.held === 0) continue;
      const digest = (await harness.client.workflow
        .getHandle(digestWorkflowId('noisy', minute))
        .result()) as DigestResult;
      assert.deepEqual(digest, { held: counts.held, sent: ['slack'] });
      const [message, ...more] = deliveredAs(slack, digestDeliveryId('noisy', minute));
      assert.equal(more.length, 0, 'one digest a window');
      assert.match(
        message?.text ?? '',
        new RegExp(
          `^${counts.held} more notifications of ${source}/burst in the minute from \\d\\d:\\d\\d(:\\d\\d)? UTC were held back \\(limit 3 a minute\\)\\n${UNSUBSCRIBE_LABEL}: ${PUBLIC_URL}/`,
        ),
      );
    }
  });

  it('100 notifications at once with the default limit: 10 a window sent, the rest in its digest; a retry counts nothing twice', async () => {
    await harness.subscriptions.save(
      { id: 'firehose', owner: 'bob', on: { source, type: 'firehose' }, deliver: { slack: '#releases' } },
      'bob',
    );
    const subscription = await snapshotOf('firehose', 'firehose');
    assert.equal(subscription.ratePerMinute, 10);
    const deps = notifyDeps();
    const events = Array.from({ length: 100 }, (_, n) => eventOf('firehose', n));
    await windowWithRoom(10_000);
    // Every notification its own activity, all at once: they race for the same window.
    const first = await Promise.all(
      events.map((event) => notifySubscribers(deps, { event, subscriptions: [subscription] })),
    );
    const records = await recordsOf(
      harness,
      'firehose',
      events.map((event) => event.id),
    );
    const windows = byWindow(records);
    const outcome = (result: NotifyResult): string =>
      result.sent.length > 0
        ? 'sent'
        : (result.skipped[0]?.reason ?? 'failed').startsWith('held back')
          ? 'held'
          : 'other';
    assert.deepEqual(
      first.filter((result) => outcome(result) === 'other'),
      [],
    );

    // Retried, every one: the records give the same decisions, nothing is sent or counted again.
    const before = slack.messages.length;
    const again = await Promise.all(
      events.map((event) => notifySubscribers(deps, { event, subscriptions: [subscription] })),
    );
    assert.equal(slack.messages.length, before);
    assert.ok(again.every((result) => result.sent.length === 0 && result.skipped.length === 1));
    // An attempt that died after taking its slot and before writing its decision: the retry finds its slot.
    const victim = records.find((record) => record.rate?.held)!;
    await harness.db
      .collection<DeliveryRecord>('subscription_deliveries')
      .updateOne({ _id: victim._id }, { $set: { state: 'sending' }, $unset: { rate: '' } });
    const retried = await notifySubscribers(deps, {
      event: events.find((event) => deliveryId('firehose', event.id) === victim._id)!,
      subscriptions: [subscription],
    });
    assert.match(retried.skipped[0]?.reason ?? '', /^held back for the digest .* \(limit 10 a minute\)$/);
    const slots = harness.db.collection<{ _id: string; delivery?: string }>('subscription_windows');
    assert.equal(
      (await slots.find({ subscription: 'firehose' }).toArray()).filter((slot) => slot.delivery !== undefined).length,
      100,
      'one slot per notification, however often retried',
    );

    for (const [minute, counts] of windows) {
      assert.ok(counts.sent <= 10, `at most the limit in the window from ${minute}: ${counts.sent}`);
      if (counts.held === 0) continue;
      const digest = (await harness.client.workflow
        .getHandle(digestWorkflowId('firehose', minute))
        .result()) as DigestResult;
      assert.equal(digest.held, counts.held, 'the digest counts what its window held back');
      assert.equal(deliveredAs(slack, digestDeliveryId('firehose', minute)).length, 1);
    }
    const sentAtPeer = records.filter((record) => !record.rate?.held);
    assert.equal(
      sentAtPeer.reduce((sum, record) => sum + deliveredAs(slack, record._id).length, 0),
      sentAtPeer.length,
    );
    assert.equal(
      [...windows.values()].reduce((sum, counts) => sum + counts.held, 0),
      100 - sentAtPeer.length,
    );
  });

  it('two notify activities at once for a subscription with a limit of one: one sent, one held back', async () => {
    await harness.subscriptions.save(
      { id: 'pair', owner: 'carol', on: { source, type: 'pair' }, deliver: { slack: '#releases' }, rate_per_minute: 1 },
      'carol',
    );
    const subscription = await snapshotOf('pair', 'pair');
    await windowWithRoom(6_000);
    const deps = notifyDeps();
    const results = await Promise.all(
      [0, 1].map((n) => notifySubscribers(deps, { event: eventOf('pair', n), subscriptions: [subscription] })),
    );
    assert.deepEqual(results.map((result) => result.sent.length).sort(), [0, 1]);
    const minute = (await recordsOf(harness, 'pair', [eventOf('pair', 0).id]))[0]!.rate!.minute;
    const digest = (await harness.client.workflow.getHandle(digestWorkflowId('pair', minute)).result()) as DigestResult;
    assert.deepEqual(digest, { held: 1, sent: ['slack'] });
    assert.match(
      deliveredAs(slack, digestDeliveryId('pair', minute))[0]?.text ?? '',
      new RegExp(
        `^1 more notification of ${source}/pair in the minute from .* UTC was held back \\(limit 1 a minute\\)`,
      ),
    );
  });

  it('every notification carries its unsubscribe and mute links (Slack text, email body and List-Unsubscribe headers), and the unsubscribe link works', async () => {
    await harness.subscriptions.save(
      {
        id: 'linked',
        owner: 'dave',
        on: { source, type: 'linked' },
        deliver: { slack: '#releases', email: 'dave@example.com' },
      },
      'dave',
    );
    const posted = await request(harness.app)
      .post(`/events/${source}/linked`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', 'linked-1')
      .send({ version: '1.0' });
    assert.equal(posted.status, 202);
    const result = (await harness.client.workflow
      .getHandle(posted.body.workflowId as string)
      .result()) as EventDispatchResult;
    assert.deepEqual(result.subscriptions?.sent, [{ id: 'linked', channels: ['slack', 'email'] }]);
    const id = deliveryId('linked', eventIdFor(source, 'linked-1'));
    const linkPattern = (label: string): RegExp =>
      new RegExp(`^${label}: (${PUBLIC_URL}${SUBSCRIPTION_LINK_PATH}[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)$`, 'm');

    const [message] = deliveredAs(slack, id);
    const unsubscribe = linkPattern(UNSUBSCRIBE_LABEL).exec(message?.text ?? '')?.[1];
    const mute = linkPattern(MUTE_LABEL).exec(message?.text ?? '')?.[1];
    assert.ok(unsubscribe && mute && unsubscribe !== mute, message?.text);

    const mail = smtp.received.find((received) => received.envelopeTo.includes('dave@example.com'));
    assert.ok(mail);
    assert.equal(linkPattern(UNSUBSCRIBE_LABEL).exec(mail.mail.text ?? '')?.[1], unsubscribe);
    assert.equal(linkPattern(MUTE_LABEL).exec(mail.mail.text ?? '')?.[1], mute);
    // As sent: mailparser folds List-* headers into an object, so the raw lines are read.
    const header = (name: string): string | undefined =>
      mail.mail.headerLines
        .find((line) => line.key === name)
        ?.line.slice(name.length + 1)
        .replace(/\r?\n\s+/g, ' ')
        .trim();
    assert.equal(header('list-unsubscribe'), `<${unsubscribe}>`);
    assert.equal(header('list-unsubscribe-post'), 'List-Unsubscribe=One-Click');

    // Followed at the gateway: the page asks and changes nothing; its button deletes the subscription.
    const path = unsubscribe.slice(PUBLIC_URL.length);
    const page = await request(harness.app).get(path);
    assert.equal(page.status, 200);
    assert.match(page.text, /Unsubscribe\?/);
    assert.ok(await harness.subscriptions.get('linked'));
    const confirmed = await request(harness.app).post(path).type('form').send({});
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(await harness.subscriptions.get('linked'), null);
  });
});

describe('subscriptions: notifications without a link secret', () => {
  it('carry no links, and the worker says why once', () => {
    const warnings: string[] = [];
    const env = { FLOW_PUBLIC_URL: PUBLIC_URL };
    const subscription = { id: 'quiet', generation: 'g1' };
    for (let n = 0; n < 3; n++) {
      assert.deepEqual(
        notificationLinks(subscription, `quiet/e${n}`, env, (message) => warnings.push(message)),
        { links: [] },
      );
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /without unsubscribe and mute links: FLOW_SUBSCRIPTION_LINK_SECRET is not set/);
    const linked = notificationLinks(subscription, 'quiet/e1', { ...env, FLOW_SUBSCRIPTION_LINK_SECRET: LINK_SECRET });
    assert.deepEqual(
      linked.links.map((link) => link.label),
      [UNSUBSCRIBE_LABEL, MUTE_LABEL],
    );
    assert.equal(linked.listUnsubscribe?.url, linked.links[0]!.url);
  });
});
