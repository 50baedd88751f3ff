import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { RUN_HANDLERS, type ApprovalAnswer, type ApprovalView, type RunStatus } from '../../common/run-control';
import type { DefinitionSnapshot, RunInput } from '../../common/run-types';
import { startFlowWorkflow } from '../../intake';
import { progress, type BenchContext } from '../context';
import { flowEvent, snapshotOf } from '../definitions';
import { timestampMs } from '../histories';
import { nowMs, waitUntil } from '../load';
import { BreakdownCollector, compared, goal, RepValues, type Metric, type Scenario } from '../scenario';
import { median, percentile } from '../stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** The approver the definition lists and the runner answers as. */
const APPROVER = 'bench';
/** The approval step's id in the definition. */
const STEP = 'approve';
/** Both sides wait this long once a run is idle at its approval, so each update lands on a quiet stack. */
const QUIET_MS = 100;

type Side = 'flow' | 'baseline';
const SIDES: readonly Side[] = ['flow', 'baseline'];

/** Round trips per side and repetition. */
function roundTrips(quick: boolean): number {
  return quick ? 3 : 30;
}

/** The phases of one round trip, from the update call to its answer; the same for both sides. */
const PHASES: Readonly<Record<string, string>> = {
  'to the server':
    "update call (runner clock) → the update's WorkflowTaskScheduled (server clock, same machine): the call, the server",
  'task queued': "the update's workflow task: WorkflowTaskScheduled → WorkflowTaskStarted (waiting for the worker)",
  'on the worker':
    "the update's workflow task: WorkflowTaskStarted → WorkflowTaskCompleted (validator, handler, the next step)",
  'accepted → step scheduled': 'WorkflowExecutionUpdateAccepted → the next ActivityTaskScheduled (`bench.noop`)',
  'answer to the client': 'WorkflowExecutionUpdateCompleted (server clock) → the update call returns (runner clock)',
};

/**
 * Scenario 11: the approval round trip (issue 15). A run waits in `flow.approval`; the runner answers it with the
 * `answerApproval` update, and the round trip is from the update's workflow task being scheduled (the server took the
 * update in) to the next step's activity being scheduled, from the run's history; the acceptance event → that activity
 * is reported too. The baseline is a hand-written workflow whose update handler sets a flag that a `condition()` waits
 * on, before it calls the same activity.
 */
