import assert from 'node:assert/strict';
import type { Collection } from 'mongodb';
import { actionsById } from '../../activities';
import type { Definition } from '../../common/definition';
import { DefinitionDeletedError, DefinitionStore, openMongo, type MongoHandle } from '../../registry';
import { changedBinding, type BindingDocument } from '../../registry/definition-bindings';
import { testConfig, uniqueName } from '../support/stack';

const definition = (id: string, overrides: Partial<Definition> = {}): Definition => ({
  id,
  name: `Definition ${id}`,
  enabled: true,
  on: [{ source: 'ci', type: 'built' }],
  steps: [{ id: 'one', action: 'http.request', with: { url: 'https://x.example/a.b', 'odd.key': { $x: [[1]] } } }],
  ...overrides,
});

/** The collections whose writes make up a save or delete (locks and the change stamp aside). */
const DATA = new Set(['definitions', 'definition_revisions', 'definition_bindings']);
const WRITES = new Set(['insertOne', 'replaceOne', 'updateOne', 'deleteOne']);
const READS = new Set(['findOne', 'find']);

/**
 * A handle on the same database that counts the store's reads and can crash it: once `crashAfter` writes of registry
 * data went through, every further one fails, as if the process had died there (its locks are still released, which
 * only spares the next writer the stale-lock wait).
 */
class TappedMongo {
  readonly handle: MongoHandle;
  readonly reads: string[] = [];
  writes = 0;
  crashAfter = Number.POSITIVE_INFINITY;

