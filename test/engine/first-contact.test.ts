import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { DispatchResult } from '../../common/run-types';
import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { startEntryPoint } from '../support/entry-points';
import { findFreePort } from '../../devstack/ports';
import { acceptEvent } from '../../intake';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';
import { uniqueName } from '../support/stack';
import { durableLookups, StoppableMongo } from '../support/stoppable-mongo';

/**
 * Processes that first meet a service while it is down: Flow's real entry points, started as `npm start` starts them.
 *
 * Processes whose first MongoDB operation meets an outage. The mongodb 7 driver keeps a closed topology after a
 * failed connect-on-first-use, so such a process used to fail every later operation with `Topology is closed` until
 * someone restarted it. The other outage tests (`mongodb-outage.test.ts`) cannot see this: their processes connected
 * before the outage, and a connected client rides out an outage by itself. Here the real entry points
 * (`workers/main.ts`, `gateway/main.ts`) run as their own processes, exactly as `npm start` runs them, so the first
 * thing each one asks of MongoDB is asked while it is down.
 */
describe('engine: processes that first meet MongoDB while it is down', () => {
  let mongo: StoppableMongo;
  let receiver: HttpReceiver;
  let scratch: string;
  const processes: ManagedProcess[] = [];

  before(async function () {
    this.timeout(300_000);
    mongo = await StoppableMongo.start();
    receiver = await HttpReceiver.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-first-contact-'));
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((child) => child.stop()));
    await mongo.resume();
  });
  after(async () => {
    await mongo.stop();
    await receiver.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs one of Flow's entry points as `npm start` does, against the test services and this test's MongoDB. */
  async function spawnEntryPoint(
    entry: 'workers/main.ts' | 'gateway/main.ts',
    env: Record<string, string>,
  ): Promise<ManagedProcess> {
    const child = startEntryPoint(
      entry,
      { MONGODB_URI: mongo.uri, FLOW_DATA_DIR: scratch, ...env },
      { logFile: path.join(scratch, `${path.dirname(entry)}.log`) },
    );
    processes.push(child);
    await child.waitForMessage(isReadyMessage, 120_000);
    return child;
  }

  it('a worker whose first registry lookup fails runs the event once MongoDB is back, without a restart', async function () {
    this.timeout(300_000);
    // The gateway side runs in-process; it connected while MongoDB was up. The subject is the worker process.
    const harness: Harness = await startHarness({ mongo: mongo.handle, worker: false });
    try {
      const saved = await request(harness.app)
        .put('/api/definitions/ping-first-contact')
        .set('Authorization', harness.auth)
        .send({
          id: 'ping-first-contact',
          name: 'Ping',
          on: [{ source: 'git', type: 'push' }],
          steps: [{ id: 'ping', action: 'http.request', with: { method: 'POST', url: `${receiver.url}/first` } }],
        });
      assert.equal(saved.status, 201);

      const metricsPort = await findFreePort();
      await spawnEntryPoint('workers/main.ts', {
        FLOW_TASK_QUEUE: harness.taskQueue,
        FLOW_WORKER_METRICS_PORT: String(metricsPort),
        FLOW_WORKSPACE_SWEEP_MINUTES: 'off',
      });
      // The worker is up and has not touched MongoDB yet: its first lookup is the event's.
      await mongo.outage();
      const res = await request(harness.app).post('/events/git/push').set('Authorization', harness.auth).send({});
      assert.equal(res.status, 202);
      const handle = harness.client.workflow.getHandle(res.body.workflowId as string);
      await eventually(
        async () => ((await durableLookups(handle)) === 1 ? true : undefined),
        60_000,
        "the worker's first lookup to fail and be handed to the durable activity",
      );
      // The worker's own metrics endpoint does not depend on MongoDB.
      const during = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(during.status, 200);

      await mongo.resume();
      const { dispatch, run } = await harness.finished(handle.workflowId);
      assert.equal(dispatch.matched.length, 1);
      assert.deepEqual(
        run.steps.map((step) => step.id),
        ['ping'],
      );
      assert.equal(receiver.to('/first').length, 1);
      const after = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(after, /flow_runs_completed_total\{definition="ping-first-contact"\} 1/);
    } finally {
      await harness.stop();
    }
  });

  it('a gateway started while MongoDB is down reports it down, then up once it answers, and saves', async function () {
    this.timeout(180_000);
    await mongo.outage();
    const port = await findFreePort();
    const token = 'flow_first_contact_token';
    await spawnEntryPoint('gateway/main.ts', { PORT: String(port), FLOW_API_TOKEN: token });
    const gateway = `http://127.0.0.1:${port}`;

    const down = await fetch(`${gateway}/healthz`);
    assert.equal(down.status, 503);
    assert.equal(((await down.json()) as { mongodb: string }).mongodb, 'down');
    const refused = await fetch(`${gateway}/api/definitions`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 503, 'listing while MongoDB is down');

    await mongo.resume();
    await eventually(
      async () => ((await fetch(`${gateway}/healthz`)).status === 200 ? true : undefined),
      30_000,
      '/healthz to report MongoDB up',
    );
    const saved = await fetch(`${gateway}/api/definitions/after-outage`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: 'after-outage',
        name: 'Saved after the outage',
        on: [{ source: 'git', type: 'tag' }],
        steps: [{ id: 'ping', action: 'http.request', with: { url: `${receiver.url}/never` } }],
      }),
    });
    assert.equal(saved.status, 201, await saved.text());
    const read = await fetch(`${gateway}/api/definitions/after-outage`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(((await read.json()) as { revision: number }).revision, 1);
  });
});