export const approvals: Scenario = {
  name: 'approvals',
  title: 'Approval round trip: the answerApproval update to the next step vs a hand-written update handler',
  async run(ctx, { quick, reps }) {
    const snapshot = snapshotOf(approvalDefinition(), ctx.catalog);
    const count = roundTrips(quick);
    const values = new RepValues();
    const breakdowns = {
      flow: new BreakdownCollector('Flow: `flow.approval` answered, then the `bench.noop` step', PHASES),
      baseline: new BreakdownCollector('Hand-written: an update handler and `condition()`, then `bench.noop`', PHASES),
    };
    const events = { flow: [] as number[], baseline: [] as number[] };

    progress('approvals: warming up both workers');
    for (const side of SIDES) await roundTrip(ctx, side, `bench-approval-${ctx.tag}-warm-${side}`, snapshot);

    for (let rep = 0; rep < reps; rep++) {
      const samples: Record<Side, RoundTrip[]> = { flow: [], baseline: [] };
      for (let i = 0; i < count; i++) {
        const order: readonly Side[] = (rep + i) % 2 === 0 ? ['flow', 'baseline'] : ['baseline', 'flow'];
        for (const side of order)
          samples[side].push(await roundTrip(ctx, side, `bench-approval-${ctx.tag}-${side}-${rep}-${i}`, snapshot));
      }
      for (const side of SIDES) {
        const list = samples[side];
        const add = (what: keyof RoundTrip['times'], p: 50 | 99): void =>
          values.add(
            `${side}.${what}.p${p}`,
            percentile(
              list.map((sample) => sample.times[what]),
              p,
            ),
          );
        add('admitted', 50);
        add('admitted', 99);
        add('accepted', 50);
        add('accepted', 99);
        add('client', 50);
        add('client', 99);
        add('callToStep', 50);
        add('workerTask', 50);
        values.add(`${side}.events`, median(list.map((sample) => sample.events)));
        events[side].push(...list.map((sample) => sample.events));
        for (const sample of list) breakdowns[side].add(sample.phases);
        breakdowns[side].endRep();
      }
      const last = (key: string): string => values.get(key).at(-1)!.toFixed(2);
      progress(
        `approvals rep ${rep + 1}/${reps}: update's task scheduled → next step scheduled p50 ` +
          `${last('flow.admitted.p50')} vs ${last('baseline.admitted.p50')} ms; accepted → next step scheduled p50 ` +
          `${last('flow.accepted.p50')} vs ${last('baseline.accepted.p50')} ms; update call → result p50 ` +
          `${last('flow.client.p50')} vs ${last('baseline.client.p50')} ms`,
      );
    }

    const sides = (id: string, label: string, unit: string): Metric =>
      compared(id, label, unit, values.get(`flow.${id}`), values.get(`baseline.${id}`));
    const admitted = sides(
      'admitted.p50',
      "Round trip: the update's workflow task scheduled → next step scheduled, p50",
      'ms',
    );
    return {
      name: approvals.name,
      title: approvals.title,
      measures:
        `An interpreter run of \`[flow.approval (approvers: [${APPROVER}], required: 1, forbid_self_approval: false), ` +
        'bench.noop]` is started directly on the Flow worker. Once the `runStatus` query shows its approval open and ' +
        `its history is idle (the last workflow task completed, none scheduled), and ${QUIET_MS} ms later, the runner ` +
        `calls \`executeUpdate(answerApproval, {stepId, decision: approved, by: ${APPROVER}, via: api})\`, awaits ` +
        "the run's result and reads its history. The round trip is the update's WorkflowTaskScheduled (the server " +
        'took the update in and asked the worker for a task) → the next ActivityTaskScheduled (`bench.noop`), server ' +
        'event times; WorkflowExecutionUpdateAccepted → that ActivityTaskScheduled is reported too. The client-side ' +
        `latency is the update call → its result (runner clock). ${count} round trips per side and repetition, each ` +
        'its own run, the sides alternating; one warm-up round trip per side is not counted.',
      baseline:
        'A hand-written workflow (`waitForAnswer` in `bench/baseline/workflows.ts`) on the baseline worker: an update ' +
        'handler of the same name that sets a flag, `await condition(() => answered)`, then the same activity ' +
        '`bench.noop`. Same readiness check (its history idle), same pause, same update and measurement.',
      metrics: [
        admitted,
        sides('admitted.p99', "Round trip: the update's workflow task scheduled → next step scheduled, p99", 'ms'),
        sides('accepted.p50', 'WorkflowExecutionUpdateAccepted → next step scheduled (one task completion), p50', 'ms'),
        sides('accepted.p99', 'WorkflowExecutionUpdateAccepted → next step scheduled (one task completion), p99', 'ms'),
        sides('client.p50', 'Client-side update latency, call → result, p50', 'ms'),
        sides('client.p99', 'Client-side update latency, call → result, p99', 'ms'),
        sides('callToStep.p50', 'Update call (runner) → next step scheduled (server), p50', 'ms'),
        sides('workerTask.p50', "The update's workflow task on the worker (Started → Completed), p50", 'ms'),
        sides('events', 'History events per run', 'events'),
      ],
      goals: [
        goal(
          admitted,
          'Approval round trip (the update taken in → next step scheduled) at most 1.2x the hand-written',
          {
            atMost: 1.2,
          },
        ),
      ],
      breakdowns: [breakdowns.flow.result(), breakdowns.baseline.result()],
      notes: [
        `History events per run: Flow ${median(events.flow)}, hand-written ${median(events.baseline)}. Flow's ` +
          'approval also starts its timeout timer (3d by default) and cancels it when decided, and its update has a ' +
          'validator (refusals are answered before anything is recorded); the hand-written handler has neither.',
        'Why the round trip starts at the workflow task: the update arrives in a workflow task of its own, and the ' +
          "worker runs the validator, the handler and the workflow up to the next step's command in that one task. " +
          "The server writes WorkflowExecutionUpdateAccepted, the update's completion and the next step's " +
          'ActivityTaskScheduled together when the task completes, so Accepted → Scheduled is a fraction of a ' +
          "millisecond of the server's bookkeeping on both sides and sees none of the worker's work; its ratio is " +
          'noise and no goal reads it.',
      ],
    };
  },
};

/** The definition the Flow side runs: an approval one approval decides, then one `bench.noop` step. */
function approvalDefinition(): Record<string, unknown> {
  return {
    id: 'bench-approval',
    name: 'Benchmark approval round trip',
    on: [{ source: 'bench', type: 'approval' }],
    steps: [
      {
        id: STEP,
        action: 'flow.approval',
        with: { title: 'Benchmark approval', approvers: [APPROVER], required: 1, forbid_self_approval: false },
      },
      { id: 'after', action: 'bench.noop' },
    ],
  };
}

