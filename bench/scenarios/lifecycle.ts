import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { lifecycleKey, type LifecycleType } from '../../common/run-control';
import {
  dispatchWorkflowId,
  type DefinitionSnapshot,
  type DispatchResult,
  type RunInput,
} from '../../common/run-types';
import { eventIdFor, startFlowWorkflow } from '../../intake';
import { progress, type BenchContext } from '../context';
import { flowEvent, noopDefinition, snapshotOf } from '../definitions';
import { historyFacts, type HistoryFacts } from '../histories';
import { nowMs } from '../load';
import {
  compared,
  RepValues,
  type Metric,
  type Scenario,
  type ScenarioOptions,
  type ScenarioResult,
} from '../scenario';
import { median } from '../stats';

/** The types bound on the `on` side: the two every run emits. */
const BOUND: readonly LifecycleType[] = ['run_started', 'run_completed'];

/** Definition sizes; one small size in the quick version. */
function sizes(quick: boolean): readonly number[] {
  return quick ? [3] : [1, 10];
}

/** Runs of each size per side and repetition. */
function iterations(quick: boolean): number {
  return quick ? 1 : 5;
}

type Side = 'off' | 'on' | 'baseline';
const SIDES: readonly Side[] = ['off', 'on', 'baseline'];

/**
 * Scenario 10: what run lifecycle events cost a run. The same N-step `bench.noop` definition is run by the interpreter,
 * started directly, with nothing bound to `flow` (`off`: the input a dispatcher gives when no definition listens) and
 * with `run_started` and `run_completed` bound (`on`), side by side; and `off` against the hand-written workflow, to
 * show that with nothing bound a run costs what it did before lifecycle events. No goal: a report.
 */
export const lifecycle: Scenario = {
  name: 'lifecycle',
  title: 'Lifecycle events: a run with nothing bound to flow vs run_started and run_completed bound',
  async run(ctx, options) {
    const counts = sizes(options.quick);
    const snapshots = new Map(
      counts.map((n) => [
        n,
        snapshotOf(noopDefinition(`bench-lifecycle-${n}`, { source: 'bench', type: 'lifecycle' }, n), ctx.catalog),
      ]),
    );
    // What a team would bind: a one-step definition reacting to the benchmark's runs. Its `if` keeps it from reacting
    // to its own runs' lifecycle events, which it also makes them emit (the binding, not the `if`, decides that).
    const listenerId = `bench-listener-${ctx.tag}`;
    const measured = JSON.stringify([...snapshots.values()].map((snapshot) => snapshot.definition.id));
    await ctx.saveDefinition({
      ...noopDefinition(listenerId, { source: 'flow', type: 'run_started' }, 1),
      on: BOUND.map((type) => ({ source: 'flow', type, if: `event.definition in ${measured}` })),
    });
    try {
      return report(counts, await measureSides(ctx, options, snapshots));
    } finally {
      // While a definition is bound to them, the runs of later scenarios would emit lifecycle events too.
      await ctx.store.delete(listenerId);
    }
  },
};

/** What the scenario measured: per size and side, one value per repetition; and what the `on` runs emitted. */
interface Measured {
  readonly values: RepValues;
  /** Lifecycle events found per `on` run, and the listener runs they started. */
  readonly emitted: number[];
  readonly listenerRuns: number[];
}

/** Runs every size on the three sides, alternating the order of `off` and `on` from one iteration to the next. */
async function measureSides(
  ctx: BenchContext,
  { quick, reps }: ScenarioOptions,
  snapshots: ReadonlyMap<number, DefinitionSnapshot>,
): Promise<Measured> {
  const values = new RepValues();
  const emitted: number[] = [];
  const listenerRuns: number[] = [];
  const counts = [...snapshots.keys()];
  const measure = async (side: Side, steps: number, workflowId: string): Promise<HistoryFacts & { wall: number }> => {
    const t0 = nowMs();
    const handle = await startSide(ctx, side, workflowId, steps, snapshots.get(steps)!);
    await handle.result();
    const wall = nowMs() - t0;
    if (side === 'on') {
      // Untimed: the lifecycle dispatchers and the listener's runs finish before the next measurement starts.
      const settled = await settle(ctx, workflowId);
      emitted.push(settled.events);
      listenerRuns.push(settled.runs);
    }
    return { ...(await historyFacts(ctx.client, workflowId)), wall };
  };

  progress('lifecycle: warming up');
  for (const side of SIDES) await measure(side, counts[0]!, `bench-lifecycle-${ctx.tag}-warm-${side}`);
  emitted.length = 0;
  listenerRuns.length = 0;

  for (let rep = 0; rep < reps; rep++) {
    for (const steps of counts) {
      const facts: Record<Side, (HistoryFacts & { wall: number })[]> = { off: [], on: [], baseline: [] };
      for (let i = 0; i < iterations(quick); i++) {
        const order: readonly Side[] = (rep + i) % 2 === 0 ? ['off', 'on', 'baseline'] : ['on', 'off', 'baseline'];
        for (const side of order)
          facts[side].push(await measure(side, steps, `bench-lifecycle-${ctx.tag}-${side}-${steps}-${rep}-${i}`));
      }
      for (const side of SIDES) {
        values.add(`n${steps}.${side}.wall`, median(facts[side].map((f) => f.wall)));
        values.add(`n${steps}.${side}.events`, median(facts[side].map((f) => f.events)));
        values.add(`n${steps}.${side}.tasks`, median(facts[side].map((f) => f.workflowTasks)));
      }
    }
    progress(
      `lifecycle rep ${rep + 1}/${reps}: ${counts.map((n) => `${n} steps off ${last(values, `n${n}.off.wall`).toFixed(0)} ms, on ${last(values, `n${n}.on.wall`).toFixed(0)} ms`).join('; ')}`,
    );
  }
  return { values, emitted, listenerRuns };
}

