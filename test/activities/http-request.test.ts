import assert from 'node:assert/strict';
import { httpRequest } from '../../activities/actions/http-request';
import { failureOf } from '../support/failure-of';
import { HttpReceiver } from '../support/http-receiver';
import { runAction } from '../support/run-action';

/** Runs the real http.request activity with an activity context, against a real local HTTP server. */
function callHttp(input: unknown, env: Record<string, string> = {}): Promise<unknown> {
  return runAction(httpRequest, input, { env });
}

describe('activities: http.request', () => {
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
  });
  after(() => receiver.stop());
  beforeEach(() => {
    receiver.requests.length = 0;
  });

  it('sends method, query, headers and a JSON body, and parses a JSON response', async () => {
    receiver.respondWith(() => ({ status: 201, body: { created: true } }));
    const result = await callHttp({
      method: 'POST',
      url: `${receiver.url}/items`,
      query: { dry: true, n: 2 },
      headers: { 'X-Team': 'release' },
      json: { a: 1 },
    });
    assert.deepEqual((result as { status: number; body: unknown }).status, 201);
    assert.deepEqual((result as { body: unknown }).body, { created: true });
    const sent = receiver.requests[0]!;
    assert.equal(sent.path, '/items?dry=true&n=2');
    assert.equal(sent.headers['x-team'], 'release');
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.deepEqual(sent.json, { a: 1 });
  });

  it('makes 5xx and 429 retryable and other 4xx non-retryable', async () => {
    for (const [status, retryable] of [
      [503, true],
      [429, true],
      [404, false],
      [400, false],
    ] as const) {
      receiver.respondWith(() => ({ status, body: { error: 'x' } }));
      const failure = await failureOf(callHttp({ url: `${receiver.url}/s` }));
      assert.equal(failure.nonRetryable, !retryable, `status ${status}`);
      assert.equal(failure.type, retryable ? 'HttpServerError' : 'HttpClientError');
      assert.match(failure.message, new RegExp(`answered ${status}$`));
    }
  });

  it('reads secret headers from FLOW_SECRET_* in the worker environment, and fails clearly when one is missing', async () => {
    receiver.respondWith(() => undefined);
    await callHttp(
      { url: `${receiver.url}/auth`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
      { FLOW_SECRET_TRACKER_TOKEN: 'Bearer s3cret' },
    );
    assert.equal(receiver.requests[0]?.headers['authorization'], 'Bearer s3cret');
    const failure = await failureOf(
      callHttp({ url: `${receiver.url}/auth`, secret_headers: { Authorization: 'OTHER' } }),
    );
    assert.equal(failure.type, 'MissingSecret');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /FLOW_SECRET_OTHER, which is not set/);
  });

  it('fails without retrying on invalid input, naming the field', async () => {
    const failure = await failureOf(callHttp({ url: 'ftp://example.com/file', method: 'FETCH' }));
    assert.equal(failure.type, 'InvalidActionInput');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /url: must be an http/);
    assert.match(failure.message, /method: /);
  });

  it('treats an unreachable host as a retryable network error', async () => {
    const failure = await failureOf(callHttp({ url: 'http://127.0.0.1:1/nothing', timeout: '2s' }));
    assert.equal(failure.type, 'HttpNetworkError');
    assert.equal(failure.nonRetryable, false);
  });

  it('refuses response bodies too large for workflow history', async () => {
    receiver.respondWith(() => ({ status: 200, body: 'x'.repeat(1024 * 1024 + 10) }));
    const failure = await failureOf(callHttp({ url: `${receiver.url}/big` }));
    assert.equal(failure.type, 'HttpResponseTooLarge');
  });
});
