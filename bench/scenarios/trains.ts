import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mapLimit } from '../../common/map-limit';
import type { DispatchResult } from '../../common/run-types';
import {
  MAX_MAX_QUEUE,
  TRAIN_HANDLERS,
  TRAIN_SIGNALS,
  trainWorkflowId,
  type TrainState,
} from '../../common/train-types';
import { progress, timedPost, type BenchContext } from '../context';
import { noopDefinition } from '../definitions';
import { factsOf, timestampMs } from '../histories';
import { nowMs } from '../load';
import { BreakdownCollector, compared, flowOnly, goal, RepValues, type Scenario } from '../scenario';
import { median } from '../stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

const HOLD = { source: 'bench-train', type: 'hold' };
const RUN = { source: 'bench-train', type: 'run' };
/** Both definitions share one group per value of `event.g`, so each sample and each drain has a train of its own. */
const GROUP = 'bench-${{ event.g }}';
/**
 * How long the runner lets the stack go quiet before it closes a holder or makes a raw start, so both are timed on an
 * idle system. Temporal reads a history shard's queue of workflow task dispatches at most 20 times a second by default
 * (`history.transferProcessorMaxPollRPS`), so a workflow task made within 50 ms of other work may wait for the next read.
 */
const SETTLE_MS = 200;

/** Hand-off samples per side and repetition, and the runs of one drain. */
function sizes(quick: boolean): { handOffs: number; drain: number } {
  return quick ? { handOffs: 2, drain: 20 } : { handOffs: 10, drain: 200 };
}

/** Phases of one hand-off, from the holder's close to the next run's first step, all from server event times. */
const HAND_OFF_PHASES: Readonly<Record<string, string>> = {
  'watcher returns':
    "holder's WorkflowExecutionCompleted → the train's watchTrainHolder activity completed (its long poll on the close returns, it describes the run for the close status, and reports)",
  'train task queued':
    "that ActivityTaskCompleted → the train's WorkflowTaskStarted (the task waits for the worker's poll)",
  'train task worker':
    "the train's WorkflowTaskStarted → WorkflowTaskCompleted, which schedules the next run's watcher",
  'grant signal':
    "the next run's watcher scheduled (and started at once: eager dispatch) → the trainGranted signal recorded in the next run",
  'run task queued': "the signal → the next run's WorkflowTaskStarted",
  'run task worker': "the next run's WorkflowTaskStarted → WorkflowTaskCompleted, which schedules the first step",
  'step dispatch': 'the first step: ActivityTaskScheduled → ActivityTaskStarted',
};

/** Phases of one raw start, from the call to the workflow's first activity. */
const RAW_START_PHASES: Readonly<Record<string, string>> = {
  'start call': 'the runner calls client.workflow.start → WorkflowExecutionStarted (server time)',
  'first task queued': 'WorkflowExecutionStarted → the first WorkflowTaskStarted',
  'first task worker': 'WorkflowTaskStarted → WorkflowTaskCompleted, which schedules the activity',
  'step dispatch': 'the activity: ActivityTaskScheduled → ActivityTaskStarted',
};

/**
 * Scenario 7: release trains (issue 14). The hand-off, from a holder's close to the next queued run's first step,
 * against one raw `client.workflow.start` measured to the same point; and N queued no-op runs drained through one
 * train, against N no-op workflows started one after another by the runner.
 */
