import type { RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { progress, type BenchContext } from '../context';
import { flowEvent, snapshotOf } from '../definitions';
import { historyFacts } from '../histories';
import { mapLimit } from '../../common/map-limit';
import { waitUntil } from '../load';
import type { WorkerProcess } from '../processes';
import { compared, goal, RepValues, type Metric, type Scenario } from '../scenario';
import { median } from '../stats';

const MB = 1024 * 1024;

/** Scenario 5: the memory of a worker holding many runs at a waiting step (a durable sleep). */
export const workerMemory: Scenario = {
  name: 'memory',
  title: 'Worker memory: runs held at a waiting step',
  async run(ctx, { quick, reps }) {
    const runs = quick ? 20 : 1_000;
    const values = new RepValues();
    const snapshot = snapshotOf(
      {
        id: 'bench-sleep',
        name: 'Benchmark: wait an hour',
        on: [{ source: 'bench', type: 'sleep' }],
        steps: [{ id: 'wait', action: 'flow.sleep', with: { duration: '1h' } }],
      },
      ctx.catalog,
    );
    for (let rep = 0; rep < reps; rep++) {
      // Both fresh workers start together (starting one takes seconds); each then holds its runs alone.
      progress(`memory rep ${rep + 1}/${reps}: starting a fresh Flow and a fresh baseline worker`);
      const maxCachedWorkflows = Math.max(2_000, runs * 2);
      const [flowWorker, baselineWorker] = await Promise.all(
        (['flow', 'baseline'] as const).map((kind) =>
          ctx.startWorker(`memory-${kind}-${rep}`, {
            kind,
            taskQueue: `bench-mem-${kind}-${ctx.tag}-${rep}`,
            maxCachedWorkflows,
          }),
        ),
      );
      const workers = { flow: flowWorker!, baseline: baselineWorker! };
      const sides = rep % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
      for (const side of sides) {
        const measured = await holdRuns(ctx, workers[side], side, runs, rep, snapshot);
        values.add(`${side}.idle`, measured.idle / MB);
        values.add(`${side}.held`, measured.held / MB);
        values.add(`${side}.perRun`, (measured.held - measured.idle) / runs / 1024);
        progress(
          `memory rep ${rep + 1}/${reps}: ${side} worker RSS ${(measured.idle / MB).toFixed(0)} MB idle, ${(measured.held / MB).toFixed(0)} MB holding ${runs} runs`,
        );
      }
    }
    const held = compared(
      'held',
      `Worker RSS holding ${runs.toLocaleString('en')} waiting runs`,
      'MB',
      values.get('flow.held'),
      values.get('baseline.held'),
    );
    const metrics: Metric[] = [
      held,
      compared('idle', 'Worker RSS before the runs (idle)', 'MB', values.get('flow.idle'), values.get('baseline.idle')),
    ];
    // With few runs the increase is within the noise of the garbage collector; it is only reported at full size.
    if (!quick)
      metrics.push(
        compared(
          'perRun',
          'RSS increase per waiting run',
          'KB',
          values.get('flow.perRun'),
          values.get('baseline.perRun'),
        ),
      );
    return {
      name: workerMemory.name,
      title: workerMemory.title,
      measures:
        `A fresh worker process (maxCachedWorkflows 2,000) gets ${runs.toLocaleString('en')} runs of a definition whose one step is ` +
        '`flow.sleep` for 1h. Once every run is cached and idle and a sample of histories shows the timer, the worker reports ' +
        '`process.memoryUsage().rss` after a full GC (median of 3 readings). The runs are then terminated and the worker stopped.',
      baseline:
        "The same in a worker of the hand-written `sleepThenReturn` workflow (`await sleep('1h')`), measured in its own process.",
      metrics,
      goals: [
        goal(held, `Worker RSS at most 1.2x the hand-written worker with ${runs.toLocaleString('en')} waiting runs`, {
          atMost: 1.2,
        }),
      ],
      breakdowns: [],
      notes: [
        "The Flow worker loads Flow's whole action catalog and its client libraries (Jira, Slack, Jenkins, git, mail, WebDAV), as a production worker does; the baseline loads only the Temporal SDK.",
      ],
    };
  },
};

/** Holds `runs` waiting runs in `worker` and reads its memory before and with them; then ends the runs and the worker. */
async function holdRuns(
  ctx: BenchContext,
  worker: WorkerProcess,
  side: 'flow' | 'baseline',
  runs: number,
  rep: number,
  snapshot: RunInput['snapshot'],
): Promise<{ idle: number; held: number }> {
  const { taskQueue } = worker.options;
  const ids = Array.from({ length: runs }, (_, index) => `bench-mem-${ctx.tag}-${side}-${rep}-${index}`);
  try {
    const idle = await rss(worker);
    await mapLimit(ids, 32, async (workflowId) => {
      if (side === 'flow') {
        const input: RunInput = { snapshot, event: flowEvent('bench', 'sleep', {}) };
        await startFlowWorkflow(ctx.client, 'interpret', { taskQueue, workflowId, args: [input] });
      } else {
        await ctx.client.workflow.start('sleepThenReturn', { taskQueue, workflowId, args: ['1h'] });
      }
    });
    await waitUntil(
      `${runs} ${side} runs to wait in the worker's cache`,
      async () => {
        const status = await worker.status();
        return status.cachedWorkflows >= runs && status.inFlightActivations === 0;
      },
      300_000,
      250,
    );
    // The worker counts a run as idle once it has sent its timer command; the server records the timer a moment
    // later. A run that never waits (or finished instead) makes this time out, naming the runs.
    await waitUntil(
      `${side} runs ${ids[0]} and ${ids.at(-1)} to be recorded waiting on their timer`,
      async () => {
        for (const workflowId of [ids[0]!, ids.at(-1)!]) {
          const facts = await historyFacts(ctx.client, workflowId);
          if (facts.timers !== 1 || facts.closedAt !== undefined) return false;
        }
        return true;
      },
      30_000,
      250,
    );
    const held = await rss(worker);
    return { idle, held };
  } finally {
    await mapLimit(ids, 32, (workflowId) =>
      ctx.client.workflow
        .getHandle(workflowId)
        .terminate('benchmark done')
        .catch(() => undefined),
    );
    await worker.stop();
  }
}

/** The worker's RSS after a full GC: the median of three readings a quarter of a second apart. */
async function rss(worker: WorkerProcess): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    readings.push((await worker.status(true)).memory.rss);
  }
  return median(readings);
}
