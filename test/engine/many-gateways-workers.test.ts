import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { FlowProcesses } from '../support/flow-processes';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

/** What one POST /events answered. */
interface Accepted {
  readonly eventId: string;
  readonly workflowId: string;
  readonly duplicate: boolean;
}

/** Runs `tasks` at most `limit` at a time, keeping their order. */
async function inBatches<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

/**
 * Gateways are stateless and workers share nothing but Temporal and MongoDB: two gateway processes take the events
 * (half each, and every keyed event posted to both), two worker processes on one task queue run them, and every
 * event has one dispatcher and one run, whose side effect a local receiver counts exactly once.
 */
describe('engine: two gateways and two workers on one task queue', () => {
  let harness: Harness;
  let scratch: string;
  let processes: FlowProcesses;
  let receiver: HttpReceiver;
  before(async () => {
    harness = await startHarness({ worker: false });
    receiver = await HttpReceiver.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-many-gateways-'));
    processes = new FlowProcesses(harness, scratch);
  });
  after(async () => {
    await processes.stopAll();
    await harness.stop();
    await receiver.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('runs each of 100 events exactly once, with some posted to both gateways under one idempotency key', async function () {
    this.timeout(600_000);
    const saved = await request(harness.app)
      .put('/api/definitions/counted')
      .set('Authorization', harness.auth)
      .send({
        id: 'counted',
        name: 'Counted',
        on: [{ source: 'test', type: 'counted' }],
        steps: [
          {
            id: 'hit',
            action: 'http.request',
            with: {
              method: 'POST',
              url: `${receiver.url}/hit`,
              json: { event: '${{ run.eventId }}', n: '${{ event.n }}' },
            },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));

    const [gatewayA, gatewayB] = await Promise.all([processes.gateway(), processes.gateway()]);
    await Promise.all([
      processes.worker({ FLOW_WORKER_ID: 'worker-1' }),
      processes.worker({ FLOW_WORKER_ID: 'worker-2' }),
    ]);
    const gateways = [gatewayA.url, gatewayB.url];

    const N = 100;
    const KEYED = 20;
    const post = async (gateway: string, n: number, key?: string): Promise<Accepted> => {
      const response = await fetch(`${gateway}/events/test/counted`, {
        method: 'POST',
        headers: {
          authorization: harness.auth,
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify({ n }),
      });
      const text = await response.text();
      assert.equal(response.status, 202, `${gateway}: ${text}`);
      return JSON.parse(text) as Accepted;
    };
    // Events 0..79 go to one gateway each, alternating; the 20 keyed ones go to both at once.
    const tasks: (() => Promise<{ n: number; accepted: Accepted }>)[] = [];
    for (let n = 0; n < N; n += 1) {
      if (n < N - KEYED) {
        tasks.push(async () => ({ n, accepted: await post(gateways[n % 2]!, n) }));
      } else {
        const key = `counted-${harness.taskQueue}-${n}`;
        for (const gateway of gateways) tasks.push(async () => ({ n, accepted: await post(gateway, n, key) }));
      }
    }
    const answers = await inBatches(tasks, 16);
    assert.equal(answers.length, N + KEYED);

    // Every event has exactly one dispatcher: a keyed event's two posts name the same one, and one of them is the
    // duplicate.
    const byEvent = new Map<number, Accepted[]>();
    for (const { n, accepted } of answers) byEvent.set(n, [...(byEvent.get(n) ?? []), accepted]);
    for (const [n, accepted] of byEvent) {
      assert.equal(new Set(accepted.map(({ workflowId }) => workflowId)).size, 1, `event ${n} got two dispatchers`);
      assert.equal(accepted.filter(({ duplicate }) => !duplicate).length, 1, `event ${n}: ${JSON.stringify(accepted)}`);
    }
    const dispatchers = [...byEvent.values()].map((accepted) => accepted[0]!.workflowId);
    assert.equal(new Set(dispatchers).size, N);

    // Every dispatcher matched one run, and every run completed.
    const runIds: string[] = [];
    for (const workflowId of dispatchers) {
      const dispatch = (await harness.client.workflow.getHandle(workflowId).result()) as DispatchResult;
      assert.equal(dispatch.matched.length, 1, JSON.stringify(dispatch));
      runIds.push(dispatch.matched[0]!.workflowId);
    }
    assert.equal(new Set(runIds).size, N);
    for (const runId of runIds) {
      const run = (await harness.client.workflow.getHandle(runId).result()) as RunResult;
      assert.deepEqual(
        run.steps.map((step) => step.status),
        ['completed'],
      );
    }

    // The side effect happened exactly once per event.
    const hits = receiver.to('/hit').map((hit) => (hit.json as { n: number }).n);
    assert.equal(hits.length, N, `the receiver counted ${hits.length} side effects for ${N} events`);
    assert.deepEqual(
      [...new Set(hits)].sort((a, b) => a - b),
      Array.from({ length: N }, (_, n) => n),
    );

    // Temporal saw one execution per dispatcher and per run (none started twice), and both workers did the work.
    const executions = await eventually(
      async () => {
        const listed: { workflowId: string; type: string }[] = [];
        for await (const execution of harness.client.workflow.list({ query: `TaskQueue="${harness.taskQueue}"` }))
          listed.push({ workflowId: execution.workflowId, type: execution.type });
        return listed.length >= 2 * N ? listed : undefined;
      },
      60_000,
      'every execution to be listed',
    );
    assert.equal(executions.length, 2 * N, JSON.stringify(executions.slice(0, 5)));
    assert.equal(new Set(executions.map(({ workflowId }) => workflowId)).size, 2 * N);
    const identities = new Set<string>();
    for (const workflowId of [...dispatchers, ...runIds]) {
      const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events ?? []) {
        const identity =
          event.workflowTaskCompletedEventAttributes?.identity ?? event.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    assert.deepEqual([...identities].sort(), ['worker-1', 'worker-2']);
  });
});