export const trains: Scenario = {
  name: 'trains',
  title: 'Release trains: hand-off vs one raw start, and a queue drained vs runs started one after another',
  async run(ctx, { quick, reps }) {
    const { handOffs, drain } = sizes(quick);
    const values = new RepValues();
    const handOffBreakdown = new BreakdownCollector(
      'one hand-off on an idle train (holder closed → first step)',
      HAND_OFF_PHASES,
    );
    const rawBreakdown = new BreakdownCollector(
      'one raw start (start call → first activity), the baseline',
      RAW_START_PHASES,
    );
    const drainBreakdown = new BreakdownCollector(`one run of the ${drain} drained through a train (median per run)`, {
      ...HAND_OFF_PHASES,
      run: "the run's first step started → the run closed",
    });
    const serialBreakdown = new BreakdownCollector(`one of the ${drain} runs started one after another, the baseline`, {
      'result + start':
        "the previous run closed → this one's WorkflowExecutionStarted (the runner's result long poll returns, then its start call)",
      ...Object.fromEntries(Object.entries(RAW_START_PHASES).filter(([name]) => name !== 'start call')),
      run: 'the activity started → the run closed',
    });
    let notIdle = 0;

    const gate = await HolderGate.start();
    try {
      await ctx.saveDefinition({
        id: 'bench-train-holder',
        name: 'Benchmark train holder',
        on: [HOLD],
        concurrency: { group: GROUP },
        // The runner answers this request when it wants the holder to close: it completes, as a release does.
        steps: [
          {
            id: 'hold',
            action: 'http.request',
            with: { method: 'POST', url: `${gate.url}/gate/\${{ event.g }}`, timeout: '2m' },
            timeout: '3m',
            // A hold of up to minutes stays an activity (http.request defaults to local): the hand-off is timed from it.
            execution: 'remote',
          },
        ],
      });
      await ctx.saveDefinition({
        ...noopDefinition('bench-train-run', RUN),
        concurrency: { group: GROUP, max_queue: MAX_MAX_QUEUE },
      });

      progress('trains: warming up both workers');
      await flowHandOff(ctx, gate, `w-${ctx.tag}`);
      await rawStart(ctx, `bench-train-${ctx.tag}-warm`);

      for (let rep = 0; rep < reps; rep++) {
        // Each hand-off is one sample; the repetition's value is the median of its samples.
        const samples = new Map<string, number[]>();
        const sample = (key: string, value: number): void => {
          samples.set(key, [...(samples.get(key) ?? []), value]);
        };
        for (let i = 0; i < handOffs; i++) {
          const order = (rep + i) % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
          for (const side of order) {
            if (side === 'flow') {
              const handOff = await flowHandOff(ctx, gate, `h-${ctx.tag}-${rep}-${i}`);
              handOffBreakdown.add(handOff.phases);
              sample('flow.firstStep', handOff.toFirstStep);
              sample('flow.released', handOff.toGrant);
              sample('flow.longPoll', handOff.longPollMs);
              sample('flow.describe', handOff.describeMs);
              if (!handOff.idle) notIdle++;
            } else {
              const start = await rawStart(ctx, `bench-train-${ctx.tag}-raw-${rep}-${i}`);
              rawBreakdown.add(start.phases);
              sample('baseline.firstStep', start.toFirstStep);
              sample('baseline.released', start.callMs);
            }
          }
        }
        for (const [key, list] of samples) values.add(key, median(list));
        handOffBreakdown.endRep();
        rawBreakdown.endRep();

        const sides = rep % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
        for (const side of sides) {
          if (side === 'flow') {
            const result = await flowDrain(ctx, gate, `d-${ctx.tag}-${rep}`, drain);
            for (const phases of result.perRun) drainBreakdown.add(phases);
            values.add('flow.drain', result.totalMs);
            values.add('flow.interval', median(result.intervals));
            notIdle += result.notIdle;
          } else {
            const result = await serialDrain(ctx, `bench-train-${ctx.tag}-serial-${rep}`, drain);
            for (const phases of result.perRun) serialBreakdown.add(phases);
            values.add('baseline.drain', result.totalMs);
            values.add('baseline.interval', median(result.intervals));
          }
        }
        drainBreakdown.endRep();
        serialBreakdown.endRep();
        const lastOf = (key: string): string => values.get(key).at(-1)!.toFixed(0);
        progress(
          `trains rep ${rep + 1}/${reps}: hand-off ${lastOf('flow.firstStep')} ms vs raw start ${lastOf('baseline.firstStep')} ms; ` +
            `${drain} runs ${lastOf('flow.drain')} ms through a train vs ${lastOf('baseline.drain')} ms one after another`,
        );
      }
    } finally {
      await gate.close();
    }

    const handOff = compared(
      'handoff.firstStep',
      "Hand-off: holder closed → next run's first step started (raw: start call → first activity started)",
      'ms',
      values.get('flow.firstStep'),
      values.get('baseline.firstStep'),
    );
    const released = compared(
      'handoff.released',
      'Hand-off: holder closed → grant recorded in the next run (raw: start call → call returned)',
      'ms',
      values.get('flow.released'),
      values.get('baseline.released'),
    );
    const drained = compared(
      'drain.total',
      `${drain} no-op runs: first release → last run closed`,
      'ms',
      values.get('flow.drain'),
      values.get('baseline.drain'),
    );
    const interval = compared(
      'drain.interval',
      `${drain} no-op runs: one run's close → the next run's close, median`,
      'ms',
      values.get('flow.interval'),
      values.get('baseline.interval'),
    );
    return {
      name: trains.name,
      title: trains.title,
      measures:
        'Hand-off: a holder run (one `http.request` step that the runner answers when the stack is idle) holds a train ' +
        'and one run of one `bench.noop` step waits behind it, both started by events through the gateway and the ' +
        "dispatcher. Measured from the holder's WorkflowExecutionCompleted to the waiting run's first ActivityTaskStarted, " +
        `both server times; ${handOffs} samples a repetition, each on a train of its own. Drain: ${drain} runs of one ` +
        '`bench.noop` step queue behind a holder (max_queue 1000); from the holder closing to the last run closing (server ' +
        'times). Admission through the gateway is not timed: every run is queued and waiting before the holder closes.',
      baseline:
        'Hand-off: one `client.workflow.start` of a one-activity hand-written workflow (`noopSequence`), from the call ' +
        '(runner clock, same machine) to its first ActivityTaskStarted. Drain: the runner starts the same workflow ' +
        `${drain} times, each after the previous one's result came back (\`client.workflow.execute\` in a loop), from ` +
        'the first call to the last close.',
      metrics: [
        handOff,
        released,
        drained,
        interval,
        flowOnly(
          'handoff.longPoll',
          "A client's long poll on the holder's result returned, after the close (the runner's own, beside the watcher's)",
          'ms',
          values.get('flow.longPoll'),
        ),
        flowOnly('handoff.describe', 'One describe call of the closed holder', 'ms', values.get('flow.describe')),
      ],
      goals: [
        goal(handOff, 'Train hand-off at most 1.5x one raw client.workflow.start', { atMost: 1.5 }),
        goal(drained, `${drain} queued no-op runs drained in at most 1.2x the time of ${drain} started by hand`, {
          atMost: 1.2,
        }),
      ],
      breakdowns: [handOffBreakdown.result(), rawBreakdown.result(), drainBreakdown.result(), serialBreakdown.result()],
      notes: [
        'Both sides of the hand-off end at the same point, the first activity starting on a worker, and both include one ' +
          'workflow task and one activity dispatch before it; the second row stops earlier (the grant persisted, the start ' +
          'call answered) and shows the hand-off without that shared tail. The runner lets the stack go quiet for ' +
          `${SETTLE_MS} ms before each hand-off and each raw start alike.`,
        "The hand-off's run already exists (it was admitted and started when its event arrived) and has run its first " +
          'workflow task; a raw start creates its workflow. ' +
          `Samples in which the waiting run had not finished its first workflow task before the holder closed: ${notIdle}.`,
        "Flow's runs go through `actionActivity` (validation, secret scrubbing) on the Flow worker; the baseline's " +
          'activity is a plain function on its own worker.',
      ],
    };
  },
};

