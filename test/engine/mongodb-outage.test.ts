import type { WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { toolsDir } from '../../config';
import type { ManagedProcess } from '../../devstack/managed-process';
import { startFerretDb, waitForMongo } from '../../devstack/mongodb-server';
import { findFreePort } from '../../devstack/ports';
import { silentProgress } from '../../devstack/progress';
import { ensureFerretDb } from '../../devstack/tools';
import { openMongo, type MongoHandle } from '../../registry';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

describe('engine: events accepted while MongoDB is down', () => {
  let scratch: string;
  let ferret: ManagedProcess | undefined;
  let mongo: MongoHandle;
  let harness: Harness;
  let receiver: HttpReceiver;
  let start: () => Promise<void>;

  before(async function () {
    this.timeout(600_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-outage-'));
    const binary = await ensureFerretDb({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
    const port = await findFreePort();
    const uri = `mongodb://127.0.0.1:${port}/flow`;
    start = async () => {
      ferret = startFerretDb({
        binary: binary.path,
        port,
        dataDir: path.join(scratch, 'data'),
        logFile: path.join(scratch, 'ferretdb.log'),
      });
      await waitForMongo(uri, { process: ferret });
    };
    await start();
    receiver = await HttpReceiver.start();
    mongo = openMongo({ uri, database: 'flow' });
    harness = await startHarness({ mongo });
  });
  after(async () => {
    await harness.stop();
    await mongo.client.close();
    await ferret?.stop();
    await receiver.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('accepts every event with 202 and runs them all once MongoDB is back', async function () {
    this.timeout(180_000);
    const saved = await request(harness.app)
      .put('/api/definitions/ping-on-push')
      .set('Authorization', harness.auth)
      .send({
        id: 'ping-on-push',
        name: 'Ping on push',
        on: [{ source: 'git', type: 'push' }],
        steps: [
          {
            id: 'ping',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/ping`, json: { ref: '${{ event.ref }}' } },
          },
        ],
      });
    assert.equal(saved.status, 201);

    await ferret!.stop();
    const accepted = [];
    for (const ref of ['main', 'develop', 'release/2.4']) {
      const res = await request(harness.app).post('/events/git/push').set('Authorization', harness.auth).send({ ref });
      assert.equal(res.status, 202, 'accepted although MongoDB is down');
      accepted.push(res.body.workflowId as string);
    }
    // The quick lookup (a local activity) fails, and each dispatcher hands the lookup to a durable activity.
    const lengths = new Map<string, number>();
    for (const workflowId of accepted) {
      const handle = harness.client.workflow.getHandle(workflowId);
      await eventually(
        async () => ((await durableLookups(handle)) === 1 ? true : undefined),
        30_000,
        `${workflowId} to wait for the registry in a durable activity`,
      );
      lengths.set(workflowId, (await handle.describe()).historyLength);
    }
    // While it waits, the activity retries on the server: the history does not grow, and nothing has run.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const workflowId of accepted) {
      const description = await harness.client.workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'RUNNING');
      assert.equal(
        description.historyLength,
        lengths.get(workflowId),
        `${workflowId}'s history grew during the outage`,
      );
    }
    assert.equal(receiver.to('/ping').length, 0);

    await start();
    for (const workflowId of accepted) {
      const { dispatch } = await harness.finished(workflowId);
      assert.equal(dispatch.matched.length, 1);
    }
    const refs = await eventually(() =>
      receiver.to('/ping').length === 3 ? receiver.to('/ping').map((r) => (r.json as { ref: string }).ref) : undefined,
    );
    assert.deepEqual(refs.sort(), ['develop', 'main', 'release/2.4']);
  });
});

/** How often a dispatcher scheduled its registry lookup as a durable (not local) activity. */
async function durableLookups(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'findDefinitionsForEvent',
  ).length;
}
