import assert from 'node:assert/strict';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { actionsById } from '../../activities';
import type { Definition } from '../../common/definition';
import { LIFECYCLE_TYPES, type LifecycleType } from '../../common/run-control';
import type { DefinitionSnapshot } from '../../common/run-types';
import {
  DefinitionStore,
  LIFECYCLE_BINDINGS_TTL_MS,
  LifecycleBindings,
  SubscriptionStore,
  type MongoHandle,
} from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

const listener = (id: string, types: readonly LifecycleType[], overrides: Partial<Definition> = {}): Definition => ({
  id,
  name: `Listener ${id}`,
  enabled: true,
  on: types.map((type) => ({ source: 'flow', type })),
  steps: [{ id: 'one', action: 'flow.set', with: { seen: '${{ event.workflowId }}' } }],
  ...overrides,
});

describe('registry: which run lifecycle types are bound, on the real MongoDB-wire server', () => {
  let client: MongoClient;
  let mongo: MongoHandle;
  let store: DefinitionStore;
  /** The `find` commands sent since the last reset: collection and filter. */
  let finds: { collection: string; filter: Record<string, unknown> }[] = [];
  let clock = 1_000_000;
  const now = (): number => clock;

  beforeEach(async () => {
    const config = testConfig();
    client = new MongoClient(config.mongodb.uri, { monitorCommands: true });
    await client.connect();
    const db = client.db(`${config.mongodb.database}_${uniqueName('lifecycle').replace(/-/g, '_')}`);
    client.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName === 'find')
        finds.push({
          collection: event.command['find'] as string,
          filter: event.command['filter'] as Record<string, unknown>,
        });
    });
    mongo = { db, client, connected: () => Promise.resolve(db), close: () => client.close() } as unknown as MongoHandle;
    store = new DefinitionStore(mongo, actionsById());
    finds = [];
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await client.close();
  });

  it('with nothing bound to flow, answers none after one _id read of the bindings per lifecycle type', async () => {
    await store.save(
      { ...listener('elsewhere', []), on: [{ source: 'jira', type: 'run_started' }] },
      { format: 'json' },
    );
    finds = [];
    const bindings = new LifecycleBindings((source, type) => store.findForEvent(source, type), { now });
    assert.deepEqual(await bindings.bound(), []);
    assert.equal(finds.length, LIFECYCLE_TYPES.length);
    assert.deepEqual(
      finds.map((find) => find.collection),
      LIFECYCLE_TYPES.map(() => 'definition_bindings'),
    );
    assert.deepEqual(
      finds.map((find) => find.filter).sort(byId),
      LIFECYCLE_TYPES.map((type) => ({ _id: `flow/${type}` })).sort(byId),
    );
  });

  it('lists the types an enabled definition is bound to, in LIFECYCLE_TYPES order, and not those of disabled ones', async () => {
    await store.save(listener('on-failure', ['run_failed', 'run_rejected']), { format: 'json' });
    await store.save(listener('on-start', ['run_started']), { format: 'json' });
    await store.save(listener('switched-off', ['run_queued', 'run_failed'], { enabled: false }), { format: 'json' });
    const bindings = new LifecycleBindings((source, type) => store.findForEvent(source, type), { now });
    assert.deepEqual(await bindings.bound(), ['run_started', 'run_failed', 'run_rejected']);
    // Every read the answer took was by _id: the binding documents, then the heads of the definitions bound there.
    assert.ok(
      finds.every((find) => Object.keys(find.filter).join() === '_id' && typeof find.filter['_id'] === 'string'),
    );
  });

  it('reuses a reading for the TTL, so a binding saved now applies to events dispatched a few seconds later', async () => {
    let lookups = 0;
    const bindings = new LifecycleBindings(
      (source, type) => {
        lookups++;
        return store.findForEvent(source, type);
      },
      { now },
    );
    assert.deepEqual(await bindings.bound(), []);
    assert.equal(lookups, LIFECYCLE_TYPES.length);

    await store.save(listener('late', ['run_completed']), { format: 'json' });
    clock += LIFECYCLE_BINDINGS_TTL_MS - 1;
    assert.deepEqual(await bindings.bound(), [], 'within the TTL the earlier reading stands');
    assert.equal(lookups, LIFECYCLE_TYPES.length, 'and the registry is not read');

    clock += 1;
    assert.deepEqual(await bindings.bound(), ['run_completed']);
    assert.equal(lookups, 2 * LIFECYCLE_TYPES.length);

    await store.delete('late');
    clock += LIFECYCLE_BINDINGS_TTL_MS;
    assert.deepEqual(await bindings.bound(), [], 'a deleted definition stops counting once the reading expires');
  });

  it('counts a subscription to an outcome as bound, from the subscription bindings, read by _id', async () => {
    const subscriptions = new SubscriptionStore(mongo);
    await store.save(listener('on-start', ['run_started']), { format: 'json' });
    await subscriptions.save(
      {
        id: 'alice-release-failures',
        owner: 'alice',
        on: { definition: 'release', outcomes: ['failed', 'cancelled'] },
        deliver: { slack: '@alice' },
        muted_until: '2999-01-01T00:00:00Z',
      },
      'alice',
    );
    await subscriptions.save(
      { id: 'jira-watch', owner: 'bob', on: { source: 'jira', type: 'run_completed' }, deliver: { slack: '@bob' } },
      'bob',
    );
    finds = [];
    const bindings = new LifecycleBindings((source, type) => store.findForEvent(source, type), {
      now,
      subscriptions: (source, type) => subscriptions.findForEvent(source, type),
    });
    // A muted subscription counts: muting is decided when a notification would be sent, by the activity's clock.
    assert.deepEqual(await bindings.bound(), ['run_started', 'run_failed', 'run_cancelled']);
    assert.ok(finds.some((find) => find.collection === 'subscription_bindings'));
    assert.ok(
      finds.every((find) => Object.keys(find.filter).join() === '_id' && typeof find.filter['_id'] === 'string'),
    );
    const definitionsOnly = new LifecycleBindings((source, type) => store.findForEvent(source, type), { now });
    assert.deepEqual(await definitionsOnly.bound(), ['run_started'], 'without the subscription lookup, as before');
  });

  it('gives concurrent callers one reading, and does not keep a failed one', async () => {
    let lookups = 0;
    let failing = true;
    const bindings = new LifecycleBindings(
      async (source, type): Promise<DefinitionSnapshot[]> => {
        lookups++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (failing) throw new Error('MongoDB is down');
        return store.findForEvent(source, type);
      },
      { now },
    );
    const failed = await Promise.allSettled([bindings.bound(), bindings.bound(), bindings.bound()]);
    assert.deepEqual(
      failed.map((outcome) => outcome.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.equal(lookups, LIFECYCLE_TYPES.length, 'three callers, one reading');

    failing = false;
    await store.save(listener('back', ['approval_requested']), { format: 'json' });
    const answers = await Promise.all([bindings.bound(), bindings.bound()]);
    assert.deepEqual(answers, [['approval_requested'], ['approval_requested']]);
    assert.equal(lookups, 2 * LIFECYCLE_TYPES.length, 'the failure was not cached; the next callers share one reading');
    answers[0].pop();
    assert.deepEqual(await bindings.bound(), ['approval_requested'], 'a caller cannot change the cached answer');
  });
});

function byId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a['_id']).localeCompare(String(b['_id']));
}
