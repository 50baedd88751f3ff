import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createWorkerMetrics, metricsWorkerOptions } from '../../workers/metrics';
import { flowBundle } from '../support/harness';

const dir = path.join(__dirname, 'histories');

describe('workflows: replay of recorded histories', () => {
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .sort()
    : [];

  it('has recorded histories of both workflow types to replay', () => {
    assert.ok(
      files.some((file) => file.includes('.dispatch.')),
      'a dispatcher history',
    );
    assert.ok(
      files.some((file) => file.includes('.interpret.')),
      'an interpreter history',
    );
  });

  it('has dispatcher histories from both sides of the start-runs patch, so both branches replay', () => {
    const dispatchers = files
      .filter((file) => file.includes('.dispatch.'))
      .map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
    assert.ok(
      dispatchers.some((text) => text.includes('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED')),
      'a dispatcher that started its runs as children (before the patch)',
    );
    assert.ok(
      dispatchers.some((text) => text.includes('"startRuns"') && text.includes('EVENT_TYPE_MARKER_RECORDED')),
      'a dispatcher that started its runs from the startRuns activity (after the patch)',
    );
  });

  for (const file of files) {
    it(`replays ${file} without nondeterminism`, async () => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
      const results = [];
      const metrics = createWorkerMetrics();
      const options = { workflowBundle: await flowBundle(), ...metricsWorkerOptions(metrics) };
      for await (const result of Worker.runReplayHistories(options, [{ workflowId: file, history }])) {
        results.push(result);
      }
      assert.equal(results.length, 1);
      assert.equal(results[0]?.error, undefined, String(results[0]?.error));
      // Replaying a run must not count it again.
      for (const counter of [metrics.runsStarted, metrics.runsCompleted, metrics.runsFailed]) {
        assert.deepEqual((await counter.get()).values, []);
      }
    });
  }
});