/** What one hand-off sample measured (milliseconds). */
interface HandOffSample {
  readonly toFirstStep: number;
  readonly toGrant: number;
  readonly phases: Record<string, number>;
  /** The runner's own long poll on the holder's close returned this long after the close. */
  readonly longPollMs: number;
  readonly describeMs: number;
  /** The waiting run had finished its first workflow task before the holder closed. */
  readonly idle: boolean;
}

/**
 * One hand-off: a holder takes the train, a run queues behind it and settles, the runner lets the holder complete,
 * and the histories say when the waiting run was granted and started its first step.
 */
async function flowHandOff(ctx: BenchContext, gate: HolderGate, group: string): Promise<HandOffSample> {
  const holder = admittedRun(await dispatch(ctx, HOLD, { g: group }, `${group}-hold`), 'holding');
  await gate.arrived(group);
  const next = admittedRun(await dispatch(ctx, RUN, { g: group }, `${group}-run`), 'queued');
  await untilWaiting(ctx.client, next);
  await pause(SETTLE_MS);

  const holderHandle = ctx.client.workflow.getHandle(holder);
  const closeSeen = holderHandle.result().then(() => nowMs());
  gate.open(group);
  const seenAt = await closeSeen;
  const describeStart = nowMs();
  await holderHandle.describe();
  const describeMs = nowMs() - describeStart;
  await ctx.client.workflow.getHandle(next).result();
  // The train ends once its holder closed with nobody waiting: its history is whole, and the next sample starts quiet.
  const trainId = trainWorkflowId(`bench-${group}`);
  await ctx.client.workflow.getHandle(trainId).result();

  const [holderRun, nextRun, watchers] = await Promise.all([
    runFacts(ctx.client, holder),
    runFacts(ctx.client, next),
    trainWatchers(ctx.client, trainId),
  ]);
  const phases = handOffPhases(holderRun, nextRun, watchers);
  return {
    toFirstStep: nextRun.firstStepStartedAt - holderRun.closedAt,
    toGrant: nextRun.grantedAt! - holderRun.closedAt,
    phases,
    longPollMs: seenAt - holderRun.closedAt,
    describeMs,
    idle: nextRun.firstTaskDoneAt < holderRun.closedAt,
  };
}

