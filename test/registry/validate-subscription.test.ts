import assert from 'node:assert/strict';
import { DefinitionDeletedError } from '../../registry';
import { generatedId, validateSubscription } from '../../registry/validate-subscription';

/** A registry holding the definition `release` and the deleted `old`. */
const definitions = {
  get: (id: string) => {
    if (id === 'old') return Promise.reject(new DefinitionDeletedError('old', 3));
    return Promise.resolve(id === 'release' ? ({} as never) : null);
  },
};
const check = (raw: unknown, id?: string) =>
  validateSubscription(raw, {
    owner: 'alice@example.com',
    definitions,
    randomSuffix: () => 'abc123',
    ...(id === undefined ? {} : { id }),
  });
const paths = async (raw: unknown): Promise<string[]> => {
  const result = await check(raw);
  return result.ok ? [] : result.errors.map((error) => error.path);
};
const base = { on: { source: 'jira', type: 'issue_transitioned' }, deliver: { slack: '@alice' } };

describe('registry: validateSubscription', () => {
  it('fills in the owner and a generated id, drops a null mute and writes a mute time in UTC', async () => {
    const result = await check({ ...base, muted_until: null });
    assert.deepEqual(result, {
      ok: true,
      subscription: { id: 'alice-example.com-jira-issue_transitioned-abc123', owner: 'alice@example.com', ...base },
    });
    const muted = await check({ ...base, muted_until: '2030-01-01T02:00:00+02:00' }, 'mine');
    assert.equal(muted.ok && muted.subscription.muted_until, '2030-01-01T00:00:00.000Z');
    assert.equal(muted.ok && muted.subscription.id, 'mine');
  });

  it('generates ids that fit the id pattern, whatever the owner', () => {
    assert.equal(
      generatedId('Ada Lovelace', { definition: 'release', outcomes: ['failed', 'cancelled'] }, 'f00'),
      'ada-lovelace-release-failed-cancelled-f00',
    );
    assert.match(generatedId('...', { source: 'a', type: 'b' }, '1'), /^[a-z0-9][a-z0-9._-]{0,127}$/);
    assert.ok(generatedId('x'.repeat(300), { source: 'y'.repeat(64), type: 'z'.repeat(64) }, 'abc').length <= 128);
  });

  it('names a deleted or unknown definition, and an id that differs from the URL', async () => {
    assert.deepEqual(await paths({ ...base, on: { definition: 'old', outcomes: ['failed'] } }), ['on.definition']);
    assert.deepEqual(await paths({ ...base, on: { definition: 'release', outcomes: [] } }), ['on.outcomes']);
    assert.deepEqual(await paths({ ...base, on: { definition: 'release', outcomes: ['failed', 'failed'] } }), [
      'on.outcomes[1]',
    ]);
    const other = await check({ ...base, id: 'a' }, 'b');
    assert.deepEqual(other.ok ? [] : other.errors.map((error) => error.path), ['id']);
  });

  it('takes one plain email address only', async () => {
    for (const email of ['alice@example.com', 'a.b+releases@mail.example.co.uk'])
      assert.deepEqual(await paths({ ...base, deliver: { email } }), [], email);
    for (const email of [
      'alice@example.com\nBcc: x@example.com',
      'alice@example.com\r',
      'a@example.com,b@example.com',
      'a@example.com; b@example.com',
      'Alice <alice@example.com>',
      'alice@localhost',
      'alice.@example.com',
      '@example.com',
      'alice',
      42,
    ])
      assert.deepEqual(await paths({ ...base, deliver: { email } }), ['deliver.email'], String(email));
  });

  it('takes a Slack user or channel only', async () => {
    for (const slack of ['@alice', '@U0123ABCD', '#releases', '#team.ops-eu_1'])
      assert.deepEqual(await paths({ ...base, deliver: { slack } }), [], slack);
    for (const slack of ['alice', '@', '#a b', '<@U123>', `#${'x'.repeat(81)}`, '@alice\n'])
      assert.deepEqual(await paths({ ...base, deliver: { slack } }), ['deliver.slack'], slack);
  });

  it('checks if and message as CEL over event and run', async () => {
    assert.deepEqual(await paths({ ...base, on: { ...base.on, if: 'run.source == "jira" && event.x > 1' } }), []);
    assert.deepEqual(await paths({ ...base, on: { ...base.on, if: 'vars.x' } }), ['on.if']);
    assert.deepEqual(await paths({ ...base, message: 'By ${{ event.user }} for ${{ run.eventId }}' }), []);
    assert.deepEqual(await paths({ ...base, message: 'Hi ${{ event.user' }), ['message']);
    assert.deepEqual(await paths({ ...base, message: 'x'.repeat(2_001) }), ['message']);
    assert.deepEqual(await paths({ ...base, on: { definition: 'release', outcomes: ['failed'], if: 'true' } }), ['on']);
  });
});
