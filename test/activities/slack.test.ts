import assert from 'node:assert/strict';
import { slackPostMessage } from '../../activities/actions/slack-post-message';
import { exampleStepErrors, renderExample } from '../support/example-steps';
import { FakeSlack } from '../support/fake-slack';
import { failureOf } from '../support/failure-of';
import { runAction } from '../support/run-action';

const TOKEN = 'xoxb-test-0000-flow';

describe('activities: slack.post_message', () => {
  let slack: FakeSlack;
  let env: Record<string, string>;
  before(async () => {
    slack = await new FakeSlack({ token: TOKEN }).start();
    env = { SLACK_TOKEN: TOKEN, SLACK_API_URL: slack.url };
  });
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  it('posts text, blocks and a thread reply with the bot token, and returns the channel id and ts', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Release 2.4.0' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Build* passed :white_check_mark:' } },
    ];
    const output = await runAction(
      slackPostMessage,
      { channel: 'C0RELEASES', text: 'Release 2.4.0 passed', blocks, thread_ts: '1712345001.000001' },
      { env },
    );

    assert.equal(slack.messages.length, 1);
    const message = slack.messages[0]!;
    assert.deepEqual(output, { channel: 'C0RELEASES', ts: message.ts });
    assert.equal(message.channel, 'C0RELEASES');
    assert.equal(message.text, 'Release 2.4.0 passed');
    assert.deepEqual(message.blocks, blocks);
    assert.equal(message.thread_ts, '1712345001.000001');
    const request = slack.requests[0]!;
    assert.equal(request.apiMethod, 'chat.postMessage');
    assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(request.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
  });

  it('posts to a channel given by #name and returns its id', async () => {
    const output = await runAction(slackPostMessage, { channel: '#releases', text: 'Code freeze starts now' }, { env });
    assert.deepEqual(output, { channel: 'C0RELEASES', ts: slack.messages[0]?.ts });
    assert.equal(slack.messages[0]?.blocks, undefined);
    assert.equal(slack.messages[0]?.thread_ts, undefined);
  });

  it('fails without retrying and names the Slack error when the channel is unknown, the app is not in it, or the token is wrong', async () => {
    const cases = [
      { channel: '#no-such-channel', env, code: 'channel_not_found' },
      { channel: '#general', env, code: 'not_in_channel' },
      { channel: '#releases', env: { ...env, SLACK_TOKEN: 'xoxb-revoked-9999' }, code: 'invalid_auth' },
    ];
    for (const { channel, env: caseEnv, code } of cases) {
      const failure = await failureOf(runAction(slackPostMessage, { channel, text: 'hello' }, { env: caseEnv }));
      assert.equal(failure.nonRetryable, true, code);
      assert.equal(failure.type, 'PeerRejected', code);
      assert.match(failure.message, new RegExp(`Slack answered ${code}\\b`));
      assert.deepEqual(failure.details, [{ slack_error: code }]);
      assert.ok(!failure.message.includes('xoxb-'), 'the token never appears in a failure');
    }
    assert.equal(slack.messages.length, 0);
  });

  it('retries when Slack rate-limits, with the delay Slack asked for', async () => {
    slack.failNext({ status: 429, retryAfterSeconds: 7 });
    const failure = await failureOf(runAction(slackPostMessage, { channel: '#releases', text: 'hi' }, { env }));
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.type, 'PeerUnavailable');
    assert.equal(failure.nextRetryDelay, '7s');
    assert.equal(slack.requests.length, 1, 'the client itself does not retry');
    assert.equal(slack.messages.length, 0);
  });

  it('retries when Slack fails with a 5xx or an internal error, or cannot be reached', async () => {
    slack.failNext({ status: 503 });
    const unavailable = await failureOf(runAction(slackPostMessage, { channel: '#releases', text: 'hi' }, { env }));
    assert.equal(unavailable.nonRetryable, false);
    assert.equal(unavailable.type, 'PeerUnavailable');
    assert.match(unavailable.message, /HTTP 503/);

    slack.failNext({ error: 'internal_error' });
    const internal = await failureOf(runAction(slackPostMessage, { channel: '#releases', text: 'hi' }, { env }));
    assert.equal(internal.nonRetryable, false);
    assert.match(internal.message, /internal_error/);

    const unreachable = await failureOf(
      runAction(
        slackPostMessage,
        { channel: '#releases', text: 'hi' },
        { env: { ...env, SLACK_API_URL: 'http://127.0.0.1:1/api/' } },
      ),
    );
    assert.equal(unreachable.nonRetryable, false);
    assert.equal(unreachable.type, 'PeerUnavailable');
    assert.match(unreachable.message, /Slack is unreachable/);
    assert.equal(slack.requests.length, 2, 'each failure took exactly one request');
  });

  it('fails with MissingConfiguration naming SLACK_TOKEN when the worker has no token, without calling Slack', async () => {
    const failure = await failureOf(
      runAction(slackPostMessage, { channel: '#releases', text: 'hi' }, { env: { SLACK_API_URL: slack.url } }),
    );
    assert.equal(failure.type, 'MissingConfiguration');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /SLACK_TOKEN/);
    assert.equal(slack.requests.length, 0);
  });

  it('refuses a SLACK_API_URL that is not an http(s) Web API base ending in /api/, and accepts one without the slash', async () => {
    const port = new URL(slack.url).port;
    for (const url of [
      `http://127.0.0.1:${port}`,
      `http://127.0.0.1:${port}/api/?team=x`,
      `http://flow:pw@127.0.0.1:${port}/api/`,
      'slack.com/api/',
    ]) {
      const failure = await failureOf(
        runAction(slackPostMessage, { channel: '#releases', text: 'hi' }, { env: { ...env, SLACK_API_URL: url } }),
      );
      assert.equal(failure.type, 'MissingConfiguration', url);
      assert.match(failure.message, /SLACK_API_URL to be the Web API base URL ending in \/api\//);
    }
    assert.equal(slack.requests.length, 0);
    const posted = (await runAction(
      slackPostMessage,
      { channel: '#releases', text: 'hi' },
      { env: { ...env, SLACK_API_URL: slack.url.replace(/\/$/, '') } },
    )) as { ts: string };
    assert.ok(posted.ts);
  });

  it('refuses input without text, with more than 50 blocks, or with a token in it, before calling Slack', async () => {
    const cases: [unknown, RegExp][] = [
      [{ channel: '#releases', blocks: [{ type: 'divider' }] }, /text: /],
      [
        { channel: '#releases', text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) },
        /blocks: /,
      ],
      [{ channel: '#releases', text: 'x', token: TOKEN }, /token/],
      [{ channel: '#releases', text: 'x', thread_ts: 'yesterday' }, /thread_ts: /],
    ];
    for (const [input, field] of cases) {
      const failure = await failureOf(runAction(slackPostMessage, input, { env }));
      assert.equal(failure.type, 'InvalidActionInput');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, field);
    }
    assert.equal(slack.requests.length, 0);
  });

  it('has examples that are valid steps and post once their expressions have values', async () => {
    const values = {
      'vars.version': '2.4.0',
      'steps.announce.output.channel': 'C0RELEASES',
      'steps.announce.output.ts': '1712345001.000001',
    };
    for (const example of slackPostMessage.examples) {
      assert.deepEqual(exampleStepErrors(slackPostMessage, example), [], example.title);
      await runAction(slackPostMessage, renderExample(example.with, values), { env });
    }
    assert.equal(slack.messages.length, slackPostMessage.examples.length);
    assert.equal(slack.messages[0]?.text, 'Release 2.4.0 is out');
    assert.equal(slack.messages[1]?.thread_ts, '1712345001.000001');
  });
});