/** One raw start of the hand-written one-activity workflow, timed to its first activity. */
async function rawStart(
  ctx: BenchContext,
  workflowId: string,
): Promise<{ toFirstStep: number; callMs: number; phases: Record<string, number> }> {
  // The same quiet moment as before a holder closes: a start right after other work waits longer for its first task.
  await pause(SETTLE_MS);
  const t0 = nowMs();
  const handle = await ctx.client.workflow.start('noopSequence', {
    taskQueue: ctx.baselineTaskQueue,
    workflowId,
    args: [1],
  });
  const callMs = nowMs() - t0;
  await handle.result();
  const run = await runFacts(ctx.client, workflowId);
  return {
    toFirstStep: run.firstStepStartedAt - t0,
    callMs,
    phases: { 'start call': run.startedAt - t0, ...firstTaskPhases(run) },
  };
}

/** What a drain measured. */
interface DrainResult {
  readonly totalMs: number;
  /** Close to close, run by run. */
  readonly intervals: number[];
  readonly perRun: Record<string, number>[];
  readonly notIdle: number;
}

/** Queues `count` runs behind a holder through the gateway, lets the holder close, and times the drain. */
async function flowDrain(ctx: BenchContext, gate: HolderGate, group: string, count: number): Promise<DrainResult> {
  const holder = admittedRun(await dispatch(ctx, HOLD, { g: group }, `${group}-hold`), 'holding');
  await gate.arrived(group);
  progress(`trains: queueing ${count} runs behind ${holder}`);
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => admittedRun(await dispatch(ctx, RUN, { g: group, i }, `${group}-${i}`), 'queued'),
  );
  const trainId = trainWorkflowId(`bench-${group}`);
  const state = await ctx.client.workflow.getHandle(trainId).query<TrainState>(TRAIN_HANDLERS.state);
  const order = state.queue.map((entry) => entry.workflowId);
  if (order.length !== count) throw new Error(`train ${trainId} has ${order.length} runs waiting, not ${count}`);
  await untilWaiting(ctx.client, order.at(-1)!);
  await pause(Math.max(SETTLE_MS, count * 5));

  gate.open(group);
  await ctx.client.workflow.getHandle(order.at(-1)!).result();
  await ctx.client.workflow.getHandle(trainId).result();
  const [holderRun, watchers, runs] = await Promise.all([
    runFacts(ctx.client, holder),
    trainWatchers(ctx.client, trainId),
    mapLimit(order, 8, (workflowId) => runFacts(ctx.client, workflowId)),
  ]);
  const closes = [holderRun, ...runs].map((run) => run.closedAt);
  const perRun = runs.map((run, index) => ({
    ...handOffPhases(index === 0 ? holderRun : runs[index - 1]!, run, watchers),
    run: run.closedAt - run.firstStepStartedAt,
  }));
  return {
    totalMs: Math.max(...closes) - holderRun.closedAt,
    intervals: closes.slice(1).map((close, index) => close - closes[index]!),
    perRun,
    notIdle: runs.filter((run) => run.firstTaskDoneAt >= holderRun.closedAt).length,
  };
}

