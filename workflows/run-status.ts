import {
  ApplicationFailure,
  defineQuery,
  defineUpdate,
  getCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Step } from '../common/definition';
import {
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalView,
  type CancelRecord,
  type CancelRequest,
  type FailureContext,
  type RunStatus,
  type StepStatus,
} from '../common/run-control';
import type { RunInput, RunState, StepResult } from '../common/run-types';

/** What `GET /api/runs/:workflowId` reads: the run's steps, waits, approvals and cancel, without a history scan. */
export const runStatusQuery = defineQuery<RunStatus>(RUN_HANDLERS.status);

/** Asks the run to record who cancels it and why; the caller then cancels the workflow through Temporal. */
export const cancelRunUpdate = defineUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel);

/** Longest cancel reason kept. */
const MAX_REASON = 500;

/** The phase of a run, as its status shows it. */
export type RunPhase = RunStatus['phase'];

/**
 * A run's state as the outside sees it. The interpreter tells it what happens; the query and the cancel update read
 * it. Everything here is derived from the run's own progress, so it replays as it ran.
 */
export interface RunTracker {
  phase: RunPhase;
  /** The progress the steps made; the interpreter replaces it as steps end. */
  state: RunState;
  /** The step running now, in the steps or the on_failure steps. */
  current?: { readonly step: Step; readonly onFailure: boolean; readonly startedAt: number };
  /** The step started last, which is the one that failed when the run fails. */
  last?: Step;
  failure?: FailureContext;
  /** The first accepted cancel. */
  readonly cancel: () => CancelRecord | undefined;
  /** Marks a step as started now. */
  started(step: Step, onFailure: boolean): void;
  /** Marks the current step as ended; its result is in `state`. */
  ended(): void;
  /**
   * The progress to carry into a continue-as-new: `state` with the step timings and the accepted cancel, which the
   * tracker keeps itself (a step's state is computed before the step, so it cannot hold them).
   */
  carried(): RunState;
}

/**
 * Sets the run's query and cancel handlers; call it before the run's first await. The cancel update is refused (with
 * {@link RUN_REFUSALS.notCancellable}) once the run has ended or is running its on_failure steps, and when someone else
 * already cancelled it; the same actor asking again gets the same record, so a caller may retry.
 */
export function trackRun(input: RunInput, approvals: () => ApprovalView[]): RunTracker {
  const timings: Record<string, { startedAt: string; durationMs?: number }> = { ...input.resume?.timings };
  let cancelRecord: CancelRecord | undefined = input.resume?.cancel;
  const tracker: RunTracker = {
    phase: input.train !== undefined && input.resume === undefined ? 'queued' : 'running',
    state: input.resume ?? {
      nextStep: 0,
      steps: {},
      vars: {},
      results: [],
      startedAt: workflowInfo().startTime.toISOString(),
    },
    cancel: () => cancelRecord,
    started(step, onFailure) {
      const now = Date.now();
      tracker.current = { step, onFailure, startedAt: now };
      tracker.last = step;
      timings[step.id] = { startedAt: new Date(now).toISOString() };
    },
    ended() {
      const current = tracker.current;
      if (!current) return;
      timings[current.step.id] = {
        startedAt: new Date(current.startedAt).toISOString(),
        durationMs: Date.now() - current.startedAt,
      };
      tracker.current = undefined;
    },
    carried: () => ({
      ...tracker.state,
      timings: { ...timings },
      ...(cancelRecord ? { cancel: cancelRecord } : {}),
    }),
  };

  setHandler(runStatusQuery, () => statusOf(input, tracker, timings, approvals(), getCurrentDetails()));
  setHandler(
    cancelRunUpdate,
    (request: CancelRequest) => {
      cancelRecord ??= {
        by: request.by,
        ...(request.reason ? { reason: request.reason.slice(0, MAX_REASON) } : {}),
        at: new Date().toISOString(),
      };
      return cancelRecord;
    },
    {
      validator: (request: CancelRequest) => {
        if (typeof request !== 'object' || request === null || typeof request.by !== 'string' || request.by === '')
          throw refuse(RUN_REFUSALS.invalid, 'a cancel names who cancels (by)');
        if (request.reason !== undefined && typeof request.reason !== 'string')
          throw refuse(RUN_REFUSALS.invalid, 'reason must be text');
        if (tracker.phase !== 'queued' && tracker.phase !== 'running')
          throw refuse(
            RUN_REFUSALS.notCancellable,
            `the run is ${phaseText(tracker.phase)}; there is nothing to cancel`,
          );
        if (cancelRecord && cancelRecord.by !== request.by)
          throw refuse(
            RUN_REFUSALS.notCancellable,
            `${cancelRecord.by} already cancelled this run at ${cancelRecord.at}`,
          );
      },
    },
  );
  return tracker;
}

function statusOf(
  input: RunInput,
  tracker: RunTracker,
  timings: Readonly<Record<string, { startedAt: string; durationMs?: number }>>,
  approvals: ApprovalView[],
  details: string | undefined,
): RunStatus {
  const { definition, revision } = input.snapshot;
  const results = new Map<string, StepResult>(tracker.state.results.map((result) => [result.id, result]));
  const stepStatus = (step: Step, onFailure: boolean): StepStatus => {
    const timing = timings[step.id];
    const result = results.get(step.id);
    const running = tracker.current?.step.id === step.id && tracker.current.onFailure === onFailure;
    const output = tracker.state.steps[step.id]?.output;
    // The step that failed the run has no result of its own; the run's failure is its error.
    const failedRun = !result && !onFailure && tracker.failure !== undefined && tracker.failure.step === step.id;
    const error =
      result?.error ?? (failedRun ? { type: tracker.failure!.type, message: tracker.failure!.message } : undefined);
    return {
      id: step.id,
      action: step.action,
      status: running ? 'running' : failedRun ? 'failed' : (result?.status ?? 'pending'),
      ...(timing ? { startedAt: timing.startedAt } : {}),
      ...(timing?.durationMs === undefined ? {} : { durationMs: timing.durationMs }),
      ...(result?.status === 'completed' ? { outputBytes: JSON.stringify(output ?? null).length } : {}),
      ...(error ? { error } : {}),
      ...(result?.reason ? { reason: result.reason } : {}),
    };
  };
  const cancel = tracker.cancel();
  return {
    definition: definition.id,
    revision,
    eventId: input.event.id,
    ...(input.event.actor === undefined ? {} : { actor: input.event.actor }),
    phase: tracker.phase,
    steps: definition.steps.map((step) => stepStatus(step, false)),
    ...(tracker.phase === 'on_failure' || tracker.state.onFailureStarted
      ? { onFailure: (definition.on_failure ?? []).map((step) => stepStatus(step, true)) }
      : {}),
    ...(details ? { details } : {}),
    approvals,
    ...(cancel ? { cancel } : {}),
    ...(tracker.failure ? { failure: tracker.failure } : {}),
  };
}

function phaseText(phase: RunPhase): string {
  return phase === 'on_failure' ? 'running its on_failure steps' : phase;
}

function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
