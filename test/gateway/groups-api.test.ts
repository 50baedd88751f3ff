import assert from 'node:assert/strict';
import request from 'supertest';
import { parseApiTokens } from '../../config';
import { startHarness, type Harness } from '../support/harness';

/** Tokens besides the harness's own (named `api-token`): alice may write, the dashboard only read. */
const ALICE = 'alices-write-token-0123456789';
const DASHBOARD = 'dashboard-read-token-0123456789';

describe('gateway: /api/groups', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      worker: false,
      gateway: {
        extraTokens: parseApiTokens({ FLOW_API_TOKENS: `alice:write:${ALICE}, dashboard:read:${DASHBOARD}` }),
      },
    });
  });
  after(() => harness.stop());
  const api = () => request(harness.app);

  it('creates a group as its author, reads it back, replaces it, and answers 200 unchanged for the same members', async () => {
    const created = await api()
      .put('/api/groups/release-managers')
      .set('Authorization', `Bearer ${ALICE}`)
      .send({ members: ['alice', 'U0123ABCD'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'release-managers');
    assert.deepEqual(created.body.members, ['alice', 'U0123ABCD']);
    assert.equal(created.body.author, 'alice');
    assert.equal(created.body.unchanged, false);

    const read = await api().get('/api/groups/release-managers').set('Authorization', `Bearer ${DASHBOARD}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, {
      name: 'release-managers',
      members: ['alice', 'U0123ABCD'],
      updatedAt: created.body.updatedAt,
      author: 'alice',
    });

    const again = await api()
      .put('/api/groups/release-managers')
      .set('Authorization', harness.auth)
      .send({ members: ['alice', 'U0123ABCD'] });
    assert.equal(again.status, 200);
    assert.equal(again.body.unchanged, true);
    assert.equal(again.body.author, 'alice', 'an unchanged save keeps the author');

    const replaced = await api()
      .put('/api/groups/release-managers')
      .set('Authorization', harness.auth)
      .send({ members: ['carol@example.com'] });
    assert.equal(replaced.status, 200);
    assert.deepEqual([replaced.body.members, replaced.body.author], [['carol@example.com'], 'api-token']);
  });

  it('lists groups by name, a page at a time', async () => {
    for (const name of ['grp-b', 'grp-a', 'grp-c'])
      assert.equal(
        (
          await api()
            .put(`/api/groups/${name}`)
            .set('Authorization', harness.auth)
            .send({ members: [`${name}-lead`] })
        ).status,
        201,
      );
    const first = await api().get('/api/groups?limit=2').set('Authorization', `Bearer ${DASHBOARD}`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.items.map((group: { name: string }) => group.name),
      ['grp-a', 'grp-b'],
    );
    assert.equal(first.body.next, '/api/groups?after=grp-b&limit=2');
    const rest = await api()
      .get(first.body.next as string)
      .set('Authorization', `Bearer ${DASHBOARD}`);
    assert.deepEqual(
      rest.body.items.map((group: { name: string }) => group.name).filter((name: string) => name.startsWith('grp-')),
      ['grp-c'],
    );
  });

  it('answers 422 with the path of every problem, 400 for a bad name or body, and stores nothing', async () => {
    const invalid = await api()
      .put('/api/groups/dba')
      .set('Authorization', harness.auth)
      .send({ members: ['alice', 'alice', '', 'group:ops'], owner: 'alice' });
    assert.equal(invalid.status, 422);
    assert.match(invalid.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.deepEqual(
      invalid.body.errors.map((error: { path: string }) => error.path),
      ['owner', 'members[1]', 'members[2]', 'members[3]'],
    );
    const members = await api()
      .put('/api/groups/dba')
      .set('Authorization', harness.auth)
      .send({ members: ['alice', 'alice', '', 'group:ops'] });
    assert.equal(members.status, 422);
    assert.deepEqual(
      members.body.errors.map((error: { path: string }) => error.path),
      ['members[1]', 'members[2]', 'members[3]'],
    );
    assert.match(
      members.body.detail,
      /The group was not saved: 3 errors, the first at members\[1\]: "alice" is listed twice/,
    );
    const none = await api().put('/api/groups/dba').set('Authorization', harness.auth).send({});
    assert.equal(none.status, 422);
    assert.deepEqual(none.body.errors, [
      { path: 'members', message: 'must be a list of approver names, such as ["alice", "U0123ABCD"]' },
    ]);

    const badName = await api()
      .put('/api/groups/Release_Managers')
      .set('Authorization', harness.auth)
      .send({ members: ['alice'] });
    assert.equal(badName.status, 400);
    assert.match(badName.body.detail, /is not a group name/);
    const prefixed = await api().get('/api/groups/group:dba').set('Authorization', harness.auth);
    assert.equal(prefixed.status, 400);
    assert.match(prefixed.body.detail, /without "group:"/);
    const notJson = await api()
      .put('/api/groups/dba')
      .set('Authorization', harness.auth)
      .type('text/plain')
      .send('alice');
    assert.equal(notJson.status, 415);

    const missing = await api().get('/api/groups/dba').set('Authorization', harness.auth);
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /There is no approver group dba/);
  });

  it('needs the write scope to save and delete, and deletes a group once', async () => {
    const readOnly = await api()
      .put('/api/groups/qa')
      .set('Authorization', `Bearer ${DASHBOARD}`)
      .send({ members: ['alice'] });
    assert.equal(readOnly.status, 403);
    const anonymous = await api().get('/api/groups');
    assert.equal(anonymous.status, 401);

    await api()
      .put('/api/groups/qa')
      .set('Authorization', harness.auth)
      .send({ members: ['alice'] });
    const deniedDelete = await api().delete('/api/groups/qa').set('Authorization', `Bearer ${DASHBOARD}`);
    assert.equal(deniedDelete.status, 403);
    const deleted = await api().delete('/api/groups/qa').set('Authorization', `Bearer ${ALICE}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { name: 'qa', deleted: true });
    const twice = await api().delete('/api/groups/qa').set('Authorization', `Bearer ${ALICE}`);
    assert.equal(twice.status, 404);
  });
});