/** The baseline drain: the runner starts the hand-written workflow `count` times, each after the previous result. */
async function serialDrain(ctx: BenchContext, prefix: string, count: number): Promise<DrainResult> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const t0 = nowMs();
  for (const workflowId of ids) {
    await ctx.client.workflow.execute('noopSequence', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [1] });
  }
  const runs = await mapLimit(ids, 8, (workflowId) => runFacts(ctx.client, workflowId));
  const closes = runs.map((run) => run.closedAt);
  return {
    totalMs: Math.max(...closes) - t0,
    intervals: closes.slice(1).map((close, index) => close - closes[index]!),
    perRun: runs.slice(1).map((run, index) => ({
      'result + start': run.startedAt - runs[index]!.closedAt,
      ...firstTaskPhases(run),
      run: run.closedAt - run.firstStepStartedAt,
    })),
    notIdle: 0,
  };
}

/** Where one hand-off's time went, from the closing run, the next run and the train's watcher activities. */
function handOffPhases(
  closing: RunFacts,
  next: RunFacts,
  watchers: ReadonlyMap<string, WatcherFacts>,
): Record<string, number> {
  const closingWatcher = watchers.get(closing.workflowId);
  const nextWatcher = watchers.get(next.workflowId);
  if (closingWatcher?.completedAt === undefined || nextWatcher === undefined || next.grantedAt === undefined)
    throw new Error(`the train's history lacks the hand-off from ${closing.workflowId} to ${next.workflowId}`);
  return {
    'watcher returns': closingWatcher.completedAt - closing.closedAt,
    'train task queued': nextWatcher.task.startedAt - closingWatcher.completedAt,
    'train task worker': nextWatcher.scheduledAt - nextWatcher.task.startedAt,
    'grant signal': next.grantedAt - nextWatcher.scheduledAt,
    'run task queued': next.firstStepTask.startedAt - next.grantedAt,
    'run task worker': next.firstStepScheduledAt - next.firstStepTask.startedAt,
    'step dispatch': next.firstStepStartedAt - next.firstStepScheduledAt,
  };
}

/** A raw start's first workflow task, split into its wait for a poll and the worker's time, then the dispatch. */
function firstTaskPhases(run: RunFacts): Record<string, number> {
  return {
    'first task queued': run.firstStepTask.startedAt - run.startedAt,
    'first task worker': run.firstStepScheduledAt - run.firstStepTask.startedAt,
    'step dispatch': run.firstStepStartedAt - run.firstStepScheduledAt,
  };
}

