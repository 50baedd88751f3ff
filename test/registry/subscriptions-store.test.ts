import assert from 'node:assert/strict';
import type { Subscription, SubscriptionSnapshot } from '../../common/subscriptions';
import {
  openMongo,
  SubscriptionConflictError,
  SubscriptionOwnerError,
  SubscriptionStore,
  type MongoHandle,
} from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

const eventSubscription = (id: string, overrides: Partial<Subscription> = {}): Subscription => ({
  id,
  owner: 'alice',
  on: { source: 'jira', type: 'issue_transitioned', if: 'event.to == "Start Release"' },
  deliver: { slack: '@alice' },
  ...overrides,
});

/** Snapshots without their random generation, to compare with literals. */
const withoutGeneration = (snapshots: readonly SubscriptionSnapshot[]): Omit<SubscriptionSnapshot, 'generation'>[] =>
  snapshots.map(({ generation: _generation, ...rest }) => rest);

describe('registry: subscription store on the real MongoDB-wire server', () => {
  let mongo: MongoHandle;
  let store: SubscriptionStore;
  beforeEach(() => {
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('subs').replace(/-/g, '_')}`,
    });
    store = new SubscriptionStore(mongo);
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('saves, reads back, moves the revision only on a change, and records who changed it', async () => {
    const first = await store.save(eventSubscription('a', { message: 'Release ${{ event.issue }}' }), 'alice');
    assert.equal(first.created, true);
    assert.equal(first.unchanged, false);
    assert.equal(first.subscription.revision, 1);
    assert.equal(first.subscription.author, 'alice');
    const read = await store.get('a');
    assert.deepEqual(read?.subscription, eventSubscription('a', { message: 'Release ${{ event.issue }}' }));
    assert.equal(read?.revision, 1);

    const same = await store.save(eventSubscription('a', { message: 'Release ${{ event.issue }}' }), 'bob');
    assert.deepEqual(
      [same.created, same.unchanged, same.subscription.revision, same.subscription.author],
      [false, true, 1, 'alice'],
    );

    const changed = await store.save(eventSubscription('a', { deliver: { email: 'alice@example.com' } }), 'admin');
    assert.deepEqual([changed.created, changed.unchanged, changed.subscription.revision], [false, false, 2]);
    const after = await store.get('a');
    assert.equal(after?.author, 'admin');
    assert.deepEqual(after?.subscription.deliver, { email: 'alice@example.com' });
    assert.equal(after?.subscription.message, undefined);
    assert.equal(after?.createdAt.getTime(), first.subscription.createdAt.getTime());
    assert.equal(await store.get('missing'), null);
  });

  it('finds subscriptions by event key and by each outcome key, with the snapshot the dispatcher needs', async () => {
    await store.save(eventSubscription('ev'), 'alice');
    await store.save(eventSubscription('other-type', { on: { source: 'jira', type: 'issue_created' } }), 'alice');
    await store.save(
      {
        id: 'out',
        owner: 'bob',
        on: { definition: 'release', outcomes: ['failed', 'cancelled'] },
        deliver: { email: 'bob@example.com', slack: '#releases' },
        muted_until: '2030-01-01T00:00:00.000Z',
        rate_per_minute: 3,
      },
      'bob',
    );
    assert.deepEqual(withoutGeneration(await store.findForEvent('jira', 'issue_transitioned')), [
      {
        id: 'ev',
        owner: 'alice',
        revision: 1,
        if: 'event.to == "Start Release"',
        deliver: { slack: '@alice' },
        ratePerMinute: 10,
      },
    ]);
    const failed = withoutGeneration(await store.findForEvent('flow', 'run_failed'));
    assert.deepEqual(failed, [
      {
        id: 'out',
        owner: 'bob',
        revision: 1,
        definition: 'release',
        deliver: { email: 'bob@example.com', slack: '#releases' },
        mutedUntil: '2030-01-01T00:00:00.000Z',
        ratePerMinute: 3,
      },
    ]);
    assert.deepEqual(
      (await store.findForEvent('flow', 'run_cancelled')).map((s) => s.id),
      ['out'],
    );
    assert.deepEqual(await store.findForEvent('flow', 'run_completed'), []);
    assert.deepEqual(await store.findForEvent('nobody', 'listens'), []);
  });

  it('moves its bindings when the trigger changes, and a stale binding finds nothing', async () => {
    await store.save(eventSubscription('mover'), 'alice');
    await store.save(eventSubscription('mover', { on: { definition: 'release', outcomes: ['completed'] } }), 'alice');
    assert.deepEqual(await store.findForEvent('jira', 'issue_transitioned'), []);
    assert.deepEqual(
      (await store.findForEvent('flow', 'run_completed')).map((s) => [s.id, s.revision]),
      [['mover', 2]],
    );
    assert.equal(
      await mongo.db.collection('subscription_bindings').findOne({ _id: 'jira/issue_transitioned' as never }),
      null,
    );

    // A binding left behind (a crash between the subscription and the clean-up) is harmless: lookups trust the
    // subscription.
    await mongo.db
      .collection<{ _id: string; ids: string[] }>('subscription_bindings')
      .insertOne({ _id: 'jira/issue_transitioned', ids: ['mover', 'never-saved'] });
    assert.deepEqual(await store.findForEvent('jira', 'issue_transitioned'), []);
  });

  it('deletes: the subscription stops matching and listing, and a save after it continues the revisions', async () => {
    await store.save(eventSubscription('gone'), 'alice');
    await store.save(eventSubscription('gone', { rate_per_minute: 5 }), 'alice');
    assert.deepEqual(await store.delete('gone', 'alice'), { revision: 2 });
    assert.equal(await store.get('gone'), null);
    assert.equal(await store.delete('gone', 'alice'), null);
    assert.deepEqual(await store.findForEvent('jira', 'issue_transitioned'), []);
    assert.deepEqual(await store.list({ limit: 10 }), []);
    assert.deepEqual(await store.list({ owner: 'alice', limit: 10 }), []);
    const again = await store.save(eventSubscription('gone'), 'carol');
    assert.deepEqual([again.created, again.subscription.revision], [true, 3]);
  });

  it('keeps a generation from creation through every change, and a new one when the id is saved again', async () => {
    const first = await store.save(eventSubscription('gen'), 'alice');
    const generation = first.subscription.generation;
    assert.match(generation, /^[A-Za-z0-9_-]{16}$/);
    const changed = await store.save(eventSubscription('gen', { rate_per_minute: 5 }), 'alice');
    assert.equal(changed.subscription.generation, generation);
    const muted = await store.setMutedUntil('gen', '2030-01-01T00:00:00Z', 2);
    assert.equal(muted.status === 'done' && muted.subscription.generation, generation);
    assert.equal((await store.get('gen'))?.generation, generation);
    assert.deepEqual(
      (await store.findForEvent('jira', 'issue_transitioned')).map((s) => s.generation),
      [generation],
    );

    await store.delete('gen', 'alice');
    const again = await store.save(eventSubscription('gen'), 'alice');
    assert.notEqual(again.subscription.generation, generation);

    // A document written before generations existed gets one derived from its creation time, stable across saves.
    await mongo.db.collection('subscriptions').updateOne({ _id: 'gen' as never }, { $unset: { generation: '' } });
    const legacy = (await store.get('gen'))?.generation;
    assert.match(legacy ?? '', /^t[0-9a-z]+$/);
    await store.save(eventSubscription('gen', { rate_per_minute: 7 }), 'alice');
    assert.equal((await store.get('gen'))?.generation, legacy);
  });

  it('lists all or one owner’s, in id order, a page at a time; a change of owner moves it', async () => {
    for (const [id, owner] of [
      ['c', 'alice'],
      ['a', 'alice'],
      ['b', 'bob'],
      ['d', 'alice'],
    ] as const)
      await store.save(eventSubscription(id, { owner }), owner);
    const ids = (items: { subscription: Subscription }[]): string[] => items.map((item) => item.subscription.id);
    assert.deepEqual(ids(await store.list({ limit: 3 })), ['a', 'b', 'c']);
    assert.deepEqual(ids(await store.list({ limit: 3, after: 'c' })), ['d']);
    assert.deepEqual(ids(await store.list({ owner: 'alice', limit: 2 })), ['a', 'c']);
    assert.deepEqual(ids(await store.list({ owner: 'alice', limit: 2, after: 'c' })), ['d']);
    assert.deepEqual(ids(await store.list({ owner: 'nobody', limit: 2 })), []);

    await store.save(eventSubscription('c', { owner: 'bob' }), 'admin');
    assert.deepEqual(ids(await store.list({ owner: 'alice', limit: 10 })), ['a', 'd']);
    assert.deepEqual(ids(await store.list({ owner: 'bob', limit: 10 })), ['b', 'c']);
  });

  it('refuses changes to another owner’s subscription when asked to act for one owner, and stale revisions', async () => {
    await store.save(eventSubscription('alices'), 'alice');
    await assert.rejects(
      store.save(eventSubscription('alices', { owner: 'bob' }), 'bob', { ownedBy: 'bob' }),
      (error: unknown) => error instanceof SubscriptionOwnerError && error.owner === 'alice',
    );
    await assert.rejects(store.delete('alices', 'bob', { ownedBy: 'bob' }), SubscriptionOwnerError);
    assert.equal((await store.get('alices'))?.subscription.owner, 'alice');
    await assert.rejects(
      store.save(eventSubscription('alices', { rate_per_minute: 2 }), 'alice', { expectedRevision: 7 }),
      (error: unknown) => error instanceof SubscriptionConflictError && error.current === 1,
    );
    assert.equal(
      (await store.save(eventSubscription('alices', { rate_per_minute: 2 }), 'alice', { expectedRevision: 1 }))
        .subscription.revision,
      2,
    );
  });

  it('mutes and deletes by revision for the one-click links, once, refusing a revision that moved', async () => {
    await store.save(eventSubscription('linked'), 'alice');
    const until = new Date('2030-05-01T10:00:00Z');
    const muted = await store.setMutedUntil('linked', until, 1);
    assert.equal(muted.status, 'done');
    assert.equal(muted.status === 'done' && muted.subscription.revision, 2);
    assert.equal((await store.get('linked'))?.subscription.muted_until, until.toISOString());
    assert.equal((await store.findForEvent('jira', 'issue_transitioned'))[0]?.mutedUntil, until.toISOString());
    assert.equal((await store.get('linked'))?.author, 'mute link');
    assert.deepEqual(await store.setMutedUntil('linked', until, 1), { status: 'moved', revision: 2 });
    assert.deepEqual(await store.deleteIfRevision('linked', 1), { status: 'moved', revision: 2 });
    const deleted = await store.deleteIfRevision('linked', 2);
    assert.equal(deleted.status, 'done');
    assert.equal(await store.get('linked'), null);
    assert.deepEqual(await store.deleteIfRevision('linked', 2), { status: 'missing' });
    assert.deepEqual(await store.setMutedUntil('linked', null, 2), { status: 'missing' });
  });

  it('keeps every subscription findable when many are saved at once onto one key', async () => {
    const ids = Array.from({ length: 12 }, (_, index) => `many-${String(index).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => store.save(eventSubscription(id), 'alice')));
    assert.deepEqual(
      (await store.findForEvent('jira', 'issue_transitioned')).map((s) => s.id),
      ids,
    );
    assert.deepEqual(
      (await store.list({ owner: 'alice', limit: 100 })).map((s) => s.subscription.id),
      ids,
    );
  });

  it('reads every document of an event lookup and an owner listing by _id through the _id index', async () => {
    await store.save(eventSubscription('indexed'), 'alice');
    const lookups: [string, string][] = [
      ['subscriptions', 'indexed'],
      ['subscription_bindings', 'jira/issue_transitioned'],
      ['subscription_owners', 'alice'],
    ];
    for (const [collection, id] of lookups) {
      const plan = await mongo.db.collection<{ _id: string }>(collection).find({ _id: id }).explain();
      assert.ok(usesIdIndex(plan), `${collection}: lookup by _id does not use the _id index: ${JSON.stringify(plan)}`);
    }
  });
});

/** True when an explain() answer from FerretDB (SQLite query plan) or MongoDB (winning plan) is an _id index lookup. */
function usesIdIndex(plan: Record<string, unknown>): boolean {
  const planner = plan.queryPlanner as { Plan?: string[]; winningPlan?: unknown } | undefined;
  if (Array.isArray(planner?.Plan)) {
    return (
      planner.Plan.some((line) => /SEARCH .* USING INDEX \S+__id_ /.test(line)) &&
      !planner.Plan.some((line) => /SCAN/.test(line))
    );
  }
  const stages = JSON.stringify(planner?.winningPlan ?? {});
  return /"stage":"(IDHACK|EXPRESS_IXSCAN|IXSCAN)"/.test(stages) && !stages.includes('COLLSCAN');
}
