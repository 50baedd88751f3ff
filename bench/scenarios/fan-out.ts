import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { planRuns } from '../../common/matching';
import type { DispatchResult, FlowEvent } from '../../common/run-types';
import { MAIN_TOKEN_NAME } from '../../config';
import { eventIdFor, startFlowWorkflow } from '../../intake';
import { runStartOptions } from '../../intake/start-runs';
import { progress, timedPost, type BenchContext } from '../context';
import { flowEvent, noopDefinition, seedDefinitions } from '../definitions';
import { timestampMs } from '../histories';
import { mapLimit } from '../../common/map-limit';
import { nowMs } from '../load';
import { BreakdownCollector, compared, goal, RepValues, type Scenario } from '../scenario';

const EVENT = { source: 'bench-fanout', type: 'go' };

/** The sides of one repetition, in the order they run; each repetition starts with the next one. */
const SIDES = ['flow', 'baseline', 'sameInputs'] as const;

/**
 * Scenario 4: one event that matches many definitions, against as many raw starts of a one-activity workflow, and
 * against as many raw starts of Flow's own runs with the inputs and options Flow starts them with.
 */
export const fanOut: Scenario = {
  name: 'fanout',
  title: 'Fan-out: one event matching 100 definitions vs 100 raw starts',
  async run(ctx, { quick, reps }) {
    const width = quick ? 10 : 100;
    const values = new RepValues();
    const breakdown = new BreakdownCollector(`One event matching ${width} definitions`, {
      gateway: 'POST sent → dispatcher started',
      queued: "the dispatcher started → its first workflow task started (a worker's poller took it)",
      toLookup: 'that task started → the `lookUpEvent` local activity scheduled (the activation up to the lookup)',
      lookup: `the \`lookUpEvent\` local activity's run: the registry lookup of ${width} definitions`,
      plan: 'the lookup done → the `startRuns` local activity scheduled: the CEL conditions and the plan, in the same workflow task',
      toFirstStart:
        '`startRuns` scheduled → the first run started (and the durable activity, when the local one failed)',
      starts: `the first run started → the last of the ${width} started (the starts of \`startRuns\`)`,
    });
    const definitions = Array.from({ length: width }, (_, index) =>
      noopDefinition(`bench-fan-${String(index + 1).padStart(3, '0')}`, EVENT),
    );
    // All of them share one binding document, so their saves queue on its lock.
    await seedDefinitions(ctx, definitions, 4, `fan-out: ${width} definitions on one event`);

    for (let rep = 0; rep < reps; rep++) {
      const sides = SIDES.map((_, index) => SIDES[(index + rep) % SIDES.length]!);
      for (const side of sides) {
        if (side === 'flow') {
          const key = `${ctx.tag}-fan-${rep}`;
          const { sentAt, workflowId } = await timedPost(ctx, EVENT.source, EVENT.type, { rep }, key);
          const result = (await ctx.client.workflow.getHandle(workflowId).result()) as DispatchResult;
          const answeredAt = nowMs();
          if (result.matched.length !== width) throw new Error(`fan-out matched ${result.matched.length} of ${width}`);
          const runIds = result.matched.map((run) => run.workflowId);
          const { first, last } = await startTimes(ctx.client, runIds);
          const dispatcher = dispatcherTimes(
            (await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [],
          );
          values.add('flow.allStarted', last - sentAt);
          values.add('flow.client', answeredAt - sentAt);
          values.add('flow.spread', last - first);
          const startsScheduled = dispatcher.startRunsScheduled ?? dispatcher.lookupDone;
          breakdown.add({
            gateway: dispatcher.startedAt - sentAt,
            queued: dispatcher.taskStarted - dispatcher.startedAt,
            toLookup: dispatcher.lookupScheduled - dispatcher.taskStarted,
            lookup: dispatcher.lookupDone - dispatcher.lookupScheduled,
            plan: startsScheduled - dispatcher.lookupDone,
            toFirstStart: first - startsScheduled,
            starts: last - first,
          });
          await finished(ctx.client, runIds);
        } else if (side === 'baseline') {
          const t0 = nowMs();
          const ids = Array.from({ length: width }, (_, index) => `bench-fan-${ctx.tag}-${rep}-${index}`);
          await Promise.all(
            ids.map((workflowId) =>
              ctx.client.workflow.start('noopSequence', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [1] }),
            ),
          );
          values.add('baseline.client', nowMs() - t0);
          values.add('baseline.allStarted', (await startTimes(ctx.client, ids)).last - t0);
          await finished(ctx.client, ids);
        } else {
          const options = await sameInputs(ctx, `${ctx.tag}-fanraw-${rep}`, { rep }, width);
          const t0 = nowMs();
          await Promise.all(options.map((start) => startFlowWorkflow(ctx.client, 'interpret', start)));
          values.add('sameInputs.client', nowMs() - t0);
          const ids = options.map((start) => start.workflowId);
          const { first, last } = await startTimes(ctx.client, ids);
          values.add('sameInputs.allStarted', last - t0);
          values.add('sameInputs.spread', last - first);
          await finished(ctx.client, ids);
        }
      }
      breakdown.endRep();
      const shown = (side: string): string => values.get(`${side}.allStarted`).at(-1)!.toFixed(0);
      progress(
        `fan-out rep ${rep + 1}/${reps}: all ${width} runs started after ${shown('flow')} ms (Flow) vs ` +
          `${shown('sameInputs')} ms (raw, Flow's inputs) vs ${shown('baseline')} ms (raw)`,
      );
    }
    const allStartedVsSame = compared(
      'allStarted.sameInputs',
      `Until all ${width} runs started (server time), against raw starts with Flow's inputs and options`,
      'ms',
      values.get('flow.allStarted'),
      values.get('sameInputs.allStarted'),
    );
    return {
      name: fanOut.name,
      title: fanOut.title,
      measures:
        `${width} definitions of one \`bench.noop\` step are bound to one event. Flow: from the POST until the last of the ` +
        `${width} runs started (the latest WorkflowExecutionStarted time on the server). The client column is the time ` +
        "until the dispatcher's result (all runs started) reached the client.",
      baseline:
        `${width} concurrent \`client.workflow.start\` calls from the runner, until the last one started and until the last ` +
        'call returned: of a one-activity hand-written workflow (the baseline), and of the `interpret` workflow with ' +
        "exactly the inputs and options Flow's `startRuns` gives its runs (`runStartOptions`: the definition snapshot " +
        'and the event as input, the dedupe policies, three search attributes, a summary and details), on the Flow ' +
        "worker's queue (raw, Flow's inputs). The second shows Flow's own cost rather than its payload's.",
      metrics: [
        compared(
          'allStarted',
          `Until all ${width} runs started (server time)`,
          'ms',
          values.get('flow.allStarted'),
          values.get('baseline.allStarted'),
        ),
        compared(
          'client',
          `Until the client knows all ${width} started`,
          'ms',
          values.get('flow.client'),
          values.get('baseline.client'),
        ),
        allStartedVsSame,
        compared(
          'client.sameInputs',
          `Until the client knows all ${width} started, against raw starts with Flow's inputs and options`,
          'ms',
          values.get('flow.client'),
          values.get('sameInputs.client'),
        ),
        compared(
          'spread.sameInputs',
          `First to last of the ${width} runs started (server time), against raw starts with Flow's inputs and options`,
          'ms',
          values.get('flow.spread'),
          values.get('sameInputs.spread'),
        ),
        compared(
          'inputs',
          `Raw starts with Flow's inputs and options against plain raw starts: until all ${width} started`,
          'ms',
          values.get('sameInputs.allStarted'),
          values.get('baseline.allStarted'),
        ),
      ],
      goals: [
        goal(allStartedVsSame, `All ${width} runs started at most 1.2x raw starts with the same inputs`, {
          atMost: 1.2,
        }),
      ],
      breakdowns: [breakdown.result()],
      notes: [
        "Flow's time includes the POST, the gateway and the dispatcher; the raw sides start at their first start call.",
        "The last metric is not Flow's: it is what the runs' inputs and options cost Temporal, against plain raw starts.",
      ],
    };
  },
};

