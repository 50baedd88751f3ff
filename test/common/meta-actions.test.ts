import assert from 'node:assert/strict';
import { MetaActionError, nextVersion, runMetaAction } from '../../common/meta-actions';

describe('common: meta-actions', () => {
  it('computes the next semantic version for every bump', () => {
    const cases: [string, Parameters<typeof nextVersion>[1], string][] = [
      ['1.2.3', 'patch', '1.2.4'],
      ['1.2.3', 'minor', '1.3.0'],
      ['1.2.3', 'major', '2.0.0'],
      ['v1.2.3', 'patch', '1.2.4'],
      ['1.2.3', 'prerelease', '1.2.4-rc.0'],
      ['1.2.4-rc.0', 'prerelease', '1.2.4-rc.1'],
      ['1.2.4-rc.1', 'patch', '1.2.4'],
      ['1.3.0-rc.2', 'minor', '1.3.0'],
      ['2.0.0-rc.1', 'major', '2.0.0'],
      ['1.2.4-beta.3', 'prerelease', '1.2.4-rc.0'],
    ];
    for (const [version, bump, expected] of cases)
      assert.equal(nextVersion(version, bump), expected, `${version} ${bump}`);
    assert.equal(nextVersion('1.2.3', 'prerelease', 'beta'), '1.2.4-beta.0');
  });

  it('rejects versions that are not semantic versions, saying what is expected', () => {
    assert.throws(
      () => nextVersion('1.2', 'patch'),
      (e: unknown) => e instanceof MetaActionError && /"1.2" is not a semantic version/.test(e.message),
    );
    assert.throws(
      () => runMetaAction('version.next', { version: '1.0.0', bump: 'huge' }),
      /major, minor, patch or prerelease/,
    );
  });

  it('returns the previous and next version from version.next, and flow.set its input', () => {
    assert.deepEqual(runMetaAction('version.next', { version: 'v3.9.9', bump: 'minor' }), {
      previous: '3.9.9',
      version: '3.10.0',
    });
    assert.deepEqual(runMetaAction('flow.set', { a: 1 }), { a: 1 });
  });
});
