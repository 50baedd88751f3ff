import assert from 'node:assert/strict';
import request from 'supertest';
import { ConfigError, parseApiTokens } from '../../config';
import { startHarness, type Harness } from '../support/harness';

const READ = 'read-token-for-dashboards';
const WRITE = 'write-token-for-the-ci-job';
/** A token value in refused entries; no error message may contain it. */
const SECRET = 'secret-token-value-0123456789';

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

  it('says who a request is authorised as (GET /api/whoami): the name and scope, never the token', async () => {
    const read = await request(harness.app).get('/api/whoami').set('Authorization', as(READ)).expect(200);
    assert.deepEqual(read.body, { actor: 'token-1', scope: 'read', via: 'token' });
    const write = await request(harness.app).get('/api/whoami').set('Authorization', as(WRITE)).expect(200);
    assert.deepEqual(write.body, { actor: 'token-2', scope: 'write', via: 'token' });
    assert.doesNotMatch(JSON.stringify([read.body, write.body]), new RegExp(`${READ}|${WRITE}`));
    await request(harness.app).get('/api/whoami').expect(401);
    await request(harness.app).get('/api/whoami').set('Authorization', as(SECRET)).expect(401);
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

  it('names entries by their own name (alice:write:<token>), and unnamed ones token-<position> as before', () => {
    const tokens = parseApiTokens({
      FLOW_API_TOKENS:
        'alice:write:alices-token-0123456, read:dashboard-token-0123, ops.bot_2-x@example.com:read:bots-token-0123456,' +
        ' write:a:token:with:colons, bob:write:b:token:with:colons',
    });
    assert.deepEqual(tokens, [
      { name: 'alice', scope: 'write', token: 'alices-token-0123456' },
      { name: 'token-2', scope: 'read', token: 'dashboard-token-0123' },
      { name: 'ops.bot_2-x@example.com', scope: 'read', token: 'bots-token-0123456' },
      { name: 'token-4', scope: 'write', token: 'a:token:with:colons' },
      { name: 'bob', scope: 'write', token: 'b:token:with:colons' },
    ]);
    assert.equal(parseApiTokens({ FLOW_API_TOKENS: `${'n'.repeat(64)}:read:${SECRET}` })[0]?.name, 'n'.repeat(64));
  });

  it('refuses bad and duplicate names, naming the entry by position and never repeating its token', () => {
    const cases: [string, RegExp][] = [
      [`alice smith:write:${SECRET}`, /entry 1 has a name that is not 1-64 letters, digits/],
      [`alice!:write:${SECRET}`, /entry 1 has a name that is not/],
      [`:write:${SECRET}`, /entry 1 has a name that is not/],
      [`${'n'.repeat(65)}:write:${SECRET}`, /entry 1 has a name that is not/],
      [`Read:write:${SECRET}`, /entry 1 is named read or write, which are scopes and cannot be names/],
      [`write:read:${SECRET}`, /entry 1 is named read or write/],
      [`read:write:${SECRET}`, /entry 1 is named read or write/],
      [`API-Token:write:${SECRET}`, /entry 1 is named api-token, the name of FLOW_API_TOKEN/],
      [`alice:admin:${SECRET}`, /entry 1 is not read:<token> or write:<token>, optionally after a name/],
      [`alice:write:short`, /entry 1 is not .* with a token of 16 or more characters/],
      [
        `read:other-token-0123456, alice:write:${SECRET}, Alice:read:x${SECRET}`,
        /entry 3 has the same name as entry 2/,
      ],
      // An unnamed entry is token-<position>, so a name taking that is a duplicate too.
      [`token-2:write:${SECRET}, read:x${SECRET}`, /entry 2 has the same name as entry 1/],
      [`alice:write:${SECRET}, bob:read:${SECRET}`, /entry 2 has the same token as entry 1/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => parseApiTokens({ FLOW_API_TOKENS: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'FLOW_API_TOKENS' &&
          message.test(error.message) &&
          !error.message.includes(SECRET.slice(0, 12)) &&
          !error.message.includes('other-token'),
        `${value} should be refused with ${String(message)}`,
      );
    }
  });
});
