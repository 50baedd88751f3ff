import assert from 'node:assert/strict';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';

describe('engine: step options', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness();
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  it('retries without limit with maximumAttempts: 0, as documented', async function () {
    this.timeout(60_000);
    // Fails more often than the default five attempts allow, then succeeds.
    let calls = 0;
    receiver.respondWith(() => (++calls <= 6 ? { status: 503, body: { error: 'not yet' } } : undefined));
    const saved = await request(harness.app)
      .put('/api/definitions/patient')
      .set('Authorization', harness.auth)
      .send({
        id: 'patient',
        name: 'Patient',
        on: [{ source: 'test', type: 'patient' }],
        steps: [
          {
            id: 'call',
            action: 'http.request',
            with: { url: `${receiver.url}/flaky` },
            retry: { maximumAttempts: 0, initialInterval: '100ms', maximumInterval: '200ms' },
          },
        ],
      });
    assert.equal(saved.status, 201);
    const runId = await harness.startRun('test', 'patient', {});
    const result = await harness.client.workflow.getHandle(runId).result();
    assert.deepEqual(
      (result as { steps: { status: string }[] }).steps.map((step) => step.status),
      ['completed'],
    );
    assert.equal(receiver.to('/flaky').length, 7);
  });
});