  constructor(base: MongoHandle) {
    const tap = (collection: Collection, name: string): Collection =>
      new Proxy(collection, {
        get: (target, property, receiver) => {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function' || typeof property !== 'string') return value;
          return (...args: unknown[]) => {
            if (READS.has(property)) this.reads.push(name);
            if (WRITES.has(property) && DATA.has(name)) {
              if (this.writes >= this.crashAfter) throw new Error(`crashed before write ${this.writes + 1}`);
              this.writes++;
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const db = new Proxy(base.db, {
      get: (target, property, receiver) =>
        property === 'collection'
          ? (name: string) => tap(target.collection(name), name)
          : (Reflect.get(target, property, receiver) as unknown),
    });
    this.handle = Object.assign(Object.create(base) as MongoHandle, { db });
  }
}

describe('registry: binding documents keep their definitions current, on the real MongoDB-wire server', () => {
  let base: MongoHandle;
  let store: DefinitionStore;
  let bindings: Collection<BindingDocument>;

  beforeEach(() => {
    const config = testConfig();
    base = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('bindings').replace(/-/g, '_')}`,
    });
    store = new DefinitionStore(base, actionsById());
    bindings = base.db.collection<BindingDocument>('definition_bindings');
  });
  afterEach(async () => {
    await base.db.dropDatabase();
    await base.close();
  });

  /** A store on the same database that counts its reads and crashes where told. */
  const tappedStore = (): { store: DefinitionStore; tap: TappedMongo } => {
    const tap = new TappedMongo(base);
    return { store: new DefinitionStore(tap.handle, actionsById(), { warn: () => undefined }), tap };
  };

  /** What a lookup answers for (source, type): [id, revision] in id order. */
  const lookup = async (source: string, type: string, on = store): Promise<[string, number][]> =>
    (await on.findForEvent(source, type)).map((snapshot) => [snapshot.definition.id, snapshot.revision]);

  /** What the heads say should match (source, type): the truth a lookup must agree with, whatever the bindings hold. */
  const fromHeads = async (ids: readonly string[], source: string, type: string): Promise<[string, number][]> => {
    const found: [string, number][] = [];
    for (const id of [...ids].sort()) {
      const current = await store.get(id).catch((error: unknown) => {
        if (error instanceof DefinitionDeletedError) return null;
        throw error;
      });
      if (current?.definition.on.some((on) => on.source === source && on.type === type))
        found.push([id, current.revision]);
    }
    return found;
  };

  /** Asserts every binding document holds a snapshot of each definition it lists, equal to its head, and no other. */
  const assertSettled = async (): Promise<void> => {
    for (const doc of await bindings.find({}).toArray()) {
      const [source, type] = doc._id.split('/') as [string, string];
      const snapshots = doc.snapshots ?? [];
      assert.deepEqual(
        snapshots.map((s) => s.id).sort(),
        [...doc.definitionIds].sort(),
        `${doc._id}: every listed definition has its snapshot`,
      );
      assert.deepEqual(
        snapshots.map((s): [string, number] => [s.id, s.revision]).sort(),
        await fromHeads(doc.definitionIds, source, type),
        `${doc._id}: lists exactly the definitions whose heads bind it, at their head's revision`,
      );
    }
  };

  it('answers the lookup of 30 definitions bound to one event with one read, the binding document', async () => {
    const ids = Array.from({ length: 30 }, (_, index) => `fan-${String(index).padStart(2, '0')}`);
    for (const id of ids) await store.save(definition(id), { format: 'json' });
    const { store: reader, tap } = tappedStore();
    const found = await reader.findForEvent('ci', 'built');
    assert.deepEqual(
      found.map((s) => [s.definition.id, s.revision]),
      ids.map((id) => [id, 1]),
    );
    assert.deepEqual(found[0]?.definition.steps[0]?.with, { url: 'https://x.example/a.b', 'odd.key': { $x: [[1]] } });
    assert.deepEqual(found[0]?.actionDefaults, { 'http.request': { timeout: '2m' } });
    assert.deepEqual(tap.reads, ['definition_bindings']);
    await assertSettled();
  });

  it('keeps the snapshot current across a save, a rebind, a second binding, a disable and a delete', async () => {
    const { store: reader, tap } = tappedStore();
    await store.save(definition('a'), { format: 'json' });
    await store.save(definition('b'), { format: 'json' });
    assert.deepEqual(await lookup('ci', 'built', reader), [
      ['a', 1],
      ['b', 1],
    ]);

    await store.save(definition('a', { name: 'Renamed' }), { format: 'json' });
    const [renamed] = await reader.findForEvent('ci', 'built');
    assert.deepEqual([renamed?.definition.name, renamed?.revision], ['Renamed', 2]);

    // Moved to another event: gone from the first binding, settled in the second.
    await store.save(definition('a', { on: [{ source: 'ci', type: 'tested' }] }), { format: 'json' });
    assert.deepEqual(await lookup('ci', 'built', reader), [['b', 1]]);
    assert.deepEqual(await lookup('ci', 'tested', reader), [['a', 3]]);

    // Bound to both, with a condition on one.
    await store.save(
      definition('a', {
        on: [
          { source: 'ci', type: 'tested' },
          { source: 'ci', type: 'built', if: 'event.ok' },
        ],
      }),
      { format: 'json' },
    );
    const built = await reader.findForEvent('ci', 'built');
    assert.deepEqual(
      built.map((s) => [s.definition.id, s.revision]),
      [
        ['a', 4],
        ['b', 1],
      ],
    );
    assert.equal(built[0]?.definition.on[1]?.if, 'event.ok');
    assert.deepEqual(await lookup('ci', 'tested', reader), [['a', 4]]);

    // Disabled definitions are still found (the dispatcher reports them as skipped).
    await store.save(definition('b', { enabled: false }), { format: 'json' });
    assert.equal((await reader.findForEvent('ci', 'built'))[1]?.definition.enabled, false);

    await store.delete('a');
    assert.deepEqual(await lookup('ci', 'built', reader), [['b', 2]]);
    assert.deepEqual(await lookup('ci', 'tested', reader), []);
    await store.save(definition('a'), { format: 'json' });
    assert.deepEqual(await lookup('ci', 'built', reader), [
      ['a', 5],
      ['b', 2],
    ]);

    assert.ok(
      tap.reads.every((collection) => collection === 'definition_bindings'),
      `every lookup read only binding documents: ${tap.reads.join(', ')}`,
    );
    await assertSettled();
  });

  for (const what of ['a save that moves a definition to another event', 'a delete'] as const) {
    it(`answers what the head says after ${what} crashed between any two writes, and the retry settles it`, async () => {
      const others = ['x', 'y'];
      for (const id of others) await store.save(definition(id), { format: 'json' });
      // Count the writes of one uninterrupted run, then crash a fresh definition after each of them in turn.
      const attempt = async (id: string, on: DefinitionStore): Promise<unknown> =>
        what === 'a delete'
          ? on.delete(id)
          : on.save(definition(id, { name: 'Moved', on: [{ source: 'ci', type: 'tested' }] }), { format: 'json' });
      await store.save(definition('counted'), { format: 'json' });
      const counting = tappedStore();
      await attempt('counted', counting.store);
      const writes = counting.tap.writes;
      assert.ok(writes >= 3, `${what} writes ${writes} times`);

      const ids = ['counted', ...others];
      for (let crashAfter = 0; crashAfter < writes; crashAfter++) {
        const id = `crash-${crashAfter}`;
        ids.push(id);
        await store.save(definition(id), { format: 'json' });
        const crashing = tappedStore();
        crashing.tap.crashAfter = crashAfter;
        await assert.rejects(attempt(id, crashing.store), /crashed before write/);
        for (const [source, type] of [
          ['ci', 'built'],
          ['ci', 'tested'],
        ] as const) {
          assert.deepEqual(
            await lookup(source, type),
            await fromHeads(ids, source, type),
            `crashed after ${crashAfter} of ${writes} writes: ${source}/${type} answers what the heads say`,
          );
        }
        // Retried, it settles what the crash left, whether or not the crash came before the commit.
        await attempt(id, store);
        await assertSettled();
      }
      // And every lookup is one read again.
      const { store: reader, tap } = tappedStore();
      await reader.findForEvent('ci', 'built');
      await reader.findForEvent('ci', 'tested');
      assert.deepEqual(tap.reads, ['definition_bindings', 'definition_bindings']);
    });
  }

  it('reads binding documents written before snapshots from the heads, and an unchanged save settles them', async () => {
    await store.save(definition('old'), { format: 'json' });
    await store.save(definition('new'), { format: 'json' });
    // As stored before snapshots: the ids alone.
    await bindings.replaceOne({ _id: 'ci/built' }, { definitionIds: ['old', 'new'] });
    const { store: reader, tap } = tappedStore();
    assert.deepEqual(await lookup('ci', 'built', reader), [
      ['new', 1],
      ['old', 1],
    ]);
    assert.deepEqual(tap.reads.sort(), ['definition_bindings', 'definitions', 'definitions']);

    // Re-applying the same definitions (as `flow apply` does) stores nothing new and settles them.
    for (const id of ['old', 'new'])
      assert.deepEqual(await store.save(definition(id), { format: 'json' }), { id, revision: 1, unchanged: true });
    await assertSettled();
    tap.reads.length = 0;
    await reader.findForEvent('ci', 'built');
    assert.deepEqual(tap.reads, ['definition_bindings']);
  });
});

describe('registry: changes of one definition in a binding document', () => {
  const snapshot = (id: string, revision: number, definitionJson = '{}') => ({ id, revision, definitionJson });

  it('unsettles before the head changes: the definition is listed and its snapshot is gone', () => {
    assert.deepEqual(changedBinding(null, 'a', { kind: 'unsettle' }), { definitionIds: ['a'], snapshots: [] });
    assert.deepEqual(
      changedBinding({ definitionIds: ['a', 'b'], snapshots: [snapshot('a', 1), snapshot('b', 1)] }, 'a', {
        kind: 'unsettle',
      }),
      { definitionIds: ['a', 'b'], snapshots: [snapshot('b', 1)] },
    );
    assert.equal(changedBinding({ definitionIds: ['a'], snapshots: [] }, 'a', { kind: 'unsettle' }), undefined);
  });

  it('settles only a definition that is listed, and writes nothing when the snapshot is already there', () => {
    const settle = { kind: 'settle', snapshot: snapshot('a', 2) } as const;
    assert.equal(changedBinding(null, 'a', settle), undefined);
    assert.equal(changedBinding({ definitionIds: ['b'], snapshots: [] }, 'a', settle), undefined);
    assert.deepEqual(changedBinding({ definitionIds: ['a'] }, 'a', settle), {
      definitionIds: ['a'],
      snapshots: [snapshot('a', 2)],
    });
    assert.equal(changedBinding({ definitionIds: ['a'], snapshots: [snapshot('a', 2)] }, 'a', settle), undefined);
  });

  it('leaves a definition unsettled (read from its head) when its text would pass the budget of the document', () => {
    const big = { kind: 'settle', snapshot: snapshot('a', 1, 'x'.repeat(60)) } as const;
    const full = { definitionIds: ['a', 'b'], snapshots: [snapshot('b', 1, 'y'.repeat(50))] };
    assert.equal(changedBinding(full, 'a', big, 100), undefined);
    assert.deepEqual(
      changedBinding({ ...full, snapshots: [...full.snapshots, snapshot('a', 1, 'x')] }, 'a', big, 100),
      full,
    );
    assert.deepEqual(changedBinding(full, 'a', big, 110)?.snapshots?.length, 2);
  });

  it('removes the definition and its snapshot', () => {
    assert.deepEqual(
      changedBinding({ definitionIds: ['a', 'b'], snapshots: [snapshot('a', 1)] }, 'a', { kind: 'remove' }),
      { definitionIds: ['b'], snapshots: [] },
    );
    assert.equal(changedBinding({ definitionIds: ['b'], snapshots: [] }, 'a', { kind: 'remove' }), undefined);
  });
});