/**
 * The start options of the runs Flow would start for an event like the gateway's (the same body, idempotency key
 * and actor), from the definitions the registry holds: `startRuns`' own `runStartOptions`, so the inputs cannot drift.
 */
async function sameInputs(
  ctx: BenchContext,
  idempotencyKey: string,
  body: Record<string, unknown>,
  width: number,
): Promise<ReturnType<typeof runStartOptions>[]> {
  const gatewayLike = flowEvent(EVENT.source, EVENT.type, body, eventIdFor(EVENT.source, idempotencyKey));
  const event: FlowEvent = { ...gatewayLike, idempotencyKey, actor: MAIN_TOKEN_NAME };
  const plan = planRuns(event, await ctx.store.findForEvent(EVENT.source, EVENT.type));
  if (plan.runs.length !== width) throw new Error(`fan-out planned ${plan.runs.length} runs of ${width}`);
  return plan.runs.map((run) => runStartOptions(run, event, ctx.flowTaskQueue));
}

/** Where a dispatcher's time went, in wall-clock milliseconds (see {@link dispatcherTimes}). */
interface DispatcherTimes {
  readonly startedAt: number;
  readonly taskStarted: number;
  readonly lookupScheduled: number;
  readonly lookupDone: number;
  /** When the `startRuns` local activity was scheduled; undefined when it ran as a durable activity only. */
  readonly startRunsScheduled?: number;
}

