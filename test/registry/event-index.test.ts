import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { actionsById } from '../../activities';
import type { Definition } from '../../common/definition';
import { eventIndexRouter } from '../../gateway/event-index-router';
import { DefinitionStore, EventIndex, RevisionConflictError, openMongo, type MongoHandle } from '../../registry';
import { testConfig, uniqueName } from '../support/stack';

const definition = (id: string, on: Definition['on'], overrides: Partial<Definition> = {}): Definition => ({
  id,
  name: `Definition ${id}`,
  enabled: true,
  on,
  steps: [{ id: 'one', action: 'http.request', with: { url: 'https://x.example/' } }],
  ...overrides,
});

describe('registry: the events index and saves that name the revision they replace', () => {
  let handles: MongoHandle[];
  let store: DefinitionStore;
  /** A second process on the same database: another gateway, with its own index. */
  let other: DefinitionStore;
  beforeEach(() => {
    const config = testConfig();
    const database = `${config.mongodb.database}_${uniqueName('index').replace(/-/g, '_')}`;
    handles = [0, 1].map(() => openMongo({ uri: config.mongodb.uri, database }));
    store = new DefinitionStore(handles[0]!, actionsById());
    other = new DefinitionStore(handles[1]!, actionsById());
  });
  afterEach(async () => {
    await handles[0]!.db.dropDatabase();
    await Promise.all(handles.map((handle) => handle.close()));
  });

  it('groups definitions by source and event type, each in order, with their conditions and state', async () => {
    await store.save(definition('b', [{ source: 'jira', type: 'issue_transitioned', if: 'event.to == "Done"' }]), {
      format: 'json',
    });
    await store.save(
      definition('a', [
        { source: 'jira', type: 'issue_transitioned' },
        { source: 'github', type: 'push' },
      ]),
      { format: 'json' },
    );
    await store.save(definition('c', [{ source: 'jira', type: 'build' }], { enabled: false }), { format: 'json' });
    await store.save(definition('gone', [{ source: 'gitlab', type: 'push' }]), { format: 'json' });
    await store.delete('gone');

    const { body } = await new EventIndex(store).current();
    assert.equal(body.definitions, 3);
    assert.deepEqual(body.sources, [
      { source: 'github', types: [{ type: 'push', definitions: [entry('a', 1, true)] }] },
      {
        source: 'jira',
        types: [
          { type: 'build', definitions: [entry('c', 1, false)] },
          {
            type: 'issue_transitioned',
            definitions: [entry('a', 1, true), { ...entry('b', 1, true), if: 'event.to == "Done"' }],
          },
        ],
      },
    ]);
  });

  it('rebuilds only when the registry changed, in this process or another, and shows every change', async () => {
    const counting = countingReads(store);
    const index = new EventIndex(counting);
    await store.save(definition('a', [{ source: 'jira', type: 'one' }]), { format: 'json' });
    const first = await index.current();
    assert.equal((await index.current()).etag, first.etag);
    assert.equal(counting.reads, 1, 'an unchanged registry is not read again');

    // Saved by another process: the index sees it on the next request.
    await other.save(definition('b', [{ source: 'jira', type: 'two' }]), { format: 'json' });
    const second = await index.current();
    assert.equal(counting.reads, 2);
    assert.notEqual(second.etag, first.etag);
    assert.deepEqual(
      second.body.sources[0]!.types.map((type) => type.type),
      ['one', 'two'],
    );

    // A save that changes nothing stores nothing and moves nothing.
    await other.save(definition('b', [{ source: 'jira', type: 'two' }]), { format: 'json' });
    await index.current();
    assert.equal(counting.reads, 2);

    await other.delete('a');
    assert.deepEqual(
      (await index.current()).body.sources[0]!.types.map((type) => type.type),
      ['two'],
    );
    assert.equal(counting.reads, 3);
  });

  it('takes many concurrent first saves, from two processes, without failing one on the change stamp', async () => {
    const saves = Array.from({ length: 24 }, (_, n) =>
      (n % 2 === 0 ? store : other).save(definition(`d${n}`, [{ source: 'jira', type: `t${n}` }]), { format: 'json' }),
    );
    const results = await Promise.all(saves);
    assert.ok(results.every((result) => result.revision === 1 && !result.unchanged));
    assert.notEqual(await store.changeStamp(), null);
    assert.equal((await new EventIndex(other).current()).body.definitions, 24);
  });

  it('is rebuilt after its maximum age even when no change moved the stamp (a writer that crashed in between)', async () => {
    let now = 1_000_000;
    const counting = countingReads(store);
    const index = new EventIndex(counting, { maxAgeMs: 60_000, now: () => now });
    await index.current();
    now += 59_000;
    await index.current();
    assert.equal(counting.reads, 1);
    now += 2_000;
    await index.current();
    assert.equal(counting.reads, 2);
  });

  it('serves GET /api/events with an entity tag, and 304 to a request that has the current one', async () => {
    const app = express().use('/api', eventIndexRouter(store));
    await store.save(definition('a', [{ source: 'jira', type: 'one' }]), { format: 'json' });
    const full = await request(app)
      .get('/api/events')
      .set('Accept-Encoding', 'identity')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    const etag = full.headers['etag'] as string;
    assert.match(etag, /^"[\w-]+"$/);
    assert.equal(full.headers['cache-control'], 'private, no-cache');
    assert.deepEqual(
      (full.body as { sources: { source: string }[] }).sources.map((source) => source.source),
      ['jira'],
    );
    assert.equal(full.headers['content-encoding'], undefined, 'not compressed for a client that did not ask');
    const gzipped = await request(app).get('/api/events').set('Accept-Encoding', 'br;q=1, gzip;q=0.5').expect(200);
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.equal(gzipped.headers['vary'], 'Accept-Encoding');
    assert.deepEqual(gzipped.body, full.body, 'the same answer, decompressed');
    const refused = await request(app).get('/api/events').set('Accept-Encoding', 'gzip;q=0, identity').expect(200);
    assert.equal(refused.headers['content-encoding'], undefined);
    const revalidated = await request(app).get('/api/events').set('If-None-Match', etag).expect(304);
    assert.equal(revalidated.text, '');
    await other.save(definition('b', [{ source: 'github', type: 'push' }]), { format: 'json' });
    const changed = await request(app).get('/api/events').set('If-None-Match', etag).expect(200);
    assert.notEqual(changed.headers['etag'], etag);
  });

  it('saves with an expected revision only while that revision is current, and stores nothing otherwise', async () => {
    const a = definition('a', [{ source: 'jira', type: 'one' }]);
    await assert.rejects(
      store.save(a, { format: 'json' }, {}, { expectedRevision: 3 }),
      (error: unknown) => error instanceof RevisionConflictError && error.current === 0 && error.expected === 3,
    );
    assert.equal(await store.get('a'), null, 'nothing stored');
    assert.equal((await store.save(a, { format: 'json' }, {}, { expectedRevision: 0 })).revision, 1);
    await other.save({ ...a, name: 'Changed elsewhere' }, { format: 'json' });
    await assert.rejects(
      store.save({ ...a, name: 'Mine' }, { format: 'json' }, {}, { expectedRevision: 1 }),
      /definition a is at revision 2, but the save expected revision 1/,
    );
    assert.equal((await store.get('a'))?.definition.name, 'Changed elsewhere');
    assert.equal(
      (await store.save({ ...a, name: 'Mine' }, { format: 'json' }, {}, { expectedRevision: 2 })).revision,
      3,
    );
  });
});

/** The store as the index reads it, counting the reads of every definition (the rebuilds). */
function countingReads(store: DefinitionStore): Pick<DefinitionStore, 'changeStamp' | 'summaries'> & { reads: number } {
  const counting = {
    reads: 0,
    changeStamp: () => store.changeStamp(),
    summaries: () => {
      counting.reads += 1;
      return store.summaries();
    },
  };
  return counting;
}

function entry(id: string, revision: number, enabled: boolean): Record<string, unknown> {
  return { id, name: `Definition ${id}`, revision, enabled };
}
