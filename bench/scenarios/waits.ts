import { temporal } from '@temporalio/proto';
import type { EventDispatchResult } from '../../common/event-waits';
import { mapLimit } from '../../common/map-limit';
import type { DefinitionSnapshot, RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { openMongo, type MongoHandle } from '../../registry';
import { progress, timedPost, type BenchContext } from '../context';
import { flowEvent, snapshotOf, waitDefinition } from '../definitions';
import { factsOf, historyFacts, lookupMs, timestampMs } from '../histories';
import { waitUntil } from '../load';
import type { WorkerProcess } from '../processes';
import { BreakdownCollector, compared, goal, RepValues, type Metric, type Scenario } from '../scenario';
import { median, percentile } from '../stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** Parked runs are started directly, as if by an event of this kind (never posted), and wait for one of `DONE`. */
const PARKED = { source: 'bench-wait', type: 'park' };
const DONE = { source: 'bench-wait', type: 'done' };
/** Longer than the scenario; the runs still waiting at its end are terminated. */
const WAIT_TIMEOUT = '2h';
/** Start calls in flight while parking runs. */
const PARALLEL_STARTS = 64;
/** Measured runs are parked this many at a time, then woken one after another. */
const BATCH = 10;
/** Runs waiting on other keys at the large size of a full run. */
const FULL_SCALE = 10_000;

/** Phases of one delivery, from the POST to the wait step completing. */
const DELIVERY_PHASES: Readonly<Record<string, string>> = {
  gateway: 'POST sent → the dispatcher WorkflowExecutionStarted (HTTP, auth, the start call)',
  lookup:
    "the dispatcher's first workflow task, which runs `lookUpEvent` (definitions and waits by `_id`) as a local activity",
  'dispatcher task': 'the rest of the dispatcher until it schedules `deliverToWaits` (queueing of its first task)',
  deliverToWaits: '`deliverToWaits` scheduled → the signal recorded in the waiting run (dispatch and the signal call)',
  'run takes it': "the signal → the run's workflow task that takes the event and schedules `unregisterWait` completed",
  unregisterWait: '`unregisterWait` scheduled → completed (the wait removed from MongoDB under its lock)',
  'step completes': "`unregisterWait` completed → the run closed (its last workflow task records the step's output)",
};

/**
 * Scenario 8: wait correlation (issue 14). One event is delivered to the one run waiting for its key, through the
 * gateway, the dispatcher's lookup by key and `deliverToWaits`, while 10 or 10,000 other runs wait in
 * `flow.wait_for_event` on other keys of the same (source, type). The goal compares the p99 at the large size with the
 * p99 at 10, measured in the same run.
 */
export const waitCorrelation: Scenario = {
  name: 'waits',
  title: 'Wait correlation: one event delivered with 10,000 runs waiting on other keys vs 10',
  async run(ctx, { quick, reps }) {
    const scales = quick ? [10, 100] : [10, FULL_SCALE];
    const batches = quick ? 1 : 5;
    const largest = scales.at(-1)!;
    const snapshot = snapshotOf(waitDefinition('bench-wait', PARKED, DONE, WAIT_TIMEOUT), ctx.catalog);
    const mongo = openMongo({ uri: ctx.env.mongodb.uri, database: ctx.env.mongodb.database });
    const values = new RepValues();
    const breakdown = new BreakdownCollector(
      `One delivery with ${largest.toLocaleString('en')} runs waiting on other keys (median per repetition)`,
      DELIVERY_PHASES,
    );
    /** The slowest delivery of each repetition at each size (the p99 of 50 samples is the slowest), phase by phase. */
    const slowest = new Map(
      scales.map((scale) => [
        scale,
        new BreakdownCollector(
          `The slowest delivery of each repetition with ${scale.toLocaleString('en')} runs waiting on other keys`,
          DELIVERY_PHASES,
        ),
      ]),
    );
    const waiting: string[] = [];
    /** Runs parked to be woken; any left by a failure are terminated too. */
    const measured: string[] = [];
    let parkSeconds = 0;
    try {
      // The first deliveries of a run pay for cold code paths and connections; they would flatter the ratio.
      progress('waits: warming up with one batch');
      await wakeBatch(ctx, mongo, snapshot, 'warm-up', 0, measured);
      for (const scale of scales) {
        const keys = Array.from({ length: scale - waiting.length }, (_, index) => `other-${waiting.length + index}`);
        const started = Date.now();
        waiting.push(
          ...(await parkRuns(ctx, snapshot, keys, { what: `waits: parking ${scale.toLocaleString('en')} runs` })),
        );
        await untilAllParked(ctx, mongo, waiting, waiting.length);
        if (scale === largest) parkSeconds = (Date.now() - started) / 1000;

        for (let rep = 0; rep < reps; rep++) {
          const samples: DeliverySample[] = [];
          for (let batch = 0; batch < batches; batch++) {
            samples.push(
              ...(await wakeBatch(ctx, mongo, snapshot, `m${scale}-${rep}-${batch}`, waiting.length, measured)),
            );
          }
          for (const metric of ['woken', 'delivered', 'lookup'] as const) {
            const list = samples.map((sample) => sample[metric]);
            values.add(`s${scale}.${metric}.p99`, percentile(list, 99));
            values.add(`s${scale}.${metric}.p50`, percentile(list, 50));
          }
          if (scale === largest) {
            for (const sample of samples) breakdown.add(sample.phases);
            breakdown.endRep();
          }
          const tail = slowest.get(scale)!;
          tail.add(samples.reduce((worst, sample) => (sample.woken > worst.woken ? sample : worst)).phases);
          tail.endRep();
          const last = (metric: string): string => values.get(`s${scale}.${metric}`).at(-1)!.toFixed(1);
          progress(
            `waits: ${scale.toLocaleString('en')} waiting, rep ${rep + 1}/${reps}: POST → wait step completed p50 ${last('woken.p50')} ms, ` +
              `p99 ${last('woken.p99')} ms; lookup p99 ${last('lookup.p99')} ms`,
          );
        }
      }
    } finally {
      // Later scenarios should not share the server and MongoDB with thousands of waiting runs.
      progress(`waits: terminating ${waiting.length.toLocaleString('en')} waiting runs and emptying the registry`);
      await terminateAll(ctx, [...waiting, ...measured]);
      await ctx.resetRegistry();
      await mongo.close();
    }

    const base = scales[0]!;
    const at = largest.toLocaleString('en');
    const vs = (metric: string, label: string): Metric =>
      compared(
        `s${largest}.${metric}`,
        `${label}, ${at} vs ${base} waiting`,
        'ms',
        values.get(`s${largest}.${metric}`),
        values.get(`s${base}.${metric}`),
      );
    const woken = vs('woken.p99', 'POST → wait step completed, p99');
    const samplesPerRep = batches * BATCH;
    return {
      name: waitCorrelation.name,
      title: waitCorrelation.title,
      measures:
        `${base}, then ${at} runs of a one-step definition (\`flow.wait_for_event\` for ${DONE.source}/${DONE.type} where \`key\` equals ` +
        'their own) are started directly on the Flow worker with distinct keys, 64 starts in flight, and the scenario waits ' +
        'until every wait is in MongoDB and sampled runs are past their second look-back, on their long timer. Then runs ' +
        `are parked ${BATCH} at a time on keys of their own and woken one after another: the runner POSTs the event for ` +
        'one run\'s key to the gateway and reads both histories. "Wait step completed" is the run\'s close: the wait is its ' +
        `only step, so the close follows the step's output at once. ${samplesPerRep} deliveries a repetition and size, ` +
        'after one uncounted warm-up batch. ' +
        'Every run left waiting is terminated and the registry emptied at the end.' +
        (quick ? '' : ` Parking ${at} runs took ${parkSeconds.toFixed(0)} s.`),
      baseline:
        `The same deliveries with ${base} runs parked on other keys, measured first in the same run (plus up to ` +
        `${BATCH - 1} measured runs of the current batch at either size).`,
      metrics: [
        woken,
        vs('woken.p50', 'POST → wait step completed, p50'),
        vs('delivered.p99', 'POST → signal recorded in the waiting run, p99'),
        vs('delivered.p50', 'POST → signal recorded in the waiting run, p50'),
        vs('lookup.p99', "Dispatcher's lookup (`lookUpEvent` workflow task), p99"),
        vs('lookup.p50', "Dispatcher's lookup (`lookUpEvent` workflow task), p50"),
      ],
      goals: [
        goal(woken, `One event's delivery p99 with ${at} runs waiting on other keys at most 1.2x with ${base}`, {
          atMost: 1.2,
        }),
      ],
      breakdowns: [breakdown.result(), ...[...slowest.values()].map((tail) => tail.result())],
      notes: [
        'The sizes are measured one after the other (parking the large one takes minutes), so the growth of the ' +
          "server's and MongoDB's data between them counts against the large size.",
        'The lookup time is the whole workflow task that runs the local activity (history has no finer time for it): ' +
          'an upper bound on the two `_id` reads.',
      ],
    };
  },
};

/**
 * Parks `BATCH` runs on keys of their own (adding their ids to `parked`), waits until they and the `alsoWaiting`
 * others are parked, and wakes them one after another.
 */
async function wakeBatch(
  ctx: BenchContext,
  mongo: MongoHandle,
  snapshot: DefinitionSnapshot,
  prefix: string,
  alsoWaiting: number,
  parked: string[],
): Promise<DeliverySample[]> {
  const keys = Array.from({ length: BATCH }, (_, index) => `${prefix}-${index}`);
  parked.push(...keys.map((key) => parkedRunId(ctx, key)));
  const ids = await parkRuns(ctx, snapshot, keys);
  await untilAllParked(ctx, mongo, ids, alsoWaiting + ids.length);
  const samples: DeliverySample[] = [];
  for (const [index, key] of keys.entries()) samples.push(await deliverOne(ctx, key, ids[index]!));
  return samples;
}

/** What one delivery measured (milliseconds from the POST, runner clock against server event times). */
interface DeliverySample {
  /** POST → the waiting run closed, right after its wait step. */
  readonly woken: number;
  /** POST → `WorkflowExecutionSignaled` in the waiting run. */
  readonly delivered: number;
  readonly lookup: number;
  readonly phases: Record<string, number>;
}

/** Posts the event for `key`, checks that it reached `runId` alone, and times it from both histories. */
async function deliverOne(ctx: BenchContext, key: string, runId: string): Promise<DeliverySample> {
  const { sentAt, workflowId } = await timedPost(ctx, DONE.source, DONE.type, { key }, `${ctx.tag}-${key}`);
  const result = (await ctx.client.workflow.getHandle(workflowId).result()) as EventDispatchResult;
  const delivered = result.waits?.delivered ?? [];
  if (delivered.length !== 1 || delivered[0]?.workflowId !== runId || result.matched.length > 0)
    throw new Error(`the event for ${key} should reach ${runId} alone; its dispatcher says ${JSON.stringify(result)}`);
  await ctx.client.workflow.getHandle(runId).result();
  const [dispatcherHistory, runHistory] = await Promise.all(
    [workflowId, runId].map((id) => ctx.client.workflow.getHandle(id).fetchHistory()),
  );
  const dispatcherEvents = dispatcherHistory!.events ?? [];
  const dispatcher = factsOf(workflowId, dispatcherEvents);
  const deliver = activityTimes(dispatcherEvents, 'deliverToWaits', workflowId);
  const run = wokenRunTimes(runHistory!.events ?? [], runId);
  const lookup = lookupMs(dispatcher);
  return {
    woken: run.closedAt - sentAt,
    delivered: run.signaledAt - sentAt,
    lookup,
    phases: {
      gateway: dispatcher.startedAt - sentAt,
      lookup,
      'dispatcher task': deliver.scheduledAt - dispatcher.startedAt - lookup,
      deliverToWaits: run.signaledAt - deliver.scheduledAt,
      'run takes it': run.takenAt - run.signaledAt,
      unregisterWait: run.unregister.completedAt - run.unregister.scheduledAt,
      'step completes': run.closedAt - run.unregister.completedAt,
    },
  };
}

/** When an activity of `activityType` was scheduled and completed in a history (server times). */
function activityTimes(
  events: readonly HistoryEvent[],
  activityType: string,
  workflowId: string,
): { scheduledAt: number; completedAt: number } {
  const scheduled = events.find(
    (event) =>
      event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      event.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
  );
  const completed = scheduled
    ? events.find(
        (event) =>
          event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
          String(event.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
      )
    : undefined;
  if (!scheduled || !completed) throw new Error(`the history of ${workflowId} has no completed ${activityType}`);
  return { scheduledAt: timestampMs(scheduled.eventTime), completedAt: timestampMs(completed.eventTime) };
}

/** A woken run's history: the delivery, the workflow task that took it, the unregistration and the close. */
function wokenRunTimes(events: readonly HistoryEvent[], workflowId: string) {
  const signal = events.findIndex((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  const taken = events.findIndex(
    (event, index) => index > signal && event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  );
  const closed = events.at(-1);
  if (signal < 0 || taken < 0 || closed?.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    throw new Error(`${workflowId} was not woken by a signal and completed`);
  return {
    signaledAt: timestampMs(events[signal]!.eventTime),
    takenAt: timestampMs(events[taken]!.eventTime),
    unregister: activityTimes(events, 'unregisterWait', workflowId),
    closedAt: timestampMs(closed.eventTime),
  };
}

/** The workflow id of the parked run waiting on `key`. */
function parkedRunId(ctx: BenchContext, key: string): string {
  return `bench-wait-${ctx.tag}-${key}`;
}

/**
 * Starts one interpreter run per key directly (`startFlowWorkflow`, not through the gateway), each waiting for the
 * `DONE` event with that key, on `taskQueue` (the main Flow worker's by default); prints progress when `what` says what.
 */
async function parkRuns(
  ctx: BenchContext,
  snapshot: DefinitionSnapshot,
  keys: readonly string[],
  { what, taskQueue = ctx.flowTaskQueue }: { what?: string; taskQueue?: string } = {},
): Promise<string[]> {
  const ids = keys.map((key) => parkedRunId(ctx, key));
  let started = 0;
  let reported = Date.now();
  await mapLimit(keys, PARALLEL_STARTS, async (key, index) => {
    const input: RunInput = { snapshot, event: flowEvent(PARKED.source, PARKED.type, { key }) };
    await startFlowWorkflow(ctx.client, 'interpret', { taskQueue, workflowId: ids[index]!, args: [input] });
    started++;
    if (what !== undefined && Date.now() - reported >= 10_000) {
      reported = Date.now();
      progress(`${what}: ${started.toLocaleString('en')}/${keys.length.toLocaleString('en')} started`);
    }
  });
  return ids;
}

/**
 * Waits until `expected` waits are registered in MongoDB (every key is distinct, so one document each), then until
 * the runs of `ids` (at most 40 of them, the last started among them) are on their long timer: past registration and
 * both look-backs, so they cost nothing more while others are measured.
 */
async function untilAllParked(
  ctx: BenchContext,
  mongo: MongoHandle,
  ids: readonly string[],
  expected: number,
): Promise<void> {
  const waits = (await mongo.connected()).collection('waits');
  let reported = Date.now();
  await waitUntil(
    `${expected.toLocaleString('en')} waits registered in MongoDB`,
    async () => {
      const registered = await waits.countDocuments();
      if (Date.now() - reported >= 10_000) {
        reported = Date.now();
        progress(`waits: ${registered.toLocaleString('en')}/${expected.toLocaleString('en')} waits registered`);
      }
      return registered >= expected;
    },
    30 * 60_000,
    500,
  );
  const step = Math.max(1, Math.floor(ids.length / 20));
  const sample = [...new Set([...ids.filter((_, index) => index % step === 0), ...ids.slice(-20)])];
  await waitUntil(
    `runs ${sample[0]} … ${sample.at(-1)} to wait on their long timer`,
    async () => {
      const facts = await mapLimit(sample, 8, (workflowId) => historyFacts(ctx.client, workflowId));
      return facts.every((run) => run.timers >= 2 && run.closedAt === undefined);
    },
    5 * 60_000,
    250,
  );
}

/** Terminates runs that may still be waiting; a run already closed is fine. */
async function terminateAll(ctx: BenchContext, ids: readonly string[]): Promise<void> {
  await mapLimit(ids, PARALLEL_STARTS, (workflowId) =>
    ctx.client.workflow
      .getHandle(workflowId)
      .terminate('benchmark done')
      .catch(() => undefined),
  );
}

const MB = 1024 * 1024;

/**
 * Scenario 9: waiting memory (issue 14). A fresh Flow worker holds N runs parked in `flow.wait_for_event`; a fresh
 * baseline worker holds N hand-written workflows blocked on a signal. Each is measured in its own process, as the
 * `memory` scenario measures runs in `flow.sleep`.
 */
export const waitingMemory: Scenario = {
  name: 'wait-memory',
  title: 'Waiting memory: runs parked in flow.wait_for_event vs workflows blocked on a signal',
  async run(ctx, { quick, reps }) {
    const runs = quick ? 100 : 1_000;
    const snapshot = snapshotOf(
      waitDefinition('bench-wait-memory', PARKED, { source: 'bench-wait-memory', type: 'done' }, WAIT_TIMEOUT),
      ctx.catalog,
    );
    const values = new RepValues();
    for (let rep = 0; rep < reps; rep++) {
      progress(`wait-memory rep ${rep + 1}/${reps}: starting a fresh Flow and a fresh baseline worker`);
      const [flowWorker, baselineWorker] = await Promise.all(
        (['flow', 'baseline'] as const).map((kind) =>
          ctx.startWorker(`wait-memory-${kind}-${rep}`, {
            kind,
            taskQueue: `bench-waitmem-${kind}-${ctx.tag}-${rep}`,
            maxCachedWorkflows: Math.max(2_000, runs * 2),
          }),
        ),
      );
      const order = rep % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
      for (const side of order) {
        const worker = side === 'flow' ? flowWorker! : baselineWorker!;
        const { idle, held } = await holdWaits(ctx, worker, side, runs, rep, snapshot);
        values.add(`${side}.idle`, idle.rss / MB);
        values.add(`${side}.held`, held.rss / MB);
        values.add(`${side}.perRun`, (held.rss - idle.rss) / runs / 1024);
        values.add(`${side}.heap`, held.heapUsed / MB);
        values.add(`${side}.heapPerRun`, (held.heapUsed - idle.heapUsed) / runs / 1024);
        progress(
          `wait-memory rep ${rep + 1}/${reps}: ${side} worker RSS ${(idle.rss / MB).toFixed(0)} MB idle, ` +
            `${(held.rss / MB).toFixed(0)} MB with ${runs} runs waiting (heap ${(held.heapUsed / MB).toFixed(0)} MB)`,
        );
      }
    }
    const count = runs.toLocaleString('en');
    /** Flow's worker against the hand-written one, repetition by repetition. */
    const sides = (id: string, label: string, unit: string): Metric =>
      compared(id, label, unit, values.get(`flow.${id}`), values.get(`baseline.${id}`));
    const held = sides('held', `Worker RSS with ${count} runs waiting for an event`, 'MB');
    const metrics = [
      held,
      sides('idle', 'Worker RSS before the runs (idle)', 'MB'),
      // The workflows run in the SDK's worker threads, whose heaps `heapUsed` leaves out: this is activities and clients.
      sides('heap', `Main thread's V8 heap used with ${count} runs waiting`, 'MB'),
      // With few runs the increases are within the garbage collector's noise; they are reported at full size only.
      ...(quick
        ? []
        : [
            sides('perRun', 'RSS increase per waiting run', 'KB'),
            sides('heapPerRun', "Main thread's V8 heap increase per waiting run", 'KB'),
          ]),
    ];
    return {
      name: waitingMemory.name,
      title: waitingMemory.title,
      measures:
        `A fresh worker process (maxCachedWorkflows 2,000) gets ${count} runs of a definition whose one step is ` +
        '`flow.wait_for_event` (2h, one `where` field), started directly. Once every run is cached and the worker has no ' +
        'activation or activity in flight, and the first and last runs wait on their long timer (registered, looked ' +
        'back twice), the worker reports `process.memoryUsage().rss` after a full GC (median of 3 readings). The runs ' +
        'are then terminated and the worker stopped.',
      baseline:
        'The same in a worker of the hand-written `waitForSignal` workflow (a signal handler and ' +
        "`condition(() => arrived, '2h')`), measured in its own process.",
      metrics,
      goals: [
        goal(held, `Worker RSS at most 1.2x the hand-written worker with ${count} runs waiting`, { atMost: 1.2 }),
      ],
      breakdowns: [],
      notes: [
        "The Flow worker loads Flow's whole action catalog, its client libraries and a MongoDB client, and has run " +
          "each run's registration and look-back activities; the baseline loads only the Temporal SDK and runs no activity.",
      ],
    };
  },
};

/**
 * Parks `runs` waiting runs in `worker` and reads its memory before and with them; then terminates the runs and
 * stops the worker.
 */
async function holdWaits(
  ctx: BenchContext,
  worker: WorkerProcess,
  side: 'flow' | 'baseline',
  runs: number,
  rep: number,
  snapshot: DefinitionSnapshot,
): Promise<{ idle: NodeJS.MemoryUsage; held: NodeJS.MemoryUsage }> {
  const { taskQueue } = worker.options;
  const keys = Array.from({ length: runs }, (_, index) => `mem-${side}-${rep}-${index}`);
  const ids = keys.map((key) => parkedRunId(ctx, key));
  try {
    const idle = await settledMemory(worker);
    if (side === 'flow') await parkRuns(ctx, snapshot, keys, { taskQueue });
    else
      await mapLimit(ids, PARALLEL_STARTS, (workflowId) =>
        ctx.client.workflow.start('waitForSignal', { taskQueue, workflowId, args: [WAIT_TIMEOUT] }),
      );
    // A Flow run waits on its long timer after registering and two look-backs 3 s apart; a hand-written one at once.
    const timers = side === 'flow' ? 2 : 1;
    await waitUntil(
      `${side} runs ${ids[0]} and ${ids.at(-1)} to wait on their timer`,
      async () => {
        const facts = await Promise.all([ids[0]!, ids.at(-1)!].map((id) => historyFacts(ctx.client, id)));
        return facts.every((run) => run.timers === timers && run.closedAt === undefined);
      },
      300_000,
      250,
    );
    await waitUntil(
      `${runs} ${side} runs cached and idle in the worker`,
      async () => {
        const status = await worker.status();
        return status.cachedWorkflows >= runs && status.inFlightActivations === 0 && status.inFlightActivities === 0;
      },
      300_000,
      250,
    );
    return { idle, held: await settledMemory(worker) };
  } finally {
    await terminateAll(ctx, ids);
    await worker.stop();
  }
}

/** The worker's memory after a full GC: the reading with the median RSS of three, a quarter of a second apart. */
async function settledMemory(worker: WorkerProcess): Promise<NodeJS.MemoryUsage> {
  const readings: NodeJS.MemoryUsage[] = [];
  while (readings.length < 3) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    readings.push((await worker.status(true)).memory);
  }
  const middle = median(readings.map((reading) => reading.rss));
  return readings.find((reading) => reading.rss === middle)!;
}
