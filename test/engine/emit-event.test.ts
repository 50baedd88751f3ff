import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

describe('engine: flow.emit_event', () => {
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

  async function save(definition: object): Promise<void> {
    const res = await request(harness.app)
      .put(`/api/definitions/${(definition as { id: string }).id}`)
      .set('Authorization', harness.auth)
      .send(definition);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  it('hands an event to another definition through the intake, carrying the causation chain', async () => {
    await save({
      id: 'build-done',
      name: 'Build done',
      on: [{ source: 'ci', type: 'build_finished' }],
      steps: [
        {
          id: 'handover',
          action: 'flow.emit_event',
          with: { source: 'flow', type: 'release_ready', payload: { version: '${{ event.version }}' } },
        },
      ],
    });
    await save({
      id: 'deploy',
      name: 'Deploy',
      on: [{ source: 'flow', type: 'release_ready' }],
      steps: [
        {
          id: 'deploy',
          action: 'http.request',
          with: {
            method: 'POST',
            url: `${receiver.url}/deploy`,
            json: { version: '${{ event.version }}', depth: '${{ run.eventId }}' },
          },
        },
      ],
    });
    const posted = await request(harness.app)
      .post('/events/ci/build_finished')
      .set('Authorization', harness.auth)
      .send({ version: '3.1.0' });
    const { run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      run.steps.map((s) => s.status),
      ['completed'],
    );

    const deploy = await eventually(() => receiver.to('/deploy')[0]);
    assert.equal((deploy.json as { version: string }).version, '3.1.0');
    // The emitted event's key is derived from the emitting run and step, so a retried step cannot emit twice.
    const emittedId = (deploy.json as { depth: string }).depth;
    assert.equal(emittedId, `flow-build-done-${posted.body.eventId}.handover`);
    const emitted = await harness.client.workflow.getHandle(`event-${emittedId}`).describe();
    assert.equal(emitted.status.name, 'COMPLETED');
  });

  it('stops an event loop at the depth limit with a clear, non-retryable error', async () => {
    await save({
      id: 'loop',
      name: 'Loops forever',
      on: [{ source: 'loop', type: 'tick' }],
      steps: [{ id: 'again', action: 'flow.emit_event', with: { source: 'loop', type: 'tick', payload: {} } }],
    });
    await request(harness.app).post('/events/loop/tick').set('Authorization', harness.auth).send({});
    const failed = await eventually(
      async () => {
        for await (const execution of harness.client.workflow.list({
          query: `FlowDefinition = "loop" AND ExecutionStatus = "Failed"`,
        }))
          return execution;
        return undefined;
      },
      60_000,
      'the looping run to fail',
    );
    const error = await harness.client.workflow
      .getHandle(failed.workflowId)
      .result()
      .catch((e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.match(error.cause.message, /event chain from loop-.* is 9 events deep \(limit 8\)/);
    let runs = 0;
    for await (const _ of harness.client.workflow.list({ query: `FlowDefinition = "loop"` })) runs++;
    assert.equal(runs, 9, 'eight hops succeed, the ninth run fails');
  });
});
