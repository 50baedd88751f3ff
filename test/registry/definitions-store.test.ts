import assert from 'node:assert/strict';
import { actionsById } from '../../activities';
import type { Definition } from '../../common/definition';
import { DefinitionDeletedError, DefinitionStore, openMongo, type MongoHandle } from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

const definition = (id: string, overrides: Partial<Definition> = {}): Definition => ({
  id,
  name: `Definition ${id}`,
  enabled: true,
  on: [{ source: 'jira', type: 'issue_transitioned' }],
  steps: [
    { id: 'one', action: 'http.request', with: { url: 'https://x.example/a.b', 'odd.key': { $weird: [[1, 2]] } } },
  ],
  ...overrides,
});

describe('registry: definition store on the real MongoDB-wire server', () => {
  let mongo: MongoHandle;
  let store: DefinitionStore;
  beforeEach(() => {
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('store').replace(/-/g, '_')}`,
    });
    store = new DefinitionStore(mongo, actionsById());
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('creates an immutable revision per save and reads any revision back', async () => {
    assert.deepEqual(await store.save(definition('a'), { format: 'json' }), { id: 'a', revision: 1, unchanged: false });
    const second = definition('a', { name: 'Renamed' });
    assert.deepEqual(await store.save(second, { text: 'name: Renamed # comment', format: 'yaml' }), {
      id: 'a',
      revision: 2,
      unchanged: false,
    });
    assert.equal((await store.get('a'))?.definition.name, 'Renamed');
    assert.equal((await store.get('a', 1))?.definition.name, 'Definition a');
    assert.equal((await store.get('a', 2))?.sourceText, 'name: Renamed # comment');
    assert.equal(await store.get('a', 3), null);
    assert.deepEqual(
      (await store.revisions('a')).map((r) => [r.revision, r.current]),
      [
        [2, true],
        [1, false],
      ],
    );
  });

  it('keeps keys with dots and dollars and nested arrays intact (stored as JSON text)', async () => {
    await store.save(definition('odd'), { format: 'json' });
    assert.deepEqual((await store.get('odd'))?.definition.steps[0]?.with, {
      url: 'https://x.example/a.b',
      'odd.key': { $weird: [[1, 2]] },
    });
  });

  it('does not create a revision when the definition is unchanged', async () => {
    await store.save(definition('same'), { format: 'json' });
    assert.deepEqual(await store.save(definition('same'), { format: 'json' }), {
      id: 'same',
      revision: 1,
      unchanged: true,
    });
  });

  it('gives concurrent saves distinct revisions and ends on the newest', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.save(definition('busy', { name: `v${i}` }), { format: 'json' })),
    );
    assert.deepEqual(results.map((r) => r.revision).sort(), [1, 2, 3, 4, 5]);
    const head = await store.get('busy');
    assert.equal(head?.revision, 5);
    assert.equal(head?.definition.name, (await store.get('busy', 5))?.definition.name);
  });

  it('keeps every definition findable when many are saved at once onto the same new binding', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `racer-${i}`);
    await Promise.all(
      ids.map((id) => store.save(definition(id, { on: [{ source: 'ci', type: 'race' }] }), { format: 'json' })),
    );
    assert.deepEqual((await store.findForEvent('ci', 'race')).map((s) => s.definition.id).sort(), [...ids].sort());
  });

  it('finds definitions by binding, including disabled ones, and follows binding changes', async () => {
    await store.save(definition('on-jira'), { format: 'json' });
    await store.save(definition('off', { enabled: false }), { format: 'json' });
    await store.save(definition('on-jenkins', { on: [{ source: 'jenkins', type: 'build_finished' }] }), {
      format: 'json',
    });
    assert.deepEqual(
      (await store.findForEvent('jira', 'issue_transitioned')).map((s) => [s.definition.id, s.revision]),
      [
        ['off', 1],
        ['on-jira', 1],
      ],
    );
    assert.deepEqual(
      (await store.findForEvent('jenkins', 'build_finished')).map((s) => s.definition.id),
      ['on-jenkins'],
    );

    await store.save(definition('on-jira', { on: [{ source: 'jenkins', type: 'build_finished' }] }), {
      format: 'json',
    });
    assert.deepEqual(
      (await store.findForEvent('jira', 'issue_transitioned')).map((s) => s.definition.id),
      ['off'],
    );
    const jenkins = await store.findForEvent('jenkins', 'build_finished');
    assert.deepEqual(
      jenkins.map((s) => [s.definition.id, s.revision]),
      [
        ['on-jenkins', 1],
        ['on-jira', 2],
      ],
    );
    assert.deepEqual(jenkins[0]?.actionDefaults, { 'http.request': { timeout: '2m' } });
  });

  it("gives runs the defaults of their on_failure steps' actions too", async () => {
    await store.save(
      definition('cleans-up', {
        on: [{ source: 'cleanup', type: 'go' }],
        on_failure: [{ id: 'tell', action: 'slack.post_message', with: { channel: '#ops', text: 'failed' } }],
      }),
      { format: 'json' },
    );
    const [snapshot] = await store.findForEvent('cleanup', 'go');
    assert.deepEqual(snapshot?.actionDefaults, {
      'http.request': { timeout: '2m' },
      'slack.post_message': { timeout: '1m' },
    });
  });

  it('deletes a definition so it stops matching, keeps its history, and numbers a re-save after it', async () => {
    await store.save(definition('gone'), { format: 'json' });
    assert.deepEqual(await store.delete('gone'), { revision: 1 });
    assert.equal(await store.delete('gone'), null);
    await assert.rejects(store.get('gone'), DefinitionDeletedError);
    assert.deepEqual(await store.findForEvent('jira', 'issue_transitioned'), []);
    assert.equal((await store.get('gone', 1))?.revision, 1);
    assert.deepEqual(await store.save(definition('gone'), { format: 'json' }), {
      id: 'gone',
      revision: 2,
      unchanged: false,
    });
    assert.deepEqual(
      (await store.list({ limit: 10 })).map((s) => s.id),
      ['gone'],
    );
  });

  it('pages through the list in id order', async () => {
    for (const id of ['c', 'a', 'b']) await store.save(definition(id), { format: 'json' });
    const first = await store.list({ limit: 2 });
    assert.deepEqual(
      first.map((s) => s.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await store.list({ limit: 2, after: 'b' })).map((s) => s.id),
      ['c'],
    );
  });

  it('finds every registry document by _id through the _id index, never by scanning', async () => {
    // Each read the registry does is a lookup by _id; on a large registry a scan would cost a third of a second.
    // The local FerretDB is built with a patch for this (devstack/tools.ts, FERRETDB_PATCHES).
    await store.save(definition('indexed'), { format: 'json' });
    const lookups: [string, string][] = [
      ['definitions', 'indexed'],
      ['definition_revisions', 'indexed@1'],
      ['definition_bindings', 'jira/issue_transitioned'],
      ['registry_locks', 'lock:indexed'],
    ];
    for (const [collection, id] of lookups) {
      const plan = await mongo.db.collection<{ _id: string }>(collection).find({ _id: id }).explain();
      assert.ok(usesIdIndex(plan), `${collection}: lookup by _id does not use the _id index: ${JSON.stringify(plan)}`);
    }
  });

  it('releases only its own lock: a holder taken over after the stale limit leaves the new owner locked', async () => {
    // Three processes on one registry: A holds a lock past the stale limit, B takes it over, then A finishes. A's
    // release must not remove B's lock, or C could enter while B still holds it.
    const config = testConfig();
    const openProcess = (): MongoHandle => openMongo({ uri: config.mongodb.uri, database: mongo.db.databaseName });
    const handles = [openProcess(), openProcess(), openProcess()] as const;
    const warnings: string[] = [];
    const a = new DefinitionStore(handles[0], actionsById(), { lockStaleMs: 300, warn: (line) => warnings.push(line) });
    const b = new DefinitionStore(handles[1], actionsById(), { lockStaleMs: 300 });
    const c = new DefinitionStore(handles[2], actionsById(), { lockWaitMs: 500 });
    try {
      let bEntered!: () => void;
      const bIsIn = new Promise<void>((resolve) => (bEntered = resolve));
      let releaseB!: () => void;
      const bMayLeave = new Promise<void>((resolve) => (releaseB = resolve));
      let aHeld = false;
      const aDone = a.withLock('definition:train', async () => {
        aHeld = true;
        await bIsIn; // A stalls until B has taken its lock over
      });
      await eventuallyTrue(() => aHeld);
      const bDone = b.withLock('definition:train', async () => {
        bEntered();
        await bMayLeave;
      });
      await aDone;

      const lock = await mongo.db.collection<{ _id: string; owner: string }>('registry_locks').findOne({
        _id: 'lock:definition:train',
      });
      assert.ok(lock, "A's release removed B's lock");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? '', /lost the registry lock definition:train/);
      await assert.rejects(
        c.withLock('definition:train', () => Promise.resolve()),
        /the registry is busy: definition:train/,
        'C entered while B held the lock',
      );

      releaseB();
      await bDone;
      assert.equal(await c.withLock('definition:train', () => Promise.resolve('in')), 'in');
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
  });
});

async function eventuallyTrue(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

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
