import { MongoClient, type CommandStartedEvent } from 'mongodb';
import assert from 'node:assert/strict';
import { actionsById } from '../../activities';
import type { WaitRegistration } from '../../common/event-waits';
import { DefinitionStore, WaitStore, type MongoHandle } from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

const inAnHour = (): string => new Date(Date.now() + 3_600_000).toISOString();

const wait = (workflowId: string, where: WaitRegistration['where'], extra: Partial<WaitRegistration> = {}) => ({
  workflowId,
  stepId: 'build',
  source: 'jenkins',
  type: 'build_finished',
  where,
  until: inAnHour(),
  ...extra,
});

describe('registry: waits store on the real MongoDB-wire server', () => {
  let client: MongoClient;
  let mongo: MongoHandle;
  let store: WaitStore;
  /** The `find` commands sent since the last reset, with their filters. */
  let finds: Record<string, unknown>[] = [];
  beforeEach(async () => {
    const config = testConfig();
    client = new MongoClient(config.mongodb.uri, { monitorCommands: true });
    await client.connect();
    const db = client.db(`${config.mongodb.database}_${uniqueName('waits').replace(/-/g, '_')}`);
    client.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName === 'find') finds.push(event.command['filter'] as Record<string, unknown>);
    });
    mongo = { db, client, connected: () => Promise.resolve(db), close: () => client.close() } as unknown as MongoHandle;
    store = new WaitStore(mongo, new DefinitionStore(mongo, actionsById()));
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await client.close();
  });

  it("finds an event's waits with one read of the shapes and one per shape, by _id, however many wait on other values", async () => {
    await Promise.all(
      Array.from({ length: 300 }, (_, index) =>
        store.register(wait(`other-${index}`, { 'parameters.RELEASE_TICKET': `REL-${index}` })),
      ),
    );
    await store.register(wait('two-fields', { 'parameters.RELEASE_TICKET': 'REL-7', name: 'release' }));
    await store.register(wait('conditional', { 'parameters.RELEASE_TICKET': 'REL-7' }, { if: 'event.ok' }));
    finds = [];
    const found = await store.findForEvent('jenkins', 'build_finished', {
      name: 'release',
      parameters: { RELEASE_TICKET: 'REL-7' },
    });
    assert.deepEqual(found.map((entry) => entry.workflowId).sort(), ['conditional', 'other-7', 'two-fields']);
    assert.equal(found.find((entry) => entry.workflowId === 'conditional')?.if, 'event.ok');
    assert.equal(finds.length, 3, JSON.stringify(finds));
    for (const filter of finds) assert.deepEqual(Object.keys(filter), ['_id'], JSON.stringify(filter));
  });

  it('compares values with JSON equality, and skips a shape whose fields the event lacks', async () => {
    await store.register(wait('number', { build: 7 }));
    await store.register(wait('flag', { ok: true }));
    const find = (body: Record<string, unknown>) =>
      store.findForEvent('jenkins', 'build_finished', body).then((list) => list.map((entry) => entry.workflowId));
    assert.deepEqual(await find({ build: '7' }), []);
    assert.deepEqual(await find({ build: 7 }), ['number']);
    assert.deepEqual(await find({ build: 7, ok: true }), ['number', 'flag']);
    assert.deepEqual(await find({ build: { n: 7 } }), []);
    assert.deepEqual(await store.findForEvent('jenkins', 'build_started', { build: 7 }), []);
  });

  it('keeps every one of many concurrent registrations on one key, is idempotent, and removes a wait that ended', async () => {
    const where = { issue: 'REL-1' };
    await Promise.all(Array.from({ length: 12 }, (_, index) => store.register(wait(`run-${index}`, where))));
    await store.register(wait('run-0', where));
    const find = () =>
      store
        .findForEvent('jenkins', 'build_finished', where)
        .then((list) => list.map((entry) => entry.workflowId).sort());
    assert.deepEqual(await find(), Array.from({ length: 12 }, (_, index) => `run-${index}`).sort());
    await Promise.all(Array.from({ length: 11 }, (_, index) => store.unregister(wait(`run-${index + 1}`, where))));
    assert.deepEqual(await find(), ['run-0']);
    await store.unregister(wait('run-0', where));
    await store.unregister(wait('run-0', where));
    assert.deepEqual(await find(), []);
    assert.equal(await mongo.db.collection('waits').countDocuments(), 0, 'an empty waits document is deleted');
  });

  it('ignores waits past their end', async () => {
    await store.register(wait('expired', { issue: 'REL-2' }, { until: new Date(Date.now() - 1_000).toISOString() }));
    assert.deepEqual(await store.findForEvent('jenkins', 'build_finished', { issue: 'REL-2' }), []);
  });
});
