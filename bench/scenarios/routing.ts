import type { RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { progress } from '../context';
import { flowEvent, noopDefinition, snapshotOf } from '../definitions';
import { eventsPerStep, historyFacts, type HistoryFacts } from '../histories';
import { nowMs } from '../load';
import { compared, goal, RepValues, type Scenario } from '../scenario';
import { median } from '../stats';

type Side = 'own' | 'routed';

/** Steps per run: enough that a per-step cost of routing shows, few enough for many runs per repetition. */
const STEPS = 10;

/**
 * Task-queue routing (issue 17, part 3): the `interpret` workflow of ten `bench.noop` steps started directly, with
 * the steps on the run's own queue (`flow`) against the same steps routed by the snapshot's `actionQueues` to a pack
 * queue polled by a second worker process.
 */
export const routing: Scenario = {
  name: 'routing',
  title: 'Task-queue routing: steps on a pack queue vs on the run\u2019s own queue',
  async run(ctx, { quick, reps }) {
    const packQueue = `bench-pack-${ctx.tag}`;
    progress(`routing: starting a worker process on ${packQueue}`);
    await ctx.startWorker('pack-worker', { kind: 'flow', taskQueue: packQueue });
    const definition = noopDefinition('bench-routing', { source: 'bench', type: 'routing' }, STEPS);
    const own = snapshotOf(definition, ctx.catalog);
    const snapshots = { own, routed: { ...own, actionQueues: { 'bench.noop': packQueue } } };
    const sides: readonly Side[] = ['own', 'routed'];
    const values = new RepValues();
    const queuesSeen = new Set<string>();

    const runOnce = async (side: Side, workflowId: string): Promise<number> => {
      const input: RunInput = { snapshot: snapshots[side], event: flowEvent('bench', 'routing', {}) };
      const t0 = nowMs();
      const handle = await startFlowWorkflow(ctx.client, 'interpret', {
        taskQueue: ctx.flowTaskQueue,
        workflowId,
        args: [input],
      });
      await handle.result();
      return nowMs() - t0;
    };

    progress('routing: warming up both sides');
    for (let i = 0; i < (quick ? 1 : 3); i++)
      for (const side of sides) await runOnce(side, `bench-routing-${ctx.tag}-warm-${side}-${i}`);

    const runs = quick ? 2 : 8;
    for (let rep = 0; rep < reps; rep++) {
      const walls = { own: [] as number[], routed: [] as number[] };
      const facts = { own: [] as HistoryFacts[], routed: [] as HistoryFacts[] };
      for (let i = 0; i < runs; i++) {
        const order: readonly Side[] = (rep + i) % 2 === 0 ? ['own', 'routed'] : ['routed', 'own'];
        for (const side of order) {
          const workflowId = `bench-routing-${ctx.tag}-${side}-${rep}-${i}`;
          walls[side].push(await runOnce(side, workflowId));
          facts[side].push(await historyFacts(ctx.client, workflowId));
          if (side === 'routed' && i === 0) {
            const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
            for (const event of history.events ?? []) {
              const queue = event.activityTaskScheduledEventAttributes?.taskQueue?.name;
              if (queue) queuesSeen.add(queue);
            }
          }
        }
      }
      for (const side of sides) {
        values.add(`${side}.wall`, median(walls[side]));
        values.add(`${side}.perStep`, median(facts[side].map((f) => eventsPerStep(f, STEPS))));
      }
      progress(
        `routing rep ${rep + 1}/${reps}: routed ${median(walls.routed).toFixed(1)} ms vs own queue ${median(walls.own).toFixed(1)} ms`,
      );
    }

    const wall = compared(
      'wall',
      `${STEPS} steps: wall time, start → result`,
      'ms',
      values.get('routed.wall'),
      values.get('own.wall'),
    );
    const perStep = compared(
      'perStep',
      `${STEPS} steps: history events per step`,
      'events',
      values.get('routed.perStep'),
      values.get('own.perStep'),
    );
    return {
      name: routing.name,
      title: routing.title,
      measures:
        `The \`interpret\` workflow is started directly with a snapshot of ${STEPS} \`bench.noop\` steps, ${runs} runs per side and repetition, ` +
        'alternating sides; wall time from the start call to the result, and history events per step.',
      baseline: `The same snapshot without \`actionQueues\`: every step on the run's own queue, run by the Flow worker process.`,
      metrics: [wall, perStep],
      goals: [
        goal(wall, 'Wall time of routed steps at most 1.05x the same steps on the run\u2019s own queue', {
          atMost: 1.05,
        }),
        goal(perStep, 'History events per step equal', { equals: 1 }),
      ],
      breakdowns: [],
      notes: [
        `Queues the routed run's activities were scheduled on: ${[...queuesSeen].join(', ')} (the pack queue is ${packQueue}).`,
        'The pack queue is polled by a second Flow worker process (`bench/worker-process.ts`, kind `flow`): activity execution is the same as in an activity-only worker, and no workflow task ever arrives on that queue.',
      ],
    };
  },
};
