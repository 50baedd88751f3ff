import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { validateDefinition } from '../../registry';
import { actionsById } from '../../activities';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import type { RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { createWorker } from '../../workers/create-worker';
import { openRunIds } from '../../workers/workspace-sweeper';
import { flowBundle } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';
import { uniqueName } from '../support/stack';

describe('engine: long runs continue as new', () => {
  let temporal: PrivateTemporal;
  let address: string;
  let receiver: HttpReceiver;
  before(async function () {
    this.timeout(120_000);
    // A server that suggests continue-as-new after 40 events, so a 12-step run crosses the line several times.
    temporal = await PrivateTemporal.start({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } });
    address = temporal.address;
    receiver = await HttpReceiver.start();
  });
  after(async () => {
    await temporal.stop();
    await receiver.stop();
  });

  it('carries step outputs and vars across runs and finishes every step exactly once', async function () {
    this.timeout(120_000);
    receiver.respondWith((req) => ({
      status: 200,
      body: { n: Number(new URL(req.path, 'http://x').searchParams.get('n')) },
    }));
    const steps = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 2
        ? { id: `s${i}`, action: 'flow.set', with: { [`last`]: `\${{ steps.s${i - 1}.output.body.n }}` } }
        : {
            id: `s${i}`,
            action: 'http.request',
            with: { url: `${receiver.url}/step?n=${i}${i > 0 ? '&first=${{ steps.s0.output.body.n }}' : ''}` },
          },
    );
    const validated = validateDefinition(
      { id: 'long', name: 'Long', on: [{ source: 't', type: 'long' }], steps },
      actionsById(),
    );
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));

    const taskQueue = uniqueName('can');
    const workerConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection });
      const worker = await createWorker({
        connection: workerConnection,
        namespace: 'default',
        taskQueue,
        client,
        registry: { findForEvent: () => Promise.reject(new Error('unused')) },
        env: {},
        workflowBundle: await flowBundle(),
      });
      const input: RunInput = {
        snapshot: { definition: validated.definition, revision: 1, actionDefaults: {} },
        event: {
          id: 't-1',
          source: 't',
          type: 'long',
          body: {},
          receivedAt: new Date(0).toISOString(),
          causation: { rootEventId: 't-1', depth: 0 },
        },
      };
      const workflowId = uniqueName('long');
      const { result, status } = await worker.runUntil(async () => {
        const run = await startFlowWorkflow(client, 'interpret', { taskQueue, workflowId, args: [input] });
        const finished = await run.result();
        return { result: finished, status: await run.query<RunStatus>(RUN_HANDLERS.status) };
      });
      // The run's status keeps every step's timing across the continue-as-new, the step just before it included.
      const completed = status.steps.filter((step) => step.status === 'completed');
      assert.ok(completed.length > 0);
      for (const step of completed)
        assert.ok(typeof step.durationMs === 'number' && step.startedAt !== undefined, `${step.id} lost its timing`);
      assert.deepEqual(
        result.steps.map((step) => step.id),
        steps.map((step) => step.id),
      );
      assert.deepEqual(result.vars, { last: 10 });
      assert.deepEqual(
        receiver.to('/step').map((req) => req.path.replace(/.*n=(\d+).*/, '$1')),
        ['0', '1', '3', '4', '6', '7', '9', '10'],
      );

      let runs = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs++;
      assert.ok(runs > 1, `expected the run to continue as new at least once, saw ${runs} run(s)`);
      // The workspace sweep counts a run that has just continued as new as open, and forgets it once that is old.
      assert.ok((await openRunIds(client)()).includes(workflowId), 'listed while its continue-as-new is recent');
      assert.ok(!(await openRunIds(client, 0)()).includes(workflowId), 'not listed once it has ended');
    } finally {
      await connection.close();
      await workerConnection.close();
    }
  });
});
