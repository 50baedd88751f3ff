import assert from 'node:assert/strict';
import type { Connection } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import { actionsById } from '../../activities';
import { parseApiTokens } from '../../config';
import { createApp } from '../../gateway/app';
import { webhookAdapters } from '../../gateway/webhooks/adapters';
import { DefinitionStore, openMongo, SubscriptionStore, type MongoHandle } from '../../registry';
import { connectClient, testConfig, uniqueName } from '../support/stack';

/** Besides the main write token (`api-token`): alice and bob may only read, ops may write. */
const ALICE = 'alices-read-token-0123456789';
const BOB = 'bobs-read-token-0123456789';
const OPS = 'ops-write-token-0123456789';

const alicesEvent = {
  on: { source: 'jira', type: 'issue_transitioned', if: 'event.project == "SHOP" && event.to == "Start Release"' },
  deliver: { slack: '@alice', email: 'alice@example.com' },
  message: 'Release for ${{ event.issue }} started by ${{ event.user }}',
};

describe('gateway: /api/subscriptions', () => {
  let mongo: MongoHandle;
  let connection: Connection;
  let app: Express;
  let mainToken: string;
  let subscriptions: SubscriptionStore;
  before(async () => {
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('subapi').replace(/-/g, '_')}`,
    });
    const catalog = actionsById();
    const store = new DefinitionStore(mongo, catalog);
    subscriptions = new SubscriptionStore(mongo);
    const client = await connectClient();
    connection = client.connection;
    mainToken = uniqueName('token');
    app = createApp({
      health: {},
      apiToken: mainToken,
      extraTokens: parseApiTokens({ FLOW_API_TOKENS: `alice:read:${ALICE}, bob:read:${BOB}, ops:write:${OPS}` }),
      store,
      subscriptions,
      catalog,
      intake: { client: client.client, taskQueue: uniqueName('tq') },
      webhooks: { adapters: webhookAdapters, env: {} },
    });
    await store.save(
      {
        id: 'release',
        name: 'Release',
        enabled: true,
        on: [{ source: 'jira', type: 'issue_transitioned' }],
        steps: [{ id: 'noop', action: 'flow.set', with: {} }],
      },
      { format: 'json' },
    );
  });
  after(async () => {
    await connection?.close();
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });
  const as = (token: string) => ({
    get: (path: string) => request(app).get(path).set('Authorization', `Bearer ${token}`),
    put: (path: string) => request(app).put(path).set('Authorization', `Bearer ${token}`),
    post: (path: string) => request(app).post(path).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => request(app).delete(path).set('Authorization', `Bearer ${token}`),
  });

  it('lets a read token create, change and delete its own subscription, owned by it', async () => {
    const created = await as(ALICE).put('/api/subscriptions/alice-shop-releases').send(alicesEvent);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.subscription, { id: 'alice-shop-releases', owner: 'alice', ...alicesEvent });
    assert.deepEqual([created.body.revision, created.body.author, created.body.created], [1, 'alice', true]);

    const same = await as(ALICE).put('/api/subscriptions/alice-shop-releases').send(alicesEvent);
    assert.deepEqual([same.status, same.body.unchanged, same.body.revision], [200, true, 1]);

    const yaml = [
      'on: { definition: release, outcomes: [failed, cancelled] }',
      "deliver: { slack: '#releases' }",
      'rate_per_minute: 5',
      'owner: alice',
    ].join('\n');
    const changed = await as(ALICE)
      .put('/api/subscriptions/alice-shop-releases')
      .set('Content-Type', 'application/yaml')
      .send(yaml);
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual([changed.body.revision, changed.body.unchanged], [2, false]);
    assert.deepEqual(
      (await subscriptions.findForEvent('flow', 'run_failed')).map((s) => s.id),
      ['alice-shop-releases'],
    );
    assert.deepEqual(await subscriptions.findForEvent('jira', 'issue_transitioned'), []);

    const read = await as(BOB).get('/api/subscriptions/alice-shop-releases');
    assert.equal(read.status, 200, 'any read token reads every subscription');
    assert.equal(read.body.subscription.rate_per_minute, 5);

    const deleted = await as(ALICE).delete('/api/subscriptions/alice-shop-releases');
    assert.deepEqual(
      [deleted.status, deleted.body],
      [200, { id: 'alice-shop-releases', deleted: true, lastRevision: 2 }],
    );
    assert.equal((await as(ALICE).get('/api/subscriptions/alice-shop-releases')).status, 404);
  });

  it("refuses a read token another's subscription with 403 saying why, and lets a write token manage anyone's", async () => {
    assert.equal((await as(ALICE).put('/api/subscriptions/alice-only').send(alicesEvent)).status, 201);

    const change = await as(BOB).put('/api/subscriptions/alice-only').send(alicesEvent);
    assert.equal(change.status, 403);
    assert.match(change.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.match(change.body.detail, /belongs to "alice".*read scope.*own subscriptions/);
    const remove = await as(BOB).delete('/api/subscriptions/alice-only');
    assert.equal(remove.status, 403);
    const forOther = await as(BOB)
      .put('/api/subscriptions/bob-for-alice')
      .send({ ...alicesEvent, owner: 'alice' });
    assert.equal(forOther.status, 403);
    assert.match(forOther.body.detail, /read scope.*only its own subscriptions/);
    assert.equal((await as(BOB).get('/api/subscriptions/bob-for-alice')).status, 404, 'nothing stored');
    const still = await as(BOB).get('/api/subscriptions/alice-only');
    assert.deepEqual([still.body.revision, still.body.subscription.owner], [1, 'alice']);

    // A write token changes alice's and keeps her the owner, creates one for bob, and deletes alice's.
    const ops = await as(OPS)
      .put('/api/subscriptions/alice-only')
      .send({ ...alicesEvent, rate_per_minute: 2 });
    assert.equal(ops.status, 200, JSON.stringify(ops.body));
    assert.deepEqual([ops.body.subscription.owner, ops.body.author, ops.body.revision], ['alice', 'ops', 2]);
    const forBob = await as(OPS)
      .put('/api/subscriptions/ops-for-bob')
      .send({ ...alicesEvent, deliver: { slack: '@bob' }, owner: 'bob' });
    assert.equal(forBob.status, 201);
    assert.equal(forBob.body.subscription.owner, 'bob');
    assert.equal((await as(BOB).delete('/api/subscriptions/ops-for-bob')).status, 200, 'bob deletes what is his');
    assert.equal((await as(OPS).delete('/api/subscriptions/alice-only')).status, 200);
    assert.equal((await as(OPS).delete('/api/subscriptions/alice-only')).status, 404);
  });

  it('answers 422 with paths and stores nothing for bad CEL, an unknown outcome or definition, a header injection, a bad Slack target', async () => {
    const cases: [string, Record<string, unknown>, string[], RegExp][] = [
      ['bad-cel', { ...alicesEvent, on: { source: 'jira', type: 'x', if: 'event.to ==' } }, ['on.if'], /./],
      [
        'reads-steps',
        { ...alicesEvent, on: { source: 'jira', type: 'x', if: 'steps.a.output == 1' } },
        ['on.if'],
        /not steps/,
      ],
      [
        'bad-outcome',
        { ...alicesEvent, on: { definition: 'release', outcomes: ['failed', 'exploded'] } },
        ['on.outcomes[1]'],
        /"exploded" is not an outcome/,
      ],
      [
        'no-definition',
        { ...alicesEvent, on: { definition: 'nope', outcomes: ['failed'] } },
        ['on.definition'],
        /no definition "nope"/,
      ],
      [
        'injection',
        { ...alicesEvent, deliver: { email: 'alice@example.com\r\nBcc: everyone@example.com' } },
        ['deliver.email'],
        /line break/,
      ],
      [
        'two-addresses',
        { ...alicesEvent, deliver: { email: 'a@example.com, b@example.com' } },
        ['deliver.email'],
        /one address/,
      ],
      ['bad-slack', { ...alicesEvent, deliver: { slack: 'alice' } }, ['deliver.slack'], /@alice.*#releases/],
      [
        'mixed',
        { ...alicesEvent, on: { source: 'jira', type: 'x', definition: 'release', outcomes: ['failed'] } },
        ['on'],
        /mixes an event/,
      ],
      [
        'many',
        {
          on: { source: 'Jira', type: 'x' },
          deliver: {},
          message: 'Hi ${{ vars.x }}',
          muted_until: 'tomorrow',
          rate_per_minute: 601,
          colour: 'red',
        },
        ['colour', 'on.source', 'deliver', 'message', 'muted_until', 'rate_per_minute'],
        /./,
      ],
    ];
    for (const [id, body, paths, message] of cases) {
      const res = await as(ALICE).put(`/api/subscriptions/${id}`).send(body);
      assert.equal(res.status, 422, `${id}: ${JSON.stringify(res.body)}`);
      assert.match(res.headers['content-type'] ?? '', /application\/problem\+json/);
      assert.deepEqual(
        res.body.errors.map((error: { path: string }) => error.path),
        paths,
        `${id}: ${JSON.stringify(res.body.errors)}`,
      );
      assert.match(res.body.errors[0].message, message, id);
      assert.equal((await as(ALICE).get(`/api/subscriptions/${id}`)).status, 404, `${id}: nothing stored`);
    }
    const yaml = await as(ALICE)
      .put('/api/subscriptions/yaml-lines')
      .set('Content-Type', 'application/yaml')
      .send('on:\n  source: jira\n  type: x\ndeliver:\n  slack: nobody\n');
    assert.equal(yaml.status, 422);
    assert.deepEqual(yaml.body.errors[0].path, 'deliver.slack');
    assert.equal(yaml.body.errors[0].line, 5);
  });

  it('honours If-Match on PUT and DELETE: a change made against an older revision is a 412 that changes nothing', async () => {
    const auth = { Authorization: `Bearer ${ALICE}` };
    await request(app)
      .put('/api/subscriptions/alice-if-match')
      .set(auth)
      .send({ on: { source: 'jira', type: 'if_match' }, deliver: { slack: '#one' } })
      .expect(201);
    const read = await request(app).get('/api/subscriptions/alice-if-match').set(auth).expect(200);
    assert.equal(read.headers['etag'], '"1"');
    // Someone else changes it meanwhile.
    await request(app)
      .put('/api/subscriptions/alice-if-match')
      .set(auth)
      .send({ on: { source: 'jira', type: 'if_match' }, deliver: { slack: '#two' } })
      .expect(200);
    const stale = await request(app)
      .put('/api/subscriptions/alice-if-match')
      .set(auth)
      .set('If-Match', read.headers['etag'] as string)
      .send({ on: { source: 'jira', type: 'if_match' }, deliver: { slack: '#three' } })
      .expect(412);
    assert.match(stale.body.detail, /is at revision 2, but this change was made against revision 1/);
    assert.equal(stale.body.currentRevision, 2);
    const unchanged = await request(app).get('/api/subscriptions/alice-if-match').set(auth).expect(200);
    assert.deepEqual(unchanged.body.subscription.deliver, { slack: '#two' });
    await request(app)
      .put('/api/subscriptions/alice-if-match')
      .set(auth)
      .set('If-Match', '"2"')
      .send({ on: { source: 'jira', type: 'if_match' }, deliver: { slack: '#three' } })
      .expect(200);
    await request(app).put('/api/subscriptions/alice-if-match').set(auth).set('If-Match', 'W/"3"').send({}).expect(400);
    await request(app).delete('/api/subscriptions/alice-if-match').set(auth).set('If-Match', '2').expect(412);
    await request(app).get('/api/subscriptions/alice-if-match').set(auth).expect(200);
    await request(app).delete('/api/subscriptions/alice-if-match').set(auth).set('If-Match', '*').expect(200);
    await request(app)
      .put('/api/subscriptions/alice-if-match')
      .set(auth)
      .set('If-Match', '*')
      .send({ on: { source: 'jira', type: 'if_match' }, deliver: { slack: '#four' } })
      .expect(412);
    await request(app).get('/api/subscriptions/alice-if-match').set(auth).expect(404);
  });

  it('says in a dry run which subscriptions an event would notify and which not, with why', async () => {
    const auth = { Authorization: `Bearer ${ALICE}` };
    await request(app)
      .put('/api/subscriptions/alice-plan-shop')
      .set(auth)
      .send({ ...alicesEvent, on: { source: 'jira', type: 'plan_probe', if: 'event.project == "SHOP"' } })
      .expect(201);
    await request(app)
      .put('/api/subscriptions/alice-plan-all')
      .set(auth)
      .send({ on: { source: 'jira', type: 'plan_probe' }, deliver: { slack: '#releases' } })
      .expect(201);
    const plan = await request(app).post('/api/plan/jira/plan_probe').set(auth).send({ project: 'OTHER' }).expect(200);
    assert.deepEqual(plan.body.subscriptions, {
      notify: [{ id: 'alice-plan-all', owner: 'alice', deliver: { slack: '#releases' } }],
      skipped: [{ id: 'alice-plan-shop', reason: 'if "event.project == \\"SHOP\\"" is false' }],
    });
    const shop = await request(app).post('/api/plan/jira/plan_probe').set(auth).send({ project: 'SHOP' }).expect(200);
    assert.deepEqual((shop.body.subscriptions.notify as { id: string }[]).map((entry) => entry.id).sort(), [
      'alice-plan-all',
      'alice-plan-shop',
    ]);
    for (const id of ['alice-plan-shop', 'alice-plan-all'])
      await request(app).delete(`/api/subscriptions/${id}`).set(auth).expect(200);
  });

  it('creates with a generated id on POST, and lists ?owner=me, by name and all, a page at a time', async () => {
    const generated = await as(BOB)
      .post('/api/subscriptions')
      .send({
        on: { definition: 'release', outcomes: ['failed'] },
        deliver: { email: 'bob@example.com' },
      });
    assert.equal(generated.status, 201, JSON.stringify(generated.body));
    assert.match(generated.body.id, /^bob-release-failed-[0-9a-f]{6}$/);
    assert.equal(generated.headers['location'], `/api/subscriptions/${generated.body.id}`);
    const named = await as(BOB)
      .post('/api/subscriptions')
      .send({ ...alicesEvent, id: 'bob-b', deliver: { slack: '@bob' } });
    assert.equal(named.status, 201);
    const again = await as(BOB)
      .post('/api/subscriptions')
      .send({ ...alicesEvent, id: 'bob-b', deliver: { slack: '@bob' } });
    assert.equal(again.status, 409);
    assert.equal((await as(BOB).put('/api/subscriptions/bob-a').send(alicesEvent)).status, 201);
    assert.equal((await as(ALICE).put('/api/subscriptions/alice-z').send(alicesEvent)).status, 201);

    const mine = await as(BOB).get('/api/subscriptions?owner=me&limit=2');
    assert.equal(mine.status, 200);
    assert.deepEqual(
      mine.body.items.map((item: { id: string }) => item.id),
      ['bob-a', 'bob-b'],
    );
    assert.equal(mine.body.next, '/api/subscriptions?owner=me&after=bob-b&limit=2');
    const rest = await as(BOB).get(mine.body.next as string);
    assert.deepEqual(
      rest.body.items.map((item: { id: string }) => item.id),
      [generated.body.id],
    );
    assert.equal(rest.body.next, null);
    const alices = await as(BOB).get('/api/subscriptions?owner=alice');
    assert.deepEqual(
      alices.body.items.map((item: { id: string }) => item.id),
      ['alice-z'],
    );
    const all = await as(mainToken).get('/api/subscriptions');
    assert.deepEqual(
      all.body.items.map((item: { id: string }) => item.id),
      ['alice-z', 'bob-a', 'bob-b', generated.body.id],
    );
  });

  it('lets a read-scope console session manage its own subscriptions with the CSRF header, and nothing without it', async () => {
    const signIn = await request(app).post('/ui/session').send({ token: ALICE });
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    const cookie = (signIn.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const csrf = signIn.body.csrf as string;
    const withoutCsrf = await request(app)
      .put('/api/subscriptions/alice-console')
      .set('Cookie', cookie)
      .send(alicesEvent);
    assert.equal(withoutCsrf.status, 403);
    assert.match(withoutCsrf.body.detail, /X-Flow-CSRF/);
    const saved = await request(app)
      .put('/api/subscriptions/alice-console')
      .set('Cookie', cookie)
      .set('X-Flow-CSRF', csrf)
      .send(alicesEvent);
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    assert.equal(saved.body.subscription.owner, 'alice');
    const definition = await request(app)
      .put('/api/definitions/x')
      .set('Cookie', cookie)
      .set('X-Flow-CSRF', csrf)
      .send({ name: 'x', on: [{ source: 'a', type: 'b' }], steps: [{ id: 's', action: 'flow.set', with: {} }] });
    assert.equal(definition.status, 403, 'other writes still need the write scope');
    assert.equal((await request(app).get('/api/subscriptions/alice-console')).status, 401);
  });
});
