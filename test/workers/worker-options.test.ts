import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../config';
import { SHUTDOWN_FORCE_AFTER_GRACE_MS, workerOptions } from '../../workers/create-worker';
import { connectWorker, testConfig } from '../support/stack';

describe('workers: the worker options read from the configuration', () => {
  it('leaves the activity slots and the workflow cache to the SDK when FLOW_WORKER_MAX_ACTIVITIES and FLOW_WORKER_CACHE_SIZE are unset', () => {
    const options = workerOptions(loadConfig({ FLOW_WORKER_ID: 'worker-1' }));
    assert.deepEqual(options, {
      identity: 'worker-1',
      shutdownGraceTime: 30_000,
      shutdownForceTime: 30_000 + SHUTDOWN_FORCE_AFTER_GRACE_MS,
    });
  });

  it('passes FLOW_WORKER_MAX_ACTIVITIES and FLOW_WORKER_CACHE_SIZE to the SDK, and the grace to its shutdown', () => {
    const config = loadConfig({
      FLOW_WORKER_ID: 'worker-2',
      FLOW_WORKER_MAX_ACTIVITIES: '25',
      FLOW_WORKER_CACHE_SIZE: '1500',
      FLOW_SHUTDOWN_GRACE: '2m',
    });
    assert.deepEqual(workerOptions(config), {
      identity: 'worker-2',
      shutdownGraceTime: 120_000,
      shutdownForceTime: 120_000 + SHUTDOWN_FORCE_AFTER_GRACE_MS,
      maxConcurrentActivityTaskExecutions: 25,
      maxCachedWorkflows: 1500,
    });
  });

  it('gives an activity-only worker (FLOW_WORKER_WORKFLOWS=off) its activity slots but no workflow cache', () => {
    const config = loadConfig({ FLOW_WORKER_MAX_ACTIVITIES: '8', FLOW_WORKER_CACHE_SIZE: '500' });
    const options = workerOptions(config, { workflows: false });
    assert.equal(options.maxConcurrentActivityTaskExecutions, 8);
    assert.equal('maxCachedWorkflows' in options, false);
  });

  it('makes a Temporal worker with that many activity slots and that cache (the SDK takes both as given)', async () => {
    const config = loadConfig({
      FLOW_WORKER_ID: 'tuned',
      FLOW_WORKER_MAX_ACTIVITIES: '7',
      FLOW_WORKER_CACHE_SIZE: '60',
    });
    const connection = await connectWorker();
    try {
      const worker = await Worker.create({
        connection,
        namespace: testConfig().temporal.namespace,
        taskQueue: `worker-options-${process.pid}`,
        activities: { noop: () => Promise.resolve() },
        ...workerOptions(config),
      });
      assert.equal(worker.options.identity, 'tuned');
      assert.equal(worker.options.maxCachedWorkflows, 60);
      assert.deepEqual(worker.options.tuner.activityTaskSlotSupplier, { type: 'fixed-size', numSlots: 7 });
      // A worker holds its connection until it has run and shut down.
      await worker.runUntil(Promise.resolve());
    } finally {
      await connection.close();
    }
  });
});
