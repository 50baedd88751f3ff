import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../../config';
import { findFreePort } from '../../devstack/ports';
import { silentProgress } from '../../devstack/progress';
import { startTemporalDevServer, waitForTemporal } from '../../devstack/temporal-server';
import { ensureTemporalCli } from '../../devstack/tools';
import type { SmokeActivities, smokeWorkflow } from '../fixtures/smoke-workflows';
import { bundle, uniqueName } from '../support/stack';

describe('smoke: Temporal persistence', () => {
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-persist-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('keeps a completed workflow visible after the dev server restarts on the same db file', async function () {
    this.timeout(180_000);
    const cli = await ensureTemporalCli({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
    const port = await findFreePort();
    const address = `localhost:${port}`;
    const options = {
      cli: cli.path,
      port,
      uiPort: null,
      dbFile: path.join(scratch, 'temporal.db'),
      namespace: 'default',
      logFile: path.join(scratch, 'temporal.log'),
    };
    const workflowId = uniqueName('persist');
    const taskQueue = uniqueName('persist');
    const workflowBundle = await bundle(require.resolve('../fixtures/smoke-workflows'));

    let server = startTemporalDevServer(options);
    try {
      await waitForTemporal(address, 'default', { process: server });
      const workerConnection = await NativeConnection.connect({ address });
      const connection = await Connection.connect({ address });
      try {
        const activities: SmokeActivities = { greet: async (name) => `hello ${name}` };
        const worker = await Worker.create({ connection: workerConnection, taskQueue, workflowBundle, activities });
        const client = new Client({ connection });
        const result = await worker.runUntil(
          client.workflow.execute<typeof smokeWorkflow>('smokeWorkflow', { taskQueue, workflowId, args: ['again'] }),
        );
        assert.equal(result, 'hello again (from workflow)');
      } finally {
        await connection.close();
        await workerConnection.close();
      }
      await server.stop();

      server = startTemporalDevServer(options);
      await waitForTemporal(address, 'default', { process: server });
      const connection2 = await Connection.connect({ address });
      try {
        const handle = new Client({ connection: connection2 }).workflow.getHandle(workflowId);
        const description = await handle.describe();
        assert.equal(description.status.name, 'COMPLETED');
        assert.equal(await handle.result(), 'hello again (from workflow)');
      } finally {
        await connection2.close();
      }
    } finally {
      await server.stop();
    }
  });
});
