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
      lookup: `the registry lookup of ${width} definitions: the dispatcher's first workflow task started → its \`lookUpEvent\` local activity done`,
      toFirstStart:
        'the lookup done → the first run started: the CEL conditions and the `startRuns` local activity in the same workflow task, up to its first start (and the durable activity, when the local one failed)',
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
          const dispatcher = lookupTimes((await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
          const lookup = dispatcher.lookup;
          values.add('flow.allStarted', last - sentAt);
          values.add('flow.client', answeredAt - sentAt);
          values.add('flow.spread', last - first);
          breakdown.add({
            gateway: dispatcher.startedAt - sentAt,
            lookup,
            toFirstStart: first - dispatcher.startedAt - lookup,
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

/**
 * When the dispatcher started, and how long its registry lookup took: from its first workflow task's start until
 * Core recorded the `lookUpEvent` local activity complete (the marker's `complete_time`), or, when a durable lookup
 * took over, until that activity completed. The runs' starts now run in the same workflow task as the lookup, so the
 * task's length is no longer the lookup's.
 */
function lookupTimes(events: readonly temporal.api.history.v1.IHistoryEvent[]): { startedAt: number; lookup: number } {
  const EventType = temporal.api.enums.v1.EventType;
  const at = (type: temporal.api.enums.v1.EventType): number | undefined => {
    const event = events.find((candidate) => candidate.eventType === type);
    return event ? timestampMs(event.eventTime) : undefined;
  };
  const startedAt = at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)!;
  const taskStarted = at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
  let done: number | undefined;
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.details?.['data']?.payloads?.[0]?.data;
    if (data && marker?.details?.['result']) {
      const { activity_type: type, complete_time: time } = JSON.parse(Buffer.from(data).toString('utf8')) as {
        activity_type?: string;
        complete_time?: { seconds: number; nanos: number };
      };
      if (type === 'lookUpEvent' && time) done = time.seconds * 1000 + time.nanos / 1e6;
    }
  }
  // A durable lookup: the first activity to complete is it (the starts come after it).
  done ??= at(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  return { startedAt, lookup: done === undefined ? 0 : done - taskStarted };
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
