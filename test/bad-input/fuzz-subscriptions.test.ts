import assert from 'node:assert/strict';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { SUBSCRIPTION_OUTCOMES, type Subscription } from '../../common/subscriptions';
import { problemErrorHandler } from '../../gateway/problem';
import { subscriptionsRouter } from '../../gateway/subscriptions-router';
import { openMongo, SubscriptionStore, type MongoHandle } from '../../registry';
import { SLACK_TARGET, SUBSCRIPTION_ID, validateSubscription } from '../../registry/validate-subscription';
import { testConfig, uniqueName } from '../support/stack';
import { assertPrototypesIntact, FUZZ_TIMEOUT_MS, fuzzParameters, POLLUTION_KEYS, RUNS } from './fuzz-runs';
import { editAt, snapshot, type Container, type TreeEdit } from './json-tree';

/**
 * The validator behind `PUT /api/subscriptions/:id`, fed valid subscriptions bent by random edits: whatever it is
 * given, it answers with a subscription that keeps every promise a delivery relies on (one email address without a
 * line break, a Slack target, known outcomes), or with errors that each have a path and a message. Then the same over
 * HTTP against the real registry: a refused body is a 4xx problem and leaves every subscription collection as it was.
 */

/** The one definition outcome triggers may name. */
const definitions = {
  get: (id: string) => Promise.resolve(id === 'release' ? ({} as never) : null),
};

const EVENT_BASE: Subscription = {
  id: 'alice-shop-releases',
  owner: 'alice',
  on: { source: 'jira', type: 'issue_transitioned', if: 'event.project == "SHOP"' },
  deliver: { slack: '@alice', email: 'alice@example.com' },
  message: 'Release ${{ event.issue }} started',
  rate_per_minute: 10,
};
const OUTCOME_BASE: Subscription = {
  id: 'alice-release-failed',
  owner: 'alice',
  on: { definition: 'release', outcomes: ['failed', 'cancelled'] },
  deliver: { slack: '#releases' },
  muted_until: '2026-12-06T09:00:00Z',
};

/** Values that have broken validators and mail headers elsewhere. */
const hostile = fc.oneof(
  fc.constantFrom(
    'a@b.c\r\nBcc: x@y.z',
    'a@b.c\nBcc: x@y.z',
    'a@b.c, b@c.d',
    '"a"@b.c',
    'a@b',
    '<!channel>',
    '@here',
    '#general\n',
    '${{ event.x',
    '${{ vars.secret }}',
    'event.x ==',
    '',
    ' ',
    '\u0000',
    '\u202e',
    'x'.repeat(3_000),
    '2026-13-45T99:99:99Z',
    'not a time',
    ...POLLUTION_KEYS,
    ...Object.keys(SUBSCRIPTION_OUTCOMES),
  ),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: -5, max: 700 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
);
const key = fc.oneof(fc.constantFrom(...POLLUTION_KEYS, 'if', 'email', 'slack', 'outcomes', 'definition'), fc.string());
const edit: fc.Arbitrary<TreeEdit & { at: number }> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: hostile }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), to: key }),
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat(), key }),
  fc.record({ op: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), times: fc.integer({ min: 0, max: 50 }) }),
);
const bentSubscription = fc
  .tuple(fc.constantFrom(EVENT_BASE, OUTCOME_BASE), fc.array(edit, { minLength: 1, maxLength: 4 }))
  .map(([base, edits]) => {
    const body = snapshot(base) as unknown as Container;
    for (const { at, ...change } of edits) editAt(body, at, change);
    return body;
  });

/** Checks the promises a stored subscription must keep, whatever body it came from. */
function assertDeliverable(subscription: Subscription): void {
  assert.match(subscription.id, SUBSCRIPTION_ID);
  const { slack, email } = subscription.deliver;
  assert.ok(slack !== undefined || email !== undefined, 'a subscription that delivers nowhere');
  if (slack !== undefined) assert.match(slack, SLACK_TARGET);
  if (email !== undefined) assert.doesNotMatch(email, /[\r\n,;<>\s]/, `an email that is not one address: ${email}`);
  if ('outcomes' in subscription.on) {
    assert.ok(subscription.on.outcomes.length > 0);
    for (const outcome of subscription.on.outcomes) assert.ok(Object.hasOwn(SUBSCRIPTION_OUTCOMES, outcome));
    assert.equal(subscription.on.definition, 'release');
  }
  if (subscription.muted_until !== undefined && subscription.muted_until !== null)
    assert.ok(!Number.isNaN(Date.parse(subscription.muted_until)));
  if (subscription.rate_per_minute !== undefined) assert.ok(Number.isInteger(subscription.rate_per_minute));
}