/**
 * When the dispatcher started and its first workflow task started (server times), and when its local activities were
 * scheduled and how long they ran, from their markers: Core records each one's wall-clock `original_schedule_time`,
 * and a `complete_time` that is the task's start plus the activity's run time. A durable lookup (the local one
 * failed) counts from the task's start to its completion.
 */
function dispatcherTimes(events: readonly temporal.api.history.v1.IHistoryEvent[]): DispatcherTimes {
  const EventType = temporal.api.enums.v1.EventType;
  const at = (type: temporal.api.enums.v1.EventType): number | undefined => {
    const event = events.find((candidate) => candidate.eventType === type);
    return event ? timestampMs(event.eventTime) : undefined;
  };
  const startedAt = at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)!;
  const taskStarted = at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
  const markers = new Map<string, { scheduled: number; ran: number }>();
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.details?.['data']?.payloads?.[0]?.data;
    if (!data || !marker?.details?.['result']) continue;
    const fields = JSON.parse(Buffer.from(data).toString('utf8')) as {
      activity_type?: string;
      complete_time?: Timestamp;
      original_schedule_time?: Timestamp;
    };
    if (
      fields.activity_type &&
      fields.complete_time &&
      fields.original_schedule_time &&
      !markers.has(fields.activity_type)
    )
      markers.set(fields.activity_type, {
        scheduled: millis(fields.original_schedule_time),
        ran: millis(fields.complete_time) - taskStarted,
      });
  }
  const lookup = markers.get('lookUpEvent');
  // A durable lookup: the first activity to complete is it (the starts come after it).
  const lookupScheduled = lookup?.scheduled ?? taskStarted;
  const lookupDone = lookup
    ? lookup.scheduled + lookup.ran
    : (at(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) ?? taskStarted);
  const startRuns = markers.get('startRuns');
  return {
    startedAt,
    taskStarted,
    lookupScheduled,
    lookupDone,
    ...(startRuns ? { startRunsScheduled: startRuns.scheduled } : {}),
  };
}

/** A protobuf timestamp as Core writes it into a marker's JSON. */
interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

function millis(time: Timestamp): number {
  return time.seconds * 1000 + time.nanos / 1e6;
}

/** The earliest and the latest start time of the given workflows, from the server. */
async function startTimes(client: Client, workflowIds: readonly string[]): Promise<{ first: number; last: number }> {
  const starts = await mapLimit(workflowIds, 16, async (workflowId) => {
    const description = await client.workflow.getHandle(workflowId).describe();
    return timestampMs(description.raw.workflowExecutionInfo?.startTime);
  });
  return { first: Math.min(...starts), last: Math.max(...starts) };
}

/** Waits for the runs to finish, so the next repetition starts on an idle worker. */
async function finished(client: Client, workflowIds: readonly string[]): Promise<void> {
  await mapLimit(workflowIds, 16, (workflowId) => client.workflow.getHandle(workflowId).result());
}
