import assert from 'node:assert/strict';
import request from 'supertest';
import { parseApiTokens } from '../../config';
import { startHarness, type Harness } from '../support/harness';

const READ = 'read-token-for-dashboards';
const WRITE = 'write-token-for-the-ci-job';

describe('gateway: API token scopes', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      worker: false,
      gateway: { extraTokens: parseApiTokens({ FLOW_API_TOKENS: `read:${READ}, write:${WRITE}` }) },
    });
  });
  after(() => harness.stop());
  const as = (token: string) => `Bearer ${token}`;
  const definition = {
    id: 'scoped',
    name: 'Scoped',
    on: [{ source: 'a', type: 'b' }],
    steps: [{ id: 's', action: 'flow.set', with: {} }],
  };

  it('lets a read token list, read and plan, but not save, delete or post events (403 saying why)', async () => {
    assert.equal(
      (await request(harness.app).put('/api/definitions/scoped').set('Authorization', as(WRITE)).send(definition))
        .status,
      201,
    );
    assert.equal((await request(harness.app).get('/api/definitions').set('Authorization', as(READ))).status, 200);
    assert.equal(
      (await request(harness.app).get('/api/definitions/scoped').set('Authorization', as(READ))).status,
      200,
    );
    assert.equal((await request(harness.app).get('/api/actions').set('Authorization', as(READ))).status, 200);
    assert.equal(
      (await request(harness.app).post('/api/plan/a/b').set('Authorization', as(READ)).send({})).status,
      200,
    );

    for (const pending of [
      request(harness.app).put('/api/definitions/scoped').set('Authorization', as(READ)).send(definition),
      request(harness.app).delete('/api/definitions/scoped').set('Authorization', as(READ)),
      request(harness.app).post('/api/definitions/scoped/revisions/1/restore').set('Authorization', as(READ)),
      request(harness.app).post('/events/a/b').set('Authorization', as(READ)).send({}),
    ]) {
      const res = await pending;
      assert.equal(res.status, 403);
      assert.match(res.body.detail, /read scope; .* needs a token with the write scope/);
    }
    assert.equal(
      (await request(harness.app).get('/api/definitions/scoped/revisions').set('Authorization', as(READ))).body
        .revisions.length,
      1,
      'nothing was changed',
    );
  });

  it('lets write tokens (FLOW_API_TOKEN and write: entries) do everything, and refuses unknown tokens with 401', async () => {
    assert.equal((await request(harness.app).post('/events/a/b').set('Authorization', as(WRITE)).send({})).status, 202);
    assert.equal(
      (await request(harness.app).post('/events/a/b').set('Authorization', harness.auth).send({})).status,
      202,
    );
    assert.equal(
      (await request(harness.app).get('/api/definitions').set('Authorization', as('not-a-token'))).status,
      401,
    );
  });

  it('rejects malformed FLOW_API_TOKENS entries with a message saying the format', () => {
    assert.throws(
      () => parseApiTokens({ FLOW_API_TOKENS: 'admin:abcdefghijklmnopqrstuvwxyz' }),
      (error: unknown) =>
        error instanceof Error &&
        /entry 1 is not read:<token> or write:<token>/.test(error.message) &&
        !error.message.includes('abcdefghijklmnop'),
    );
    assert.throws(() => parseApiTokens({ FLOW_API_TOKENS: 'read:short' }), /16 or more characters/);
    assert.deepEqual(parseApiTokens({ FLOW_API_TOKENS: '' }), []);
  });
});