describe('bad input: subscriptions', function () {
  this.timeout(FUZZ_TIMEOUT_MS);

  it(`validates ${RUNS.toLocaleString('en')} bent subscriptions without throwing, and accepts only deliverable ones`, async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(bentSubscription, async (body) => {
        const before = JSON.stringify(body);
        const result = await validateSubscription(body, { owner: 'alice', definitions });
        assertPrototypesIntact();
        assert.equal(JSON.stringify(body), before, 'validateSubscription changed the body it was given');
        seen[result.ok ? 'accepted' : 'refused'] += 1;
        if (!result.ok) {
          assert.ok(result.errors.length > 0, 'refused without saying why');
          for (const error of result.errors) {
            assert.ok(error.path.length > 0 && error.message.trim().length > 0, JSON.stringify(error));
          }
          return;
        }
        assertDeliverable(result.subscription);
        // What it accepted, it accepts again as it is: a stored subscription can always be saved back.
        const again = await validateSubscription(JSON.parse(JSON.stringify(result.subscription)), {
          owner: 'alice',
          definitions,
        });
        assert.ok(again.ok, `an accepted subscription is refused when saved back: ${JSON.stringify(again)}`);
        assert.deepEqual(again.subscription, result.subscription);
      }),
      fuzzParameters(),
    );
    // Both answers were exercised, so neither side of the property was checked in vain.
    const runs = seen.accepted + seen.refused;
    if (runs >= 1_000) assert.ok(seen.accepted >= runs / 100 && seen.refused >= runs / 100, JSON.stringify(seen));
  });

  describe('over HTTP, against the real registry', () => {
    let mongo: MongoHandle;
    let app: express.Express;
    beforeEach(() => {
      const config = testConfig();
      mongo = openMongo({
        uri: config.mongodb.uri,
        database: `${config.mongodb.database}_${uniqueName('subfuzz').replace(/-/g, '_')}`,
      });
      const store = new SubscriptionStore(mongo);
      app = express()
        .use((_req, res, next) => {
          res.locals['actor'] = 'alice';
          next();
        })
        .use('/api', subscriptionsRouter({ subscriptions: store, definitions }))
        .use(problemErrorHandler(() => undefined));
    });
    afterEach(async () => {
      await mongo.db.dropDatabase();
      await mongo.close();
    });

    it('answers every bent body with a 4xx problem that stores nothing, or saves what it says', async () => {
      const counts = async (): Promise<number[]> =>
        Promise.all(
          ['subscriptions', 'subscription_bindings', 'subscription_owners'].map((name) =>
            mongo.db.collection(name).countDocuments(),
          ),
        );
      await fc.assert(
        fc.asyncProperty(bentSubscription, async (body) => {
          const before = await counts();
          const res = await request(app).post('/api/subscriptions').send(body);
          if (res.status >= 400) {
            assert.ok(res.status < 500, `${res.status}: ${JSON.stringify(res.body)}`);
            assert.match(String(res.headers['content-type']), /application\/problem\+json/);
            assert.ok(String((res.body as { detail?: string }).detail ?? '').length > 0);
            assert.deepEqual(await counts(), before, 'a refused body changed the registry');
            return;
          }
          const saved = (res.body as { subscription: Subscription }).subscription;
          const read = await request(app)
            .get(`/api/subscriptions/${encodeURIComponent(saved.id)}`)
            .expect(200);
          assert.deepEqual((read.body as { subscription: Subscription }).subscription, saved);
          assertDeliverable(saved);
        }),
        fuzzParameters({ numRuns: Math.min(RUNS, 150) }),
      );
    });
  });
});
