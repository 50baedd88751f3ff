import type { WorkflowHandle } from '@temporalio/client';
import type { RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { progress, type BenchContext } from '../context';
import { flowEvent, noopDefinition, snapshotOf } from '../definitions';
import { eventsPerStep, historyFacts, type HistoryFacts } from '../histories';
import { nowMs } from '../load';
import { BreakdownCollector, compared, goal, RepValues, type Goal, type Metric, type Scenario } from '../scenario';
import { median } from '../stats';

/** Definition sizes: the issue's 1, 10 and 50 steps; smaller ones in the quick version. */
function sizes(quick: boolean): readonly number[] {
  return quick ? [1, 5, 20] : [1, 10, 50];
}

/** Runs of each size per side and repetition: more of the short ones, whose times vary more. */
function iterations(steps: number, quick: boolean): number {
  if (quick) return 1;
  return steps === 1 ? 10 : steps === 10 ? 5 : 3;
}

/**
 * Scenario 2: the interpreter running an N-step definition of `bench.noop` steps, started directly, against a
 * hand-written workflow that calls the same activity N times.
 */
export const interpreter: Scenario = {
  name: 'interpreter',
  title: 'Interpreter overhead: N no-op steps vs a hand-written workflow',
  async run(ctx, { quick, reps }) {
    const values = new RepValues();
    const counts = sizes(quick);
    const shown = counts[1]!;
    const breakdown = new BreakdownCollector(`Flow run of ${shown} steps`, {
      interpreter: 'workflow tasks on the worker (WorkflowTaskStarted → Completed), summed',
      activities: 'bench.noop activities, from scheduled to completed (includes the wait for a poller), summed',
      temporal: 'the rest of the run: workflow task queueing and persistence in Temporal',
    });
    const markers = { flow: 0, baseline: 0 };
    const snapshots = new Map(
      counts.map((n) => [
        n,
        snapshotOf(noopDefinition(`bench-steps-${n}`, { source: 'bench', type: 'steps' }, n), ctx.catalog),
      ]),
    );

    progress('interpreter: warming up both workers');
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      for (const side of ['flow', 'baseline'] as const) {
        await (await startSide(ctx, side, `bench-interp-${ctx.tag}-warm-${side}-${i}`, 1, snapshots.get(1)!)).result();
      }
    }

    for (let rep = 0; rep < reps; rep++) {
      for (const steps of counts) {
        const walls = { flow: [] as number[], baseline: [] as number[] };
        const facts = { flow: [] as HistoryFacts[], baseline: [] as HistoryFacts[] };
        for (let i = 0; i < iterations(steps, quick); i++) {
          const order = (rep + i) % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
          for (const side of order) {
            const workflowId = `bench-interp-${ctx.tag}-${side}-${steps}-${rep}-${i}`;
            const t0 = nowMs();
            const handle = await startSide(ctx, side, workflowId, steps, snapshots.get(steps)!);
            await handle.result();
            walls[side].push(nowMs() - t0);
            facts[side].push(await historyFacts(ctx.client, workflowId));
          }
        }
        for (const side of ['flow', 'baseline'] as const) {
          const key = `n${steps}.${side}`;
          values.add(`${key}.wall`, median(walls[side]));
          values.add(`${key}.server`, median(facts[side].map((f) => f.closedAt! - f.startedAt)));
          values.add(`${key}.tasks`, median(facts[side].map((f) => f.workflowTasks)));
          values.add(`${key}.taskMs`, median(facts[side].map((f) => f.workflowTaskMs / steps)));
          values.add(`${key}.perStep`, median(facts[side].map((f) => eventsPerStep(f, steps))));
          markers[side] += facts[side].reduce((total, f) => total + f.markers, 0);
        }
        if (steps === shown) {
          for (const f of facts.flow) {
            const total = f.closedAt! - f.startedAt;
            breakdown.add({
              interpreter: f.workflowTaskMs,
              activities: f.activityMs,
              temporal: total - f.workflowTaskMs - f.activityMs,
            });
          }
        }
      }
      breakdown.endRep();
      progress(
        `interpreter rep ${rep + 1}/${reps}: ${counts.map((n) => `${stepsLabel(n)} ${last(values, `n${n}.flow.wall`).toFixed(0)} vs ${last(values, `n${n}.baseline.wall`).toFixed(0)} ms`).join(', ')}`,
      );
    }

    const metrics: Metric[] = [];
    const goals: Goal[] = [];
    for (const steps of counts) {
      const of = (side: string, what: string): number[] => values.get(`n${steps}.${side}.${what}`);
      const wall = compared(
        `n${steps}.wall`,
        `${stepsLabel(steps)}: wall time, start → result`,
        'ms',
        of('flow', 'wall'),
        of('baseline', 'wall'),
      );
      const server = compared(
        `n${steps}.server`,
        `${stepsLabel(steps)}: run time in Temporal, started → closed`,
        'ms',
        of('flow', 'server'),
        of('baseline', 'server'),
      );
      const tasks = compared(
        `n${steps}.tasks`,
        `${stepsLabel(steps)}: workflow tasks`,
        'tasks',
        of('flow', 'tasks'),
        of('baseline', 'tasks'),
      );
      const taskMs = compared(
        `n${steps}.taskMs`,
        `${stepsLabel(steps)}: workflow task time per step`,
        'ms',
        of('flow', 'taskMs'),
        of('baseline', 'taskMs'),
      );
      const perStep = compared(
        `n${steps}.perStep`,
        `${stepsLabel(steps)}: history events per step`,
        'events',
        of('flow', 'perStep'),
        of('baseline', 'perStep'),
      );
      metrics.push(wall, server, tasks, taskMs, perStep);
      goals.push(
        goal(wall, `Wall time at most 1.05x the hand-written workflow with ${stepsLabel(steps)}`, { atMost: 1.05 }),
        goal(perStep, `History events per step equal to the hand-written workflow with ${stepsLabel(steps)}`, {
          equals: 1,
        }),
      );
    }
    return {
      name: interpreter.name,
      title: interpreter.title,
      measures:
        `The \`interpret\` workflow is started directly with a snapshot of a definition of N \`bench.noop\` steps (N = ${counts.join(', ')}); ` +
        'wall time is measured by the client from the start call until the result arrives. Each history is then read: ' +
        'workflow tasks, the worker time in them, and events per step ((events − 5) / N).',
      baseline:
        'A hand-written workflow (`bench/baseline/workflows.ts`) calling an activity of the same type N times, with the same options, on its own worker.',
      metrics,
      goals,
      breakdowns: [breakdown.result()],
      notes: [
        `Markers, side effects and local activities recorded: Flow ${markers.flow}, baseline ${markers.baseline}.`,
        "Flow's activity runs through `actionActivity` (zod input and output validation, secret scrubbing); the baseline activity is a plain function.",
      ],
    };
  },
};

async function startSide(
  ctx: BenchContext,
  side: 'flow' | 'baseline',
  workflowId: string,
  steps: number,
  snapshot: RunInput['snapshot'],
): Promise<WorkflowHandle> {
  if (side === 'flow') {
    const input: RunInput = { snapshot, event: flowEvent('bench', 'steps', {}) };
    return startFlowWorkflow(ctx.client, 'interpret', {
      taskQueue: ctx.flowTaskQueue,
      workflowId,
      args: [input],
    });
  }
  return ctx.client.workflow.start('noopSequence', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [steps] });
}

function stepsLabel(steps: number): string {
  return `${steps} step${steps === 1 ? '' : 's'}`;
}

function last(values: RepValues, key: string): number {
  return values.get(key).at(-1)!;
}
