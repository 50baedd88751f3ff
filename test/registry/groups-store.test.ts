import { MongoClient, type CommandStartedEvent } from 'mongodb';
import assert from 'node:assert/strict';
import { GroupStore, GroupValidationError, type MongoHandle } from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

describe('registry: approver groups on the real MongoDB-wire server', () => {
  let client: MongoClient;
  let mongo: MongoHandle;
  let store: GroupStore;
  let clock: Date;
  /** The filters of the `find` commands sent since the last reset. */
  let finds: Record<string, unknown>[] = [];
  beforeEach(async () => {
    const config = testConfig();
    client = new MongoClient(config.mongodb.uri, { monitorCommands: true });
    await client.connect();
    const db = client.db(`${config.mongodb.database}_${uniqueName('groups').replace(/-/g, '_')}`);
    client.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName === 'find') finds.push(event.command['filter'] as Record<string, unknown>);
    });
    mongo = { db, client, connected: () => Promise.resolve(db), close: () => client.close() } as unknown as MongoHandle;
    clock = new Date('2026-11-20T10:00:00.000Z');
    store = new GroupStore(mongo, () => clock);
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await client.close();
  });

  it('creates a group with its author, keeps an unchanged save unwritten, and replaces the members on a change', async () => {
    const created = await store.put('release-managers', ['alice', 'U0123ABCD'], 'alice');
    assert.equal(created.created, true);
    assert.equal(created.unchanged, false);
    assert.deepEqual(await store.get('release-managers'), {
      name: 'release-managers',
      members: ['alice', 'U0123ABCD'],
      updatedAt: clock,
      author: 'alice',
    });

    clock = new Date('2026-11-21T10:00:00.000Z');
    const same = await store.put('release-managers', ['alice', 'U0123ABCD'], 'bob');
    assert.deepEqual([same.created, same.unchanged], [false, true]);
    assert.equal((await store.get('release-managers'))?.author, 'alice', 'an unchanged save records nothing');

    const changed = await store.put('release-managers', ['carol@example.com'], 'bob');
    assert.deepEqual([changed.created, changed.unchanged], [false, false]);
    assert.deepEqual(await store.get('release-managers'), {
      name: 'release-managers',
      members: ['carol@example.com'],
      updatedAt: new Date('2026-11-21T10:00:00.000Z'),
      author: 'bob',
    });
    assert.equal(await store.get('nobody'), null);
  });

  it('refuses bad names and members with the path of every problem, and stores nothing', async () => {
    const refused = async (name: string, members: unknown): Promise<string[]> => {
      const error = await store.put(name, members).then(
        () => assert.fail(`${name} should be refused`),
        (thrown: unknown) => thrown,
      );
      assert.ok(error instanceof GroupValidationError, String(error));
      return error.errors.map((problem) => problem.path);
    };
    assert.deepEqual(await refused('Release', ['alice']), ['name']);
    assert.deepEqual(await refused('1st', ['alice']), ['name']);
    assert.deepEqual(await refused(`a${'b'.repeat(63)}`, ['alice']), ['name']);
    assert.deepEqual(await refused('ops', []), ['members']);
    assert.deepEqual(await refused('ops', 'alice'), ['members']);
    assert.deepEqual(
      await refused(
        'ops',
        Array.from({ length: 201 }, (_, index) => `user${index}`),
      ),
      ['members'],
    );
    assert.deepEqual(await refused('ops', ['alice', 'alice', '', 'x'.repeat(201), 7, ' bob', 'group:other', 'carol']), [
      'members[1]',
      'members[2]',
      'members[3]',
      'members[4]',
      'members[5]',
      'members[6]',
    ]);
    assert.deepEqual(await store.list({ limit: 10 }), []);
    // The longest name and the largest group are fine.
    await store.put(
      `a${'b'.repeat(62)}`,
      Array.from({ length: 200 }, (_, index) => `${'m'.repeat(195)}${index}`),
    );
  });

  it('lists groups in name order, a page at a time', async () => {
    for (const name of ['qa', 'ops', 'release-managers', 'dba']) await store.put(name, [`${name}-lead`]);
    const first = await store.list({ limit: 2 });
    assert.deepEqual(
      first.map((group) => group.name),
      ['dba', 'ops'],
    );
    const rest = await store.list({ after: 'ops', limit: 10 });
    assert.deepEqual(
      rest.map((group) => group.name),
      ['qa', 'release-managers'],
    );
    assert.deepEqual(rest[0]?.members, ['qa-lead']);
  });

  it('deletes a group once', async () => {
    await store.put('ops', ['alice']);
    assert.equal(await store.delete('ops'), true);
    assert.equal(await store.delete('ops'), false);
    assert.equal(await store.get('ops'), null);
  });

  it('expands group:<name> entries in place with one read by _id per group; missing groups add nobody', async () => {
    await store.put('release-managers', ['alice', 'U0123ABCD']);
    await store.put('dba', ['carol@example.com', 'alice']);
    finds = [];
    const resolved = await store.resolve([
      'bob',
      'group:release-managers',
      'group:dba',
      'group:release-managers',
      'group:gone',
      'alice',
    ]);
    assert.deepEqual(resolved.approvers, ['bob', 'alice', 'U0123ABCD', 'carol@example.com']);
    assert.deepEqual(resolved.groups, {
      'release-managers': ['alice', 'U0123ABCD'],
      dba: ['carol@example.com', 'alice'],
    });
    assert.equal(finds.length, 3, JSON.stringify(finds));
    for (const filter of finds) assert.deepEqual(Object.keys(filter), ['_id'], JSON.stringify(filter));

    finds = [];
    assert.deepEqual(await store.resolve(['alice', 'U0123ABCD']), { approvers: ['alice', 'U0123ABCD'], groups: {} });
    assert.equal(finds.length, 0, 'names that are not groups are never looked up');
  });
});