describe('engine: a worker started before Temporal answers', () => {
  let scratch: string;
  const processes: ManagedProcess[] = [];
  const privateServers: PrivateTemporal[] = [];
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-first-temporal-'));
  });
  after(async () => {
    await Promise.all(processes.splice(0).map((child) => child.stop()));
    await Promise.all(privateServers.splice(0).map((server) => server.stop()));
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('stops at once on SIGTERM while it waits for the server', async function () {
    this.timeout(120_000);
    const temporal = await PrivateTemporal.prepare();
    privateServers.push(temporal);
    const worker = startEntryPoint(
      'workers/main.ts',
      { TEMPORAL_ADDRESS: temporal.address, FLOW_TASK_QUEUE: uniqueName('never'), FLOW_DATA_DIR: scratch },
      { logFile: path.join(scratch, 'waiting-worker.log') },
    );
    processes.push(worker);
    await eventually(
      () => (worker.logTail().includes('is not answering') ? true : undefined),
      60_000,
      'the worker to wait for Temporal',
    );
    const asked = Date.now();
    // A grace of 60 s: stop() would SIGKILL after it, and the assertion below tells that apart.
    const status = await worker.stop(60_000);
    assert.ok(Date.now() - asked < 10_000, `SIGTERM took ${Date.now() - asked} ms to stop a waiting worker`);
    assert.deepEqual(status, { code: 0, signal: null }, worker.logTail());
    assert.match(worker.logTail(), /SIGTERM while waiting for Temporal; stopping/);
  });

  it('waits for the server, says so, and then dispatches events', async function () {
    this.timeout(300_000);
    const temporal = await PrivateTemporal.prepare();
    privateServers.push(temporal);
    const address = temporal.address;
    const taskQueue = uniqueName('late-temporal');
    const worker = startEntryPoint(
      'workers/main.ts',
      { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', FLOW_TASK_QUEUE: taskQueue, FLOW_DATA_DIR: scratch },
      { logFile: path.join(scratch, 'worker.log') },
    );
    processes.push(worker);
    const ready = worker.waitForMessage(isReadyMessage, 240_000);
    await eventually(
      () => (worker.logTail().includes(`Temporal at ${address} is not answering`) ? true : undefined),
      60_000,
      'the worker to say it waits for Temporal',
    );
    assert.ok(worker.running, `the worker exited instead of waiting:\n${worker.logTail()}`);

    await temporal.start();
    await ready;
    assert.match(worker.logTail(), new RegExp(`connected to Temporal at ${address.replace(/\./g, '\\.')} after \\d+s`));

    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection });
      const accepted = await acceptEvent({ client, taskQueue }, { source: 'late', type: 'start', body: {} });
      const result = (await client.workflow.getHandle(accepted.workflowId).result()) as DispatchResult;
      assert.deepEqual([result.matched, result.skipped], [[], []]);
    } finally {
      await connection.close();
    }
  });
});
