import assert from 'node:assert/strict';
import { workerEnvironmentProblems } from '../../activities/worker-environment';

describe('activities: the worker environment checked at start', () => {
  it('accepts an environment without the optional settings, and well-formed ones', () => {
    assert.deepEqual(workerEnvironmentProblems({}), []);
    assert.deepEqual(
      workerEnvironmentProblems({
        FLOW_HTTP_BLOCK_PRIVATE: '1',
        FLOW_HTTP_PRIVATE_ORIGINS: 'http://10.0.0.5:8080',
        FLOW_SECRET_TRACKER_TOKEN: 'a-secret-value',
        FLOW_SECRET_TRACKER_TOKEN_ORIGINS: 'https://tracker.example, https://other.example:8443',
      }),
      [],
    );
  });

  it('names every unusable setting at once, never a secret value', () => {
    const problems = workerEnvironmentProblems({
      FLOW_HTTP_BLOCK_PRIVATE: 'sure',
      FLOW_HTTP_PRIVATE_ORIGINS: 'http://10.0.0.5/path',
      FLOW_SECRET_TRACKER_TOKEN: 'a-secret-value',
      FLOW_SECRET_TRACKER_TOKEN_ORIGINS: 'tracker.example',
    });
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0] ?? '', /FLOW_HTTP_BLOCK_PRIVATE/);
    assert.match(
      problems[1] ?? '',
      /FLOW_HTTP_PRIVATE_ORIGINS holds "http:\/\/10\.0\.0\.5\/path", which is not an origin/,
    );
    assert.match(problems[2] ?? '', /FLOW_SECRET_TRACKER_TOKEN_ORIGINS holds "tracker\.example"/);
    assert.ok(problems.every((problem) => !problem.includes('a-secret-value')));
  });
});
