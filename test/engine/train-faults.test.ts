import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { DispatchResult, RunResult } from '../../common/run-types';
import type { TrainState } from '../../common/train-types';
import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { acceptEvent } from '../../intake';
import { startEntryPoint } from '../support/entry-points';
import { Gates } from '../support/gates';
import { withDatabase } from '../support/global-fixture';
import { startWorkerProcess } from '../support/worker-process';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';
import { testConfig, uniqueName } from '../support/stack';

/** A definition whose one step waits at the receiver's `/hold/<n>` until the test opens that gate. */
function holdingDefinition(receiverUrl: string, id: string, group: string): object {
  return {
    id,
    name: id,
    on: [{ source: 'ci', type: id }],
    concurrency: { group },
    steps: [
      {
        id: 'hold',
        action: 'http.request',
        with: { method: 'POST', url: `${receiverUrl}/hold/\${{ event.n }}`, timeout: '2m' },
        // Short, so a step whose worker died is retried soon on the next one.
        timeout: '4s',
        retry: { initialInterval: '500ms', maximumAttempts: 0 },
      },
    ],
  };
}

describe('engine: a train survives a worker killed while it has a holder and a queue', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  const gates = new Gates();
  const workers: ManagedProcess[] = [];
  before(async () => {
    receiver = await HttpReceiver.start();
    receiver.respondWith(gates.responder);
    harness = await startHarness({ worker: false });
  });
  after(async () => {
    gates.openAll();
    await Promise.all(workers.map((worker) => worker.stop()));
    await harness.stop();
    await receiver.stop();
  });

  it('keeps the order after a SIGKILL and a restart, and starts no run twice', async function () {
    this.timeout(300_000);
    const saved = await request(harness.app)
      .put('/api/definitions/ship')
      .set('Authorization', harness.auth)
      .send(holdingDefinition(receiver.url, 'ship', 'ship'));
    assert.equal(saved.status, 201);
    const crashing = await startWorkerProcess(harness, workers);
    const dispatched: DispatchResult[] = [];
    for (const n of ['k1', 'k2', 'k3']) {
      const posted = await request(harness.app).post('/events/ci/ship').set('Authorization', harness.auth).send({ n });
      assert.equal(posted.status, 202);
      dispatched.push(
        (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as DispatchResult,
      );
    }
    await eventually(() => (receiver.to('/hold/k1').length === 1 ? true : undefined), 60_000, 'k1 to hold the train');

    crashing.child.kill('SIGKILL');
    await crashing.exited;
    await startWorkerProcess(harness, workers);
    // The holder's step was in flight on the dead worker; it is retried on the new one.
    await eventually(() => (receiver.to('/hold/k1').length === 2 ? true : undefined), 60_000, 'k1 retried');
    gates.open('k1');
    await eventually(() => (receiver.to('/hold/k2').length === 1 ? true : undefined), 60_000, 'k2 to hold the train');
    gates.open('k2');
    gates.open('k3');
    for (const dispatch of dispatched) {
      const result = (await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).result()) as RunResult;
      assert.deepEqual(
        result.steps.map((step) => step.status),
        ['completed'],
      );
    }
    assert.deepEqual(
      receiver.to('/hold/').map((req) => req.path),
      ['/hold/k1', '/hold/k1', '/hold/k2', '/hold/k3'],
      'the runs went in arrival order, and only the interrupted step ran again',
    );
    for (const dispatch of dispatched) {
      const runs = await harness.client.workflow.count(
        `FlowEventId = "${dispatch.eventId}" AND WorkflowType = "interpret"`,
      );
      assert.equal(runs.count, 1, `one run for ${dispatch.eventId}`);
    }
  });
});

describe('engine: a train survives a restart of the Temporal server', () => {
  let temporal: PrivateTemporal;
  let scratch: string;
  let harness: Harness;
  let receiver: HttpReceiver;
  const gates = new Gates();
  let worker: ManagedProcess | undefined;

  before(async function () {
    this.timeout(180_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-train-restart-'));
    temporal = await PrivateTemporal.start({ persistent: true });
    receiver = await HttpReceiver.start();
    receiver.respondWith(gates.responder);
    // The registry of the test services; the gateway side only saves the definition there.
    harness = await startHarness({ worker: false });
  });
  after(async () => {
    gates.openAll();
    await worker?.stop();
    await harness.stop();
    await temporal.stop();
    await receiver.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps the queue across the restart and drains it in order', async function () {
    this.timeout(300_000);
    const saved = await request(harness.app)
      .put('/api/definitions/publish')
      .set('Authorization', harness.auth)
      .send(holdingDefinition(receiver.url, 'publish', 'publish'));
    assert.equal(saved.status, 201);
    const taskQueue = uniqueName('restart');
    worker = startEntryPoint(
      'workers/main.ts',
      {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: 'default',
        MONGODB_URI: withDatabase(testConfig().mongodb.uri, harness.db.databaseName),
        FLOW_TASK_QUEUE: taskQueue,
      },
      { logFile: path.join(scratch, 'worker.log') },
    );
    await worker.waitForMessage(isReadyMessage, 120_000);

    let connection = await Connection.connect({ address: temporal.address });
    let client = new Client({ connection });
    const runIds: string[] = [];
    for (const n of ['s1', 's2', 's3']) {
      const accepted = await acceptEvent({ client, taskQueue }, { source: 'ci', type: 'publish', body: { n } });
      const dispatch = (await client.workflow.getHandle(accepted.workflowId).result()) as DispatchResult;
      runIds.push(dispatch.matched[0]!.workflowId);
    }
    await eventually(() => (receiver.to('/hold/s1').length >= 1 ? true : undefined), 60_000, 's1 to hold the train');
    await connection.close();

    await temporal.halt();
    await temporal.start();

    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    try {
      const state = await eventually(
        async () => {
          try {
            return await client.workflow.getHandle('train-publish').query<TrainState>('trainState');
          } catch {
            return undefined;
          }
        },
        60_000,
        'the train to answer after the restart',
      );
      assert.equal(state.holder?.workflowId, runIds[0]);
      assert.deepEqual(
        state.queue.map((entry) => entry.workflowId),
        runIds.slice(1),
      );
      for (const n of ['s1', 's2', 's3']) gates.open(n);
      for (const runId of runIds) await client.workflow.getHandle(runId).result();
      const order = [...new Set(receiver.to('/hold/').map((req) => req.path))];
      assert.deepEqual(order, ['/hold/s1', '/hold/s2', '/hold/s3']);
    } finally {
      await connection.close();
    }
  });
});
