import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { connectClient, connectWorker, bundle, testConfig, uniqueName } from '../support/stack';
import type { SmokeActivities, smokeWorkflow } from '../fixtures/smoke-workflows';

describe('smoke: Temporal dev server', () => {
  let workflowBundle: WorkflowBundleWithSourceMap;
  before(async () => {
    workflowBundle = await bundle(require.resolve('../fixtures/smoke-workflows'));
  });

  it('runs a workflow and its activity to completion on the real server', async () => {
    const { client, connection } = await connectClient();
    const workerConnection = await connectWorker();
    const taskQueue = uniqueName('smoke');
    const calls: string[] = [];
    const activities: SmokeActivities = {
      greet: async (name) => {
        calls.push(name);
        return `hello ${name}`;
      },
    };
    try {
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: testConfig().temporal.namespace,
        taskQueue,
        workflowBundle,
        activities,
      });
      const result = await worker.runUntil(
        client.workflow.execute<typeof smokeWorkflow>('smokeWorkflow', {
          taskQueue,
          workflowId: uniqueName('smoke-wf'),
          args: ['flow'],
        }),
      );
      assert.equal(result, 'hello flow (from workflow)');
      assert.deepEqual(calls, ['flow']);
    } finally {
      await workerConnection.close();
      await connection.close();
    }
  });
});