/** The scenario's tables and notes: `on` against `off`, and `off` against the hand-written workflow. */
function report(counts: readonly number[], { values, emitted, listenerRuns }: Measured): ScenarioResult {
  const metrics: Metric[] = [];
  const notes: string[] = [];
  for (const steps of counts) {
    const of = (side: Side, what: string): number[] => values.get(`n${steps}.${side}.${what}`);
    const label = `${steps} step${steps === 1 ? '' : 's'}`;
    const onOff = (what: string, text: string, unit: string): Metric =>
      compared(`n${steps}.${what}`, `${label}: ${text} (on vs off)`, unit, of('on', what), of('off', what));
    metrics.push(
      onOff('wall', 'wall time, start → result', 'ms'),
      onOff('events', 'history events per run', 'events'),
      onOff('tasks', 'workflow tasks per run', 'tasks'),
      compared(
        `n${steps}.offEvents`,
        `${label}: history events per run (off vs hand-written)`,
        'events',
        of('off', 'events'),
        of('baseline', 'events'),
      ),
    );
    const off = median(of('off', 'events'));
    const handWritten = median(of('baseline', 'events'));
    notes.push(
      `${label}: with nothing bound a run records ${off} history events, the hand-written workflow ${handWritten}: ` +
        (off === handWritten ? 'equal, as before lifecycle events.' : `**${off - handWritten} more**.`) +
        ` With ${BOUND.join(' and ')} bound, ${median(of('on', 'events')) - off} more.`,
    );
  }
  notes.push(
    `Lifecycle events per \`on\` run (their dispatchers, found afterwards): median ${median(emitted)} (expected ` +
      `${BOUND.length}); listener runs they started: median ${median(listenerRuns)}. The listener is bound to both ` +
      "types, so its own runs emit both too; their dispatchers match nothing (the listener's `if`).",
  );
  return {
    name: lifecycle.name,
    title: lifecycle.title,
    measures:
      `The \`interpret\` workflow is started directly with a definition of N \`bench.noop\` steps (N = ${counts.join(', ')}), ` +
      `with \`lifecycle\` absent from its input (\`off\`: what the dispatcher gives when nothing is bound to \`flow\`) ` +
      `or \`lifecycle: [${BOUND.join(', ')}]\` (\`on\`), with a one-step definition bound to both. Wall time is from the ` +
      'start call to the result; each history is then read. After each `on` run, its lifecycle dispatchers and the ' +
      "listener's runs are awaited, untimed, so they never overlap the next measurement.",
    baseline:
      'The "Baseline" column is the `off` run for the on-vs-off rows, and the hand-written workflow calling the same ' +
      'activity N times (`bench/baseline/workflows.ts`) for the off-vs-hand-written row.',
    metrics,
    goals: [],
    breakdowns: [],
    notes,
  };
}

async function startSide(
  ctx: BenchContext,
  side: Side,
  workflowId: string,
  steps: number,
  snapshot: RunInput['snapshot'],
): Promise<WorkflowHandle> {
  if (side === 'baseline')
    return ctx.client.workflow.start('noopSequence', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [steps] });
  const input: RunInput = {
    snapshot,
    event: flowEvent('bench', 'lifecycle', {}),
    ...(side === 'on' ? { lifecycle: BOUND } : {}),
  };
  return startFlowWorkflow(ctx.client, 'interpret', { taskQueue: ctx.flowTaskQueue, workflowId, args: [input] });
}

/**
 * Waits for what a run's lifecycle events started: each bound type's dispatcher (its id follows from the run and the
 * type), the runs it started, and, recursively, theirs. Returns how many of the run's own events there were and how
 * many runs they started.
 */
async function settle(ctx: BenchContext, workflowId: string, depth = 0): Promise<{ events: number; runs: number }> {
  let events = 0;
  let runs = 0;
  for (const type of BOUND) {
    const handle = ctx.client.workflow.getHandle(
      dispatchWorkflowId(eventIdFor('flow', lifecycleKey({ workflowId, type }))),
    );
    let dispatch: DispatchResult;
    try {
      dispatch = (await handle.result()) as DispatchResult;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) continue;
      throw error;
    }
    events++;
    for (const run of dispatch.matched) {
      runs++;
      await ctx.client.workflow.getHandle(run.workflowId).result();
      // The listener's runs emit too; one level is enough to wait for everything they start.
      if (depth === 0) await settle(ctx, run.workflowId, depth + 1);
    }
  }
  return { events, runs };
}

function last(values: RepValues, key: string): number {
  return values.get(key).at(-1)!;
}
