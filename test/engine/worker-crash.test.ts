import assert from 'node:assert/strict';
import request from 'supertest';
import { startWorkerProcess } from '../support/worker-process';
import { killableWorkers } from '../support/killable-workers';
import { eventually } from '../support/http-receiver';

describe('engine: a worker killed in the middle of a run', () => {
  const suite = killableWorkers();

  it('completes after a SIGKILL and a restart, without running completed steps again', async function () {
    this.timeout(240_000);
    const { harness, receiver, workers } = suite;
    // The first call of step two hangs until the worker that made it is dead; later calls answer at once.
    let releaseHeld: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    let holdSlow = true;
    receiver.respondWith(async (req) => {
      if (req.path === '/slow' && holdSlow) await held;
      return undefined;
    });
    const definition = {
      id: 'three-steps',
      name: 'Three steps',
      on: [{ source: 'test', type: 'crash' }],
      steps: [
        // Remote steps: each is recorded when it completes. Local steps are recorded with their workflow task, so a
        // kill runs the task's completed ones again (test/engine/local-steps.test.ts).
        {
          id: 'one',
          action: 'http.request',
          execution: 'remote',
          with: { url: `${receiver.url}/one?event=\${{ run.eventId }}` },
        },
        {
          id: 'two',
          action: 'http.request',
          execution: 'remote',
          with: { url: `${receiver.url}/slow`, timeout: '2m' },
          timeout: '4s',
          retry: { initialInterval: '500ms' },
        },
        {
          id: 'three',
          action: 'http.request',
          execution: 'remote',
          with: { method: 'POST', url: `${receiver.url}/three`, json: { after: '${{ steps.one.output.status }}' } },
        },
      ],
    };
    const saved = await request(harness.app)
      .put('/api/definitions/three-steps')
      .set('Authorization', harness.auth)
      .send(definition);
    assert.equal(saved.status, 201);

    const crashing = await startWorkerProcess(harness, workers);
    const posted = await request(harness.app)
      .post('/events/test/crash')
      .set('Authorization', harness.auth)
      .send({ n: 1 });
    assert.equal(posted.status, 202);
    await eventually(() => (receiver.to('/slow').length > 0 ? true : undefined), 60_000, 'step two to start');

    crashing.child.kill('SIGKILL');
    await crashing.exited;
    holdSlow = false;
    releaseHeld();
    await startWorkerProcess(harness, workers);

    const { run: result } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      result.steps.map((step) => step.status),
      ['completed', 'completed', 'completed'],
    );
    assert.equal(receiver.to('/one').length, 1, 'the completed first step is not executed again');
    assert.equal(receiver.to('/slow').length, 2, 'the interrupted step is retried once on the new worker');
    assert.equal(receiver.to('/three').length, 1);
    assert.deepEqual(receiver.to('/three')[0]!.json, { after: 200 });
  });
});