/** Sends an event through the gateway and returns its dispatcher's result. */
async function dispatch(
  ctx: BenchContext,
  event: { source: string; type: string },
  body: Record<string, unknown>,
  key: string,
): Promise<DispatchResult> {
  const { workflowId } = await timedPost(ctx, event.source, event.type, body, key);
  return (await ctx.client.workflow.getHandle(workflowId).result()) as DispatchResult;
}

/** The one run a dispatch started, checked to have entered its train as expected. */
function admittedRun(result: DispatchResult, expected: 'holding' | 'queued'): string {
  const run = result.matched[0];
  if (result.matched.length !== 1 || run?.train?.outcome !== expected)
    throw new Error(
      `event ${result.eventId}: expected one run ${expected} in its train, got ${JSON.stringify(result)}`,
    );
  return run.workflowId;
}

/** Waits until a queued run has finished its first workflow task, so it sits waiting for its grant. */
async function untilWaiting(client: Client, workflowId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    if ((history.events ?? []).some((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
      return;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not run its first workflow task within 30 s`);
    await pause(20);
  }
}

/** What a run's history says about its start, its grant and its first step (server times, epoch ms). */
interface RunFacts {
  readonly workflowId: string;
  readonly startedAt: number;
  readonly firstTaskDoneAt: number;
  readonly grantedAt?: number;
  readonly firstStepScheduledAt: number;
  /** The workflow task that scheduled the first step. */
  readonly firstStepTask: WorkflowTaskTimes;
  readonly firstStepStartedAt: number;
  readonly closedAt: number;
}

/** When a workflow task was scheduled, picked up by a worker's poll, and completed. */
interface WorkflowTaskTimes {
  readonly scheduledAt: number;
  readonly startedAt: number;
  readonly completedAt: number;
}

/**
 * Reads the times of workflow tasks from a history: `taskOf(completedEventId)` gives the task whose
 * WorkflowTaskCompleted has that id (the id a scheduled activity names).
 */
function workflowTasks(events: readonly HistoryEvent[]): (completedEventId: number) => WorkflowTaskTimes | undefined {
  const timeOf = new Map<number, number>();
  const tasks = new Map<number, WorkflowTaskTimes>();
  for (const event of events) {
    const at = timestampMs(event.eventTime);
    timeOf.set(Number(event.eventId), at);
    const attributes = event.workflowTaskCompletedEventAttributes;
    if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || !attributes) continue;
    const startedId = Number(attributes.startedEventId);
    const startedAt = timeOf.get(startedId);
    const scheduledAt = timeOf.get(Number(attributes.scheduledEventId));
    if (startedAt !== undefined && scheduledAt !== undefined)
      tasks.set(Number(event.eventId), { scheduledAt, startedAt, completedAt: at });
  }
  return (completedEventId) => tasks.get(completedEventId);
}

async function runFacts(client: Client, workflowId: string): Promise<RunFacts> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  // Start and close come from the shared reader; this adds the grant and the first step.
  const { startedAt, closedAt } = factsOf(workflowId, events);
  let firstTaskDoneAt: number | undefined;
  let grantedAt: number | undefined;
  let scheduled: { id: number; at: number; task: number } | undefined;
  let firstStepStartedAt: number | undefined;
  for (const event of events) {
    const at = timestampMs(event.eventTime);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        firstTaskDoneAt ??= at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        if (event.workflowExecutionSignaledEventAttributes?.signalName === TRAIN_SIGNALS.granted) grantedAt ??= at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled ??= {
          id: Number(event.eventId),
          at,
          task: Number(event.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId),
        };
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        if (Number(event.activityTaskStartedEventAttributes?.scheduledEventId) === scheduled?.id)
          firstStepStartedAt ??= at;
        break;
      default:
        break;
    }
  }
  if (
    firstTaskDoneAt === undefined ||
    scheduled === undefined ||
    firstStepStartedAt === undefined ||
    closedAt === undefined
  )
    throw new Error(`the history of ${workflowId} lacks its start, first step or close`);
  const firstStepTask = workflowTasks(events)(scheduled.task);
  if (!firstStepTask) throw new Error(`the history of ${workflowId} lacks the workflow task of its first step`);
  return {
    workflowId,
    startedAt,
    firstTaskDoneAt,
    ...(grantedAt === undefined ? {} : { grantedAt }),
    firstStepScheduledAt: scheduled.at,
    firstStepTask,
    firstStepStartedAt,
    closedAt,
  };
}

/** A train's watcher of one run: when the first was scheduled (and by which train task), and when one completed. */
interface WatcherFacts {
  readonly scheduledAt: number;
  /** The train's workflow task that scheduled it. */
  readonly task: WorkflowTaskTimes;
  completedAt?: number;
}

/**
 * The watcher activities of a train, by the run they watched, across every run of the train workflow (a
 * continued-as-new run names the one before it, and watches its holder again).
 */
async function trainWatchers(client: Client, trainId: string): Promise<Map<string, WatcherFacts>> {
  const byRun = new Map<string, WatcherFacts>();
  let runId: string | undefined;
  const histories: HistoryEvent[][] = [];
  for (;;) {
    const events = (await client.workflow.getHandle(trainId, runId).fetchHistory()).events ?? [];
    histories.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  for (const events of histories) {
    const watchedBy = new Map<number, string>();
    const taskOf = workflowTasks(events);
    for (const event of events) {
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        const attributes = event.activityTaskScheduledEventAttributes;
        if (attributes?.activityType?.name !== 'watchTrainHolder') continue;
        const data = attributes.input?.payloads?.[0]?.data;
        const watched = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { workflowId: string }) : undefined;
        const task = taskOf(Number(attributes.workflowTaskCompletedEventId));
        if (!watched || !task) continue;
        watchedBy.set(Number(event.eventId), watched.workflowId);
        if (!byRun.has(watched.workflowId))
          byRun.set(watched.workflowId, { scheduledAt: timestampMs(event.eventTime), task });
      } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        const watched = watchedBy.get(Number(event.activityTaskCompletedEventAttributes?.scheduledEventId));
        const facts = watched === undefined ? undefined : byRun.get(watched);
        if (facts) facts.completedAt = timestampMs(event.eventTime);
      }
    }
  }
  return byRun;
}

/**
 * A loopback HTTP server whose requests wait until the runner opens their gate. It is the holder's step, so the runner
 * chooses when a holder closes, and the holder closes by completing, as a release does.
 */
class HolderGate {
  private readonly gates = new Map<
    string,
    { opened: boolean; arrived: Promise<void>; arrive: () => void; waiting: http.ServerResponse[] }
  >();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<HolderGate> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gate = new HolderGate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const id = /^\/gate\/([^/?]+)/.exec(req.url ?? '')?.[1];
        if (id === undefined) return answer(res, 404);
        const entry = gate.entry(decodeURIComponent(id));
        entry.arrive();
        if (entry.opened) answer(res, 200);
        else entry.waiting.push(res);
      });
    });
    return gate;
  }

  /** Resolves once the holder's step has reached the gate. */
  arrived(id: string): Promise<void> {
    return this.entry(id).arrived;
  }

  /** Lets the holder's step (and any retry of it) complete. */
  open(id: string): void {
    const entry = this.entry(id);
    entry.opened = true;
    for (const res of entry.waiting.splice(0)) answer(res, 200);
  }

  /** Answers every waiting request and stops the server. */
  async close(): Promise<void> {
    for (const id of this.gates.keys()) this.open(id);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private entry(id: string) {
    let entry = this.gates.get(id);
    if (!entry) {
      let arrive = (): void => undefined;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      entry = { opened: false, arrived, arrive, waiting: [] };
      this.gates.set(id, entry);
    }
    return entry;
  }
}

function answer(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: status === 200 }));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