/** What one round trip measured. */
interface RoundTrip {
  readonly times: {
    /** The update's WorkflowTaskScheduled → the next ActivityTaskScheduled (server clock): the goal's round trip. */
    readonly admitted: number;
    /** WorkflowExecutionUpdateAccepted → the next ActivityTaskScheduled (server clock), within one task completion. */
    readonly accepted: number;
    /** The update call → its result (runner clock). */
    readonly client: number;
    /** The update call (runner clock) → the next ActivityTaskScheduled (server clock). */
    readonly callToStep: number;
    /** The update's workflow task: WorkflowTaskStarted → WorkflowTaskCompleted. */
    readonly workerTask: number;
  };
  readonly phases: Record<string, number>;
  readonly events: number;
}

/** Starts one run, waits until it waits for its answer, answers it by update and times the round trip. */
async function roundTrip(
  ctx: BenchContext,
  side: Side,
  workflowId: string,
  snapshot: DefinitionSnapshot,
): Promise<RoundTrip> {
  const handle = await startSide(ctx, side, workflowId, snapshot);
  if (side === 'flow')
    await waitUntil(
      `the approval of ${workflowId} to open`,
      async () => (await handle.query<RunStatus>(RUN_HANDLERS.status)).approvals.length > 0,
      60_000,
      20,
    );
  await waitUntil(`${workflowId} to be idle`, async () => idle((await handle.fetchHistory()).events ?? []), 60_000, 20);
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS));

  const answer: ApprovalAnswer = { stepId: STEP, decision: 'approved', by: APPROVER, via: 'api' };
  const calledAt = nowMs();
  const view = await handle.executeUpdate<ApprovalView | string, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, {
    args: [answer],
  });
  const answeredAt = nowMs();
  if (side === 'flow' && (view as ApprovalView).status !== 'approved')
    throw new Error(`${workflowId}: the answer left the approval ${JSON.stringify(view)}`);
  await handle.result();

  const events = (await handle.fetchHistory()).events ?? [];
  const at = updateTimes(events, workflowId);
  return {
    times: {
      admitted: at.stepScheduled - at.taskScheduled,
      accepted: at.stepScheduled - at.accepted,
      client: answeredAt - calledAt,
      callToStep: at.stepScheduled - calledAt,
      workerTask: at.taskCompleted - at.taskStarted,
    },
    phases: {
      'to the server': at.taskScheduled - calledAt,
      'task queued': at.taskStarted - at.taskScheduled,
      'on the worker': at.taskCompleted - at.taskStarted,
      'accepted → step scheduled': at.stepScheduled - at.accepted,
      'answer to the client': answeredAt - at.updateCompleted,
    },
    events: events.length,
  };
}

async function startSide(
  ctx: BenchContext,
  side: Side,
  workflowId: string,
  snapshot: DefinitionSnapshot,
): Promise<WorkflowHandle> {
  if (side === 'baseline')
    return ctx.client.workflow.start('waitForAnswer', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [] });
  const input: RunInput = { snapshot, event: flowEvent('bench', 'approval', {}) };
  return startFlowWorkflow(ctx.client, 'interpret', { taskQueue: ctx.flowTaskQueue, workflowId, args: [input] });
}

/** Whether a run is idle: its last workflow task completed and no other is scheduled. */
function idle(events: readonly HistoryEvent[]): boolean {
  const completed = events.findLastIndex((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (completed < 0) return false;
  return !events.slice(completed + 1).some((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
}

/** The server times of the update in a history: its workflow task, its acceptance and completion, the next step. */
function updateTimes(events: readonly HistoryEvent[], workflowId: string) {
  const timeOf = (id: unknown): number => {
    const event = events.find((candidate) => String(candidate.eventId) === String(id));
    if (!event) throw new Error(`the history of ${workflowId} has no event ${String(id)}`);
    return timestampMs(event.eventTime);
  };
  const accepted = events.findIndex(
    (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  );
  const completedUpdate = events.find(
    (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
  );
  const task = events.findLast(
    (event, index) => index < accepted && event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  );
  const step = events.find(
    (event, index) =>
      index > accepted &&
      event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      event.activityTaskScheduledEventAttributes?.activityType?.name === 'bench.noop',
  );
  if (accepted < 0 || !completedUpdate || !task || !step)
    throw new Error(`the history of ${workflowId} has no accepted update followed by bench.noop`);
  const attributes = task.workflowTaskCompletedEventAttributes;
  return {
    taskScheduled: timeOf(attributes?.scheduledEventId),
    taskStarted: timeOf(attributes?.startedEventId),
    taskCompleted: timestampMs(task.eventTime),
    accepted: timestampMs(events[accepted]!.eventTime),
    updateCompleted: timestampMs(completedUpdate.eventTime),
    stepScheduled: timestampMs(step.eventTime),
  };
}
