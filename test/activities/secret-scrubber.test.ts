import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { SecretScrubber } from '../../activities/secrets';

describe('activities: secret scrubbing of results, failures and heartbeats', () => {
  const scrubber = new SecretScrubber({
    JIRA_API_TOKEN: 'jira-token-123',
    SLACK_TOKEN: 'xoxb-slack-456',
    FLOW_SECRET_TRACKER: 'tracker-789',
    UPLOAD_PASSWORD: 'p@ss/word',
    SMTP_URL: 'smtp://flow:s%40mtp-pass@mail.example:587',
    JIRA_URL: 'https://acme.atlassian.net',
    JIRA_EMAIL: 'flow-bot@example.com',
    GITHUB_TOKEN: 'short',
    PATH: '/usr/bin:/bin',
  });

  it("leaves a secret's _ORIGINS list readable: it is configuration, named in refusals", () => {
    const withOrigins = new SecretScrubber({
      FLOW_SECRET_TRACKER_TOKEN: 'tracker-token-789',
      FLOW_SECRET_TRACKER_TOKEN_ORIGINS: 'https://tracker.example',
    });
    assert.equal(SecretScrubber.isSecretName('FLOW_SECRET_TRACKER_TOKEN_ORIGINS'), false);
    assert.equal(SecretScrubber.isSecretName('FLOW_SECRET_TRACKER_TOKEN'), true);
    assert.deepEqual(withOrigins.scrub({ to: 'https://tracker.example', echoed: 'tracker-token-789' }), {
      to: 'https://tracker.example',
      echoed: '[redacted]',
    });
  });

  it('replaces secrets in strings, keys and nested values, and leaves other configuration alone', () => {
    const out = scrubber.scrub({
      status: 200,
      body: {
        echoed: 'Bearer jira-token-123',
        list: ['xoxb-slack-456', 'tracker-789 and tracker-789'],
        'jira-token-123': 'as a key',
        site: 'https://acme.atlassian.net',
        who: 'flow-bot@example.com',
      },
    });
    assert.deepEqual(out, {
      status: 200,
      body: {
        echoed: 'Bearer [redacted]',
        list: ['[redacted]', '[redacted] and [redacted]'],
        '[redacted]': 'as a key',
        site: 'https://acme.atlassian.net',
        who: 'flow-bot@example.com',
      },
    });
  });

  it('finds passwords inside connection URLs, both as written and percent-decoded', () => {
    assert.equal(scrubber.scrub('login s%40mtp-pass / s@mtp-pass failed'), 'login [redacted] / [redacted] failed');
    assert.equal(scrubber.scrub('upload p@ss/word'), 'upload [redacted]');
  });

  it('does not scrub values shorter than six characters, which would mangle ordinary output', () => {
    assert.equal(scrubber.scrub('a short answer'), 'a short answer');
  });

  it('scrubs a failure, its stack, its details and its causes in place', () => {
    const cause = new Error('peer said: token jira-token-123 expired');
    const failure = ApplicationFailure.create({
      message: 'request with xoxb-slack-456 refused',
      type: 'PeerRejected',
      nonRetryable: true,
      details: [{ header: 'tracker-789' }],
      cause,
    });
    const scrubbed = scrubber.scrubError(failure);
    assert.equal(scrubbed, failure);
    assert.equal(failure.message, 'request with [redacted] refused');
    assert.equal(failure.type, 'PeerRejected');
    assert.equal(failure.nonRetryable, true);
    assert.ok(!failure.stack?.includes('xoxb-slack-456'));
    assert.deepEqual(failure.details, [{ header: '[redacted]' }]);
    assert.equal(cause.message, 'peer said: token [redacted] expired');
  });

  it('keeps "__proto__" keys as plain data without touching any prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "tracker-789"}}') as Record<string, unknown>;
    const out = scrubber.scrub<Record<string, unknown>>(input);
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":"[redacted]"}}');
  });

  it('passes values through untouched when the worker has no secrets', () => {
    const value = { a: ['b'] };
    assert.equal(new SecretScrubber({ PATH: '/bin' }).scrub(value), value);
  });
});
