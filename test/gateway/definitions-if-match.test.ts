import assert from 'node:assert/strict';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';

/** A definition whose name says which save wrote it. */
const yaml = (name: string): string => `# kept comment
id: guarded
name: ${name}
on:
  - source: demo
    type: guarded
steps:
  - id: note
    action: flow.set
    with:
      values: { note: "${name}" }
`;

describe('gateway: If-Match on definition writes (optimistic concurrency)', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ worker: false });
  });
  after(() => harness.stop());
  const api = () => request(harness.app);
  const put = (name: string, headers: Record<string, string> = {}) =>
    api()
      .put('/api/definitions/guarded')
      .set('Authorization', harness.auth)
      .set(headers)
      .type('application/yaml')
      .send(yaml(name));
  const current = async (): Promise<{ revision: number; name: string }> => {
    const got = await api().get('/api/definitions/guarded').set('Authorization', harness.auth);
    return { revision: got.body.revision, name: got.body.definition.name };
  };

  it('creates with If-None-Match: * only while the definition does not exist', async () => {
    const created = await put('first', { 'If-None-Match': '*' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.revision, 1);
    const again = await put('second', { 'If-None-Match': '*' });
    assert.equal(again.status, 412);
    assert.match(again.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(again.body.currentRevision, 1);
    assert.match(again.body.detail, /exists already \(revision 1\)/);
    assert.deepEqual(await current(), { revision: 1, name: 'first' });
  });

  it('saves with If-Match naming the current revision, as the ETag of a GET gives it, "n" or n', async () => {
    const got = await api().get('/api/definitions/guarded').set('Authorization', harness.auth);
    assert.equal(got.headers['etag'], '"guarded@1"');
    const byEtag = await put('by etag', { 'If-Match': got.headers['etag'] ?? '' });
    assert.deepEqual([byEtag.status, byEtag.body.revision], [201, 2], byEtag.text);

    const yamlTag = await api()
      .get('/api/definitions/guarded')
      .set('Authorization', harness.auth)
      .set('Accept', 'application/yaml');
    assert.equal(yamlTag.headers['etag'], '"guarded@2.yaml"');
    const byYamlTag = await put('by yaml tag', { 'If-Match': yamlTag.headers['etag'] ?? '' });
    assert.deepEqual([byYamlTag.status, byYamlTag.body.revision], [201, 3], byYamlTag.text);

    const quoted = await put('quoted', { 'If-Match': '"3"' });
    assert.deepEqual([quoted.status, quoted.body.revision], [201, 4], quoted.text);
    const bare = await put('bare', { 'If-Match': '4' });
    assert.deepEqual([bare.status, bare.body.revision], [201, 5], bare.text);
    const list = await put('listed', { 'If-Match': '"2", "5"' });
    assert.deepEqual([list.status, list.body.revision], [201, 6], list.text);
    // The same text under a matching If-Match: nothing new, as without it.
    const same = await put('listed', { 'If-Match': '"6"' });
    assert.deepEqual([same.status, same.body], [200, { id: 'guarded', revision: 6, unchanged: true }]);
  });

  it('answers 412 for a revision that is no longer current, and stores nothing', async () => {
    const before = await current();
    const stale = await put('stale', { 'If-Match': '"2"' });
    assert.equal(stale.status, 412);
    assert.match(stale.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(stale.body.title, 'Precondition Failed');
    assert.equal(stale.body.currentRevision, before.revision);
    assert.equal(stale.body.expectedRevision, 2);
    assert.match(
      stale.body.detail,
      new RegExp(`is at revision ${before.revision}, but this write was made against revision 2`),
    );
    assert.match(stale.body.detail, /reload, re-apply your change, and save again/);
    assert.deepEqual(await current(), before);

    // A stale revision is refused even when the text is the same as the current one.
    const sameButStale = await put(before.name, { 'If-Match': '"1"' });
    assert.equal(sameButStale.status, 412);
    // The dry save answers as the save would.
    const validated = await api()
      .post('/api/definitions/guarded/validate')
      .set('Authorization', harness.auth)
      .set('If-Match', '"1"')
      .type('application/yaml')
      .send(yaml('dry'));
    assert.equal(validated.status, 412);
    const validatedOk = await api()
      .post('/api/definitions/guarded/validate')
      .set('Authorization', harness.auth)
      .set('If-Match', `"${before.revision}"`)
      .type('application/yaml')
      .send(yaml('dry'));
    assert.equal(validatedOk.status, 200, validatedOk.text);
    // Without If-Match a save happens whatever is current, as before.
    const plain = await put('plain');
    assert.deepEqual([plain.status, plain.body.revision], [201, before.revision + 1]);
  });

  it('restores a revision under If-Match, which names the current revision the restore replaces', async () => {
    const before = await current();
    const restore = (ifMatch: string) =>
      api()
        .post('/api/definitions/guarded/revisions/1/restore')
        .set('Authorization', harness.auth)
        .set('If-Match', ifMatch);
    const stale = await restore('"1"');
    assert.equal(stale.status, 412);
    assert.equal(stale.body.currentRevision, before.revision);
    assert.deepEqual(await current(), before);
    const restored = await restore(`"${before.revision}"`);
    assert.deepEqual(
      [restored.status, restored.body.revision, restored.body.restoredFrom],
      [201, before.revision + 1, 1],
    );
    assert.deepEqual(await current(), { revision: before.revision + 1, name: 'first' });
  });

  it('If-Match: * saves while the definition exists and answers 412 once it is deleted', async () => {
    const before = await current();
    const any = await put('any', { 'If-Match': '*' });
    assert.deepEqual([any.status, any.body.revision], [201, before.revision + 1], any.text);

    const staleDelete = await api()
      .delete('/api/definitions/guarded')
      .set('Authorization', harness.auth)
      .set('If-Match', '"1"');
    assert.equal(staleDelete.status, 412);
    const deleted = await api()
      .delete('/api/definitions/guarded')
      .set('Authorization', harness.auth)
      .set('If-Match', '*');
    assert.equal(deleted.status, 200, deleted.text);

    const gone = await put('gone', { 'If-Match': '*' });
    assert.equal(gone.status, 412);
    assert.equal(gone.body.currentRevision, 0);
    assert.match(gone.body.detail, /does not exist \(or was deleted\)/);
    const staleGone = await put('gone', { 'If-Match': `"${before.revision + 1}"` });
    assert.equal(staleGone.status, 412);
    assert.equal(staleGone.body.currentRevision, 0);
    const missing = await api().get('/api/definitions/guarded').set('Authorization', harness.auth);
    assert.equal(missing.status, 404);
    // A deleted definition counts as absent: If-None-Match: * brings it back.
    const back = await put('back', { 'If-None-Match': '*' });
    assert.equal(back.status, 201, back.text);
  });

  it('answers 400 for a malformed If-Match, and stores nothing', async () => {
    const before = await current();
    for (const ifMatch of ['"abc"', 'W/"1"', '"0"', '"other@1"', '"1', `"${before.revision}", nope`, '"1.yaml"']) {
      const answer = await put('malformed', { 'If-Match': ifMatch });
      assert.equal(answer.status, 400, `${ifMatch}: ${answer.text}`);
      assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(answer.body.detail, /If-Match/);
    }
    const both = await put('malformed', { 'If-Match': '*', 'If-None-Match': '*' });
    assert.equal(both.status, 400);
    const tagged = await put('malformed', { 'If-None-Match': '"1"' });
    assert.equal(tagged.status, 400);
    assert.deepEqual(await current(), before);
  });
});
