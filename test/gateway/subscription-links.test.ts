import assert from 'node:assert/strict';
import type { Connection } from '@temporalio/client';
import express, { type Express } from 'express';
import request from 'supertest';
import { actionsById } from '../../activities';
import { buildSubscriptionLinks } from '../../common/subscription-links';
import { deliveryId, type Subscription } from '../../common/subscriptions';
import { createApp } from '../../gateway/app';
import { subscriptionLinksRouter } from '../../gateway/subscription-links-router';
import { webhookAdapters } from '../../gateway/webhooks/adapters';
import { DefinitionStore, openMongo, SubscriptionStore, type MongoHandle } from '../../registry';
import { connectClient, testConfig, uniqueName } from '../support/stack';

const SECRET = 'the-link-secret-of-these-tests-0123456789';
const DAY = 24 * 60 * 60 * 1000;

const subscription = (id: string, overrides: Partial<Subscription> = {}): Subscription => ({
  id,
  owner: 'alice',
  on: { source: 'jira', type: 'issue_transitioned', if: 'event.to == "Start Release"' },
  deliver: { slack: '@alice', email: 'alice@example.com' },
  message: 'Release for ${{ event.issue }} started',
  ...overrides,
});

/** The path of a link's URL (the tests talk to the app, not to the public URL). */
const pathOf = (url: string): string => new URL(url).pathname;

