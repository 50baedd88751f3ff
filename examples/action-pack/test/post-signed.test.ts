import { CancelledFailure } from '@temporalio/common';
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { ApplicationFailure, FailureType, isActionPack, runActionForTest } from 'flow/sdk';
import { HttpReceiver } from '../../../test/support/http-receiver';
import webhooks from '..';
import { postSigned } from '../post-signed';

const secret = 'whsec-3f9a1c77e2b04d18';

/** What the action's promise settled with when it failed. */
async function failureOf(running: Promise<unknown>): Promise<unknown> {
  return running.then(
    (output) => assert.fail(`expected a failure, got ${JSON.stringify(output)}`),
    (error: unknown) => error,
  );
}

describe('examples/action-pack: webhooks.post_signed', () => {
  let receiver: HttpReceiver;
  let env: Record<string, string>;
  beforeEach(async () => {
    receiver = await HttpReceiver.start();
    env = { WEBHOOKS_SIGNING_SECRET: secret, WEBHOOKS_ALLOWED_ORIGINS: receiver.url };
  });
  afterEach(() => receiver.stop());

  it('is the only action of the pack "webhooks", which is the module\'s default export', () => {
    assert.ok(isActionPack(webhooks));
    assert.equal(webhooks.name, 'webhooks');
    assert.deepEqual(
      webhooks.actions.map(({ id }) => id),
      ['webhooks.post_signed'],
    );
  });

  it('POSTs the JSON body with an HMAC-SHA256 signature of the exact bytes and a per-step idempotency key', async () => {
    receiver.respondWith(() => ({ status: 202, body: { received: true } }));
    const output = await runActionForTest(
      postSigned,
      { url: `${receiver.url}/hooks/flow`, body: { release: '1.4.0', status: 'shipped' } },
      { env, step: { workflowId: 'release-e1', stepId: 'notify' } },
    );
    assert.deepEqual(output, { status: 202, body: { received: true }, delivery: 'release-e1/notify' });
    const [request] = receiver.to('/hooks/flow');
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(request.json, { release: '1.4.0', status: 'shipped' });
    const expected = createHmac('sha256', secret).update(request.body).digest('hex');
    assert.equal(request.headers['x-signature-256'], `sha256=${expected}`);
    assert.equal(request.headers['idempotency-key'], 'release-e1/notify');
  });

  it('puts the signature in the header the step names', async () => {
    await runActionForTest(
      postSigned,
      { url: `${receiver.url}/hooks`, body: {}, signature_header: 'X-Hub-Signature-256' },
      { env },
    );
    const [request] = receiver.to('/hooks');
    assert.match(String(request?.headers['x-hub-signature-256']), /^sha256=[0-9a-f]{64}$/);
    assert.equal(request?.headers['x-signature-256'], undefined);
  });

  it('refuses an origin outside WEBHOOKS_ALLOWED_ORIGINS without sending anything', async () => {
    const error = await failureOf(
      runActionForTest(postSigned, { url: 'http://127.0.0.1:9/elsewhere', body: {} }, { env }),
    );
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, 'OriginNotAllowed');
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /http:\/\/127\.0\.0\.1:9 is not one of them; add it there/);
    assert.equal(receiver.requests.length, 0);
  });

  it('fails without retrying, naming the variable, when the signing secret is not set', async () => {
    const error = await failureOf(
      runActionForTest(
        postSigned,
        { url: `${receiver.url}/hooks`, body: {} },
        {
          env: { WEBHOOKS_ALLOWED_ORIGINS: receiver.url },
        },
      ),
    );
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, FailureType.MissingConfiguration);
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /needs WEBHOOKS_SIGNING_SECRET in the worker's environment/);
  });

  it('retries when the receiver is unavailable (503), and not when it rejects the delivery (400)', async () => {
    receiver.respondWith(() => ({ status: 503, body: { error: 'maintenance' } }));
    const unavailable = await failureOf(runActionForTest(postSigned, { url: `${receiver.url}/h`, body: {} }, { env }));
    assert.ok(unavailable instanceof ApplicationFailure);
    assert.equal(unavailable.type, FailureType.PeerUnavailable);
    assert.equal(unavailable.nonRetryable, false);

    receiver.respondWith(() => ({ status: 400, body: { error: 'bad signature' } }));
    const rejected = await failureOf(runActionForTest(postSigned, { url: `${receiver.url}/h`, body: {} }, { env }));
    assert.ok(rejected instanceof ApplicationFailure);
    assert.equal(rejected.type, FailureType.PeerRejected);
    assert.equal(rejected.nonRetryable, true);
    assert.deepEqual(rejected.details, [{ body: { error: 'bad signature' } }]);
  });

  it('scrubs the signing secret from the output when the receiver echoes it back', async () => {
    receiver.respondWith(() => ({ status: 200, body: { echo: `your key is ${secret}` } }));
    const output = await runActionForTest(postSigned, { url: `${receiver.url}/h`, body: {} }, { env });
    assert.deepEqual(output.body, { echo: 'your key is [redacted]' });
  });

  it('refuses input that is not an http(s) URL before sending anything', async () => {
    const error = await failureOf(runActionForTest(postSigned, { url: 'ftp://files.example/x', body: {} }, { env }));
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, 'InvalidActionInput');
    assert.match(error.message, /url: must be an http:\/\/ or https:\/\/ URL/);
  });

  it('stops waiting for the receiver as soon as the step is cancelled', async () => {
    receiver.respondWith(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 10_000)));
    const cancel = new AbortController();
    const running = failureOf(
      runActionForTest(postSigned, { url: `${receiver.url}/slow`, body: {} }, { env, signal: cancel.signal }),
    );
    while (receiver.to('/slow').length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const cancelledAt = Date.now();
    cancel.abort();
    const error = await running;
    assert.ok(error instanceof CancelledFailure, `expected a CancelledFailure, got ${String(error)}`);
    assert.ok(Date.now() - cancelledAt < 1_000, 'the request was abandoned at once');
  });
});