describe('gateway: one-click subscription links', () => {
  let mongo: MongoHandle;
  let connection: Connection;
  let app: Express;
  let store: SubscriptionStore;
  before(async () => {
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('sublinks').replace(/-/g, '_')}`,
    });
    const catalog = actionsById();
    store = new SubscriptionStore(mongo);
    const client = await connectClient();
    connection = client.connection;
    app = createApp({
      health: {},
      apiToken: uniqueName('token'),
      store: new DefinitionStore(mongo, catalog),
      subscriptions: store,
      subscriptionLinks: { secret: SECRET, ratePerMinute: 10_000 },
      catalog,
      intake: { client: client.client, taskQueue: uniqueName('tq') },
      webhooks: { adapters: webhookAdapters, env: {} },
    });
  });
  after(async () => {
    await connection?.close();
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });

  /** Saves a subscription and builds the links of one notification of it. */
  async function notified(id: string, overrides: Partial<Subscription> = {}, eventId = uniqueName('event')) {
    const saved = await store.save(subscription(id, overrides), 'alice');
    const links = buildSubscriptionLinks({
      publicUrl: 'https://flow.example.com',
      secret: SECRET,
      subscription: id,
      deliveryId: deliveryId(id, eventId),
      generation: saved.subscription.generation,
    });
    return { unsubscribe: pathOf(links.unsubscribe), mute: pathOf(links.mute), saved: saved.subscription };
  }

  function assertSafeHeaders(response: request.Response): void {
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.equal(
      response.headers['content-security-policy'],
      "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  }

  it('shows what an unsubscribe link will do without signing in, changing nothing; the POST acts once', async () => {
    const { unsubscribe, saved } = await notified('alice-shop');
    const page = await request(app).get(unsubscribe);
    assert.equal(page.status, 200, page.text);
    assertSafeHeaders(page);
    assert.match(page.text, /<h1>Unsubscribe\?<\/h1>/);
    assert.match(
      page.text,
      /Stop notifications of “jira\/issue_transitioned” events where event.to == &quot;Start Release&quot; to Slack @alice and alice@example.com\?/,
    );
    assert.match(page.text, /<form method="post"><button type="submit">Unsubscribe<\/button><\/form>/);
    // A second look (a link scanner, a preview) still changes nothing.
    assert.equal((await request(app).get(unsubscribe)).status, 200);
    assert.equal((await store.get('alice-shop'))?.revision, saved.revision);
    assert.equal(await mongo.db.collection('subscription_link_uses').countDocuments(), 0);

    const done = await request(app).post(unsubscribe).type('form').send('');
    assert.equal(done.status, 200, done.text);
    assertSafeHeaders(done);
    assert.match(done.text, /<h1>You are unsubscribed<\/h1>/);
    assert.equal(await store.get('alice-shop'), null);
    assert.equal(
      (await mongo.db.collection('subscriptions').findOne({ _id: 'alice-shop' as never }))?.author,
      'unsubscribe link',
    );

    const again = await request(app).post(unsubscribe);
    assert.equal(again.status, 200);
    assert.match(again.text, /This link was already used\./);
    assert.match(again.text, /You are unsubscribed\./);
    const look = await request(app).get(unsubscribe);
    assert.match(look.text, /This link was already used/);
    assert.doesNotMatch(look.text, /<form/);
  });

  it('mutes for a day, once; the same notification’s unsubscribe link still works after the mute', async () => {
    const { mute, unsubscribe } = await notified('alice-mute');
    const page = await request(app).get(mute);
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /Pause notifications of .* for a day, until \d{4}-\d\d-\d\dT/);
    assert.equal((await store.get('alice-mute'))?.subscription.muted_until, undefined);

    const before = Date.now();
    const done = await request(app).post(mute);
    assert.equal(done.status, 200, done.text);
    assert.match(done.text, /<h1>Muted for a day<\/h1>/);
    const stored = await store.get('alice-mute');
    const until = Date.parse(stored?.subscription.muted_until ?? '');
    assert.ok(until >= before + DAY && until <= Date.now() + DAY, `muted until ${stored?.subscription.muted_until}`);
    assert.equal(stored?.author, 'mute link');

    const again = await request(app).post(mute);
    assert.match(again.text, /This link was already used\./);
    assert.match(again.text, new RegExp(`It muted the subscription until ${stored?.subscription.muted_until}`));
    assert.equal((await store.get('alice-mute'))?.revision, stored?.revision, 'the second use changed nothing');

    // The mute moved the revision; the links name the generation, so unsubscribe from the same message still works.
    const unsubscribed = await request(app).post(unsubscribe);
    assert.match(unsubscribed.text, /<h1>You are unsubscribed<\/h1>/);
    assert.equal(await store.get('alice-mute'), null);
  });

  it('does not shorten a longer mute, and of two concurrent uses of one link exactly one acts', async () => {
    const later = new Date(Date.now() + 7 * DAY).toISOString();
    const { mute } = await notified('alice-long-mute', { muted_until: later });
    const [first, second] = await Promise.all([request(app).post(mute), request(app).post(mute)]);
    const texts = [first.text, second.text];
    assert.equal(texts.filter((text) => /<h1>Muted for a day<\/h1>/.test(text)).length, 1, texts.join('\n'));
    assert.equal(texts.filter((text) => /This link was already used/.test(text)).length, 1);
    assert.equal((await store.get('alice-long-mute'))?.subscription.muted_until, later);
  });

  it('refuses a tampered signature, a changed payload, an expired and a damaged link, changing nothing', async () => {
    const { unsubscribe, mute, saved } = await notified('alice-tamper');
    const [prefix = '', signature = ''] = unsubscribe.split('.');
    const flipped = `${prefix}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    // The mute link's signature on the unsubscribe link's payload.
    const swapped = `${prefix}.${mute.split('.')[1]}`;
    const expired = pathOf(
      buildSubscriptionLinks({
        publicUrl: 'https://flow.example.com',
        secret: SECRET,
        subscription: 'alice-tamper',
        deliveryId: deliveryId('alice-tamper', 'e1'),
        generation: saved.generation,
        expiresAt: new Date(Date.now() - 1000),
      }).unsubscribe,
    );
    const cases: [string, number, RegExp][] = [
      [flipped, 403, /not signed by this Flow, or it was changed/],
      [swapped, 403, /not signed by this Flow, or it was changed/],
      [expired, 403, /This link has expired/],
      ['/subscriptions/links/not-a-token', 400, /incomplete or damaged/],
    ];
    for (const [path, status, message] of cases) {
      for (const method of ['get', 'post'] as const) {
        const response = await request(app)[method](path).type('form').send('List-Unsubscribe=One-Click');
        assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
        assertSafeHeaders(response);
        assert.match(response.text, /<h1>This link is not valid<\/h1>/);
        assert.match(response.text, message);
        assert.match(response.text, /Nothing was changed/);
      }
    }
    const stored = await store.get('alice-tamper');
    assert.equal(stored?.revision, saved.revision);
    assert.equal(stored?.subscription.muted_until, undefined);
    assert.equal(
      await mongo.db.collection('subscription_link_uses').countDocuments({ subscription: 'alice-tamper' }),
      0,
    );
  });

  it('does not act on a subscription deleted and created again under the same id', async () => {
    const { unsubscribe, mute } = await notified('alice-again');
    await store.delete('alice-again', 'alice');
    const recreated = await store.save(subscription('alice-again', { deliver: { email: 'new@example.com' } }), 'alice');

    const look = await request(app).get(unsubscribe);
    assert.equal(look.status, 200);
    assert.match(look.text, /no longer exists/);
    assert.doesNotMatch(look.text, /<form|new@example\.com/);
    const posted = await request(app).post(unsubscribe);
    assert.match(posted.text, /<h1>You are unsubscribed<\/h1>/);
    assert.match(posted.text, /no longer exists/);
    const muted = await request(app).post(mute);
    assert.equal(muted.status, 404);
    assert.match(muted.text, /no longer exists, so there is nothing to mute/);

    const after = await store.get('alice-again');
    assert.equal(after?.revision, recreated.subscription.revision, 'the new subscription is untouched');
    assert.equal(after?.subscription.muted_until, undefined);
  });

  it('unsubscribes on an RFC 8058 one-click POST, as mail providers send it', async () => {
    const { unsubscribe } = await notified('alice-one-click');
    const response = await request(app)
      .post(unsubscribe)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('List-Unsubscribe=One-Click');
    assert.equal(response.status, 200, response.text);
    assert.match(response.text, /You are unsubscribed/);
    assert.equal(await store.get('alice-one-click'), null);

    // Multipart, as RFC 8058 also allows: any POST acts.
    const { unsubscribe: other } = await notified('alice-one-click-multipart');
    const multipart = await request(app).post(other).field('List-Unsubscribe', 'One-Click');
    assert.equal(multipart.status, 200, multipart.text);
    assert.equal(await store.get('alice-one-click-multipart'), null);
  });

  it('renders hostile ids, targets, conditions and messages as text', async () => {
    const hostile = '<script>alert(1)</script>';
    const id = 'x"><img-src=x';
    const { unsubscribe } = await notified(id, {
      owner: `eve${hostile}`,
      on: { source: 'a<b>', type: 'c</p><iframe>', if: `event.x == "${hostile}"` },
      deliver: { slack: '#<b>release</b>', email: 'x@example.com' },
      message: `${hostile}<a href="javascript:alert(1)">click</a>&amp;`,
    });
    const page = await request(app).get(unsubscribe);
    assert.equal(page.status, 200, page.text);
    for (const tag of ['<script', '<img', '<b>', '<iframe', '<a ', '</p><']) assert.ok(!page.text.includes(tag), tag);
    assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(page.text.includes('x&quot;&gt;&lt;img-src=x'));
    assert.ok(page.text.includes('&amp;amp;'));
    // The only tags are the page's own.
    const tags = new Set([...page.text.matchAll(/<\/?([a-z0-9!]+)/gi)].map((match) => match[1]!.toLowerCase()));
    assert.deepEqual([...tags].sort(), [
      '!doctype',
      'body',
      'button',
      'dd',
      'dl',
      'dt',
      'form',
      'h1',
      'head',
      'html',
      'main',
      'meta',
      'p',
      'title',
    ]);
  });

  it('answers every link "not set up" without a secret, and limits requests per address', async () => {
    const { unsubscribe } = await notified('alice-limits');
    const bare = (options: { secret?: string; ratePerMinute?: number }): Express =>
      express().use(subscriptionLinksRouter({ subscriptions: store, ...options }));
    const unset = await request(bare({})).post(unsubscribe);
    assert.equal(unset.status, 503);
    assert.match(unset.text, /FLOW_SUBSCRIPTION_LINK_SECRET/);
    assert.ok(await store.get('alice-limits'));

    const limited = bare({ secret: SECRET, ratePerMinute: 2 });
    assert.equal((await request(limited).get(unsubscribe)).status, 200);
    assert.equal((await request(limited).get('/subscriptions/links/x.y')).status, 403);
    const refused = await request(limited).post(unsubscribe);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '60');
    assert.match(refused.text, /Too many requests/);
    assert.ok(await store.get('alice-limits'), 'nothing changed');
  });
});
