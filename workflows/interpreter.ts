import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  sleep,
  TemporalFailure,
  TimeoutFailure,
  setCurrentDetails,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { ActionActivity, InternalActivities, StepMeta } from '../activities';
import type { Step, StepOptions } from '../common/definition';
import { createExpressionEngine, type ExpressionContext, type ExpressionEngine } from '../common/expressions';
import {
  isMetaAction,
  MetaActionFailure,
  runMetaAction,
  type MetaContext,
  type MetaOutcome,
} from '../common/meta-actions';
import type { FailureContext, LifecycleBody, LifecycleType } from '../common/run-control';
import {
  runContext,
  type RunInput,
  type RunResult,
  type RunState,
  type StepError,
  type StepResult,
} from '../common/run-types';
import type { FlowSinks } from '../common/sinks';
import type { DequeuedNotice } from '../common/train-types';
import { listenForApprovals, type Approvals } from './approval';
import { listenForEvents, type EventWaits } from './event-wait';
import { trackRun, type RunTracker } from './run-status';
import { awaitTrainGrant } from './train-gate';

/** The meta-action whose steps take events; their outputs name the events they took. */
const WAIT_FOR_EVENT = 'flow.wait_for_event';

/** Marks runs in which an expression result of NaN or an infinity is an error rather than `null`. */
const REFUSE_NON_FINITE_PATCH = 'refuse-non-finite-results';

/**
 * Activity options when neither the step nor its action sets them. The heartbeat timeout holds because the worker
 * keeps every attempt alive (`activities/keep-alive.ts`): a killed worker's step is retried after it, not after the
 * step's timeout.
 */
export const STEP_DEFAULTS = {
  timeout: '5m',
  heartbeat: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const;

/**
 * Marks runs in which a step cancelled by the run's cancellation ends the run Cancelled. Before, the cancelled
 * activity became a `StepFailed` and the run ended Failed; runs recorded so replay (and answer queries) as they ran.
 */
const CANCEL_STAYS_CANCELLED_PATCH = 'cancel-stays-cancelled';

/** Lifecycle events are retried until they are accepted: without a limit, backing off to every 30 s. */
const LIFECYCLE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/** What one run needs while it runs its steps: handlers set before the first await, and its expression engine. */
interface Run {
  readonly input: RunInput;
  readonly tracker: RunTracker;
  readonly engine: ExpressionEngine;
  readonly waits: EventWaits;
  readonly approvals: Approvals;
  readonly emit: (type: LifecycleType, extra?: Partial<LifecycleBody>, discriminator?: string) => Promise<void>;
}

/**
 * The generic interpreter: runs one definition revision for one event, step by step. Each step is one activity whose
 * type is the action id, except meta-actions (`META_ACTIONS`), which run here: `flow.set` only updates `vars`,
 * `flow.sleep` sets a timer, `flow.approval` waits for people. The definition snapshot arrives as input, so the run
 * never reads the registry and later edits never change it.
 *
 * When a step fails or the run is cancelled, the definition's `on_failure` steps run (to the end, even while
 * cancelled), and the run still ends with the original failure or as cancelled. See docs/run-control.md.
 */
export async function interpret(input: RunInput): Promise<RunResult> {
  const { runs } = proxySinks<FlowSinks>();
  const definitionId = input.snapshot.definition.id;
  // Runs that rendered NaN or an infinity (as null) before results JSON cannot hold became errors replay as they ran.
  const engine = createExpressionEngine({ refuseNonFinite: () => patched(REFUSE_NON_FINITE_PATCH) });
  // Before any await: deliveries, answers, queries and cancels are taken from the moment the run starts.
  const waits = listenForEvents(engine);
  // The status query reads the approvals lazily; no query is answered before this function's first await.
  const tracker = trackRun(input, () => approvals.views());
  const emit = lifecycleEmitter(input, tracker);
  const approvals: Approvals = listenForApprovals(
    {
      workflowId: workflowInfo().workflowId,
      definition: definitionId,
      ...(input.event.actor === undefined ? {} : { actor: input.event.actor }),
      requested: (view) => emit('approval_requested', { step: view.stepId, title: view.title }, view.stepId),
    },
    waits,
  );
  const run: Run = { input, tracker, engine, waits, approvals, emit };

  try {
    if (input.train !== undefined && input.resume === undefined) {
      // A run of a concurrency group waits for its train before its first step, and may leave the line unrun.
      const dequeued = await awaitTrainGrant(input.train);
      if (dequeued) {
        // The superseded run says so itself, so the event survives whatever happens to the dispatcher that replaced it.
        if (dequeued.reason === 'superseded')
          await emit('run_superseded', { status: 'superseded', replacedBy: dequeued.by, group: dequeued.group });
        return dequeuedResult(input, dequeued);
      }
      tracker.phase = 'running';
    }
    if (input.resume === undefined) {
      runs.started(definitionId);
      await emit('run_started', { status: 'running' });
    }
    const result = await runSteps(run);
    tracker.phase = 'completed';
    runs.completed(definitionId);
    await emit('run_completed', { status: 'completed' });
    return result;
  } catch (error) {
    // Only Temporal failures end the run. Continue-as-new goes on in a new run, and any other error fails just the
    // workflow task, which Temporal retries.
    if (!(error instanceof TemporalFailure)) throw error;
    const failure = failureContext(error, tracker);
    tracker.failure = failure;
    const began = tracker.last !== undefined || tracker.state.results.length > 0;
    // Cleanup runs to the end, even while the run is being cancelled; a run that never began a step has none to do.
    await CancellationScope.nonCancellable(async () => {
      if (began) await runOnFailure(run, failure);
      tracker.phase = failure.cancelled ? 'cancelled' : 'failed';
      await emit(failure.cancelled ? 'run_cancelled' : 'run_failed', {
        status: tracker.phase,
        failure,
        ...(failure.by ? { actor: failure.by } : {}),
      });
    });
    runs.failed(definitionId, failureType(error));
    throw error;
  }
}

/** The result of a run that left its train's queue without running a step. */
function dequeuedResult(input: RunInput, dequeued: DequeuedNotice): RunResult {
  const { definition, revision } = input.snapshot;
  setCurrentDetails(`Left the line of train ${dequeued.group} without running: ${dequeued.reason} by ${dequeued.by}`);
  return { definition: definition.id, revision, eventId: input.event.id, steps: [], vars: {}, dequeued };
}

function failureType(error: TemporalFailure): string {
  return error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : error.name;
}

async function runSteps(run: Run): Promise<RunResult> {
  const { input, tracker } = run;
  const { definition, revision } = input.snapshot;
  const { event } = input;
  const total = definition.steps.length;

  for (let index = tracker.state.nextStep; index < total; index++) {
    const step = definition.steps[index]!;
    setCurrentDetails(`Step ${index + 1}/${total}: ${step.name ?? step.id} (${step.action})`);
    const where = `step "${step.id}" (steps[${index}])`;
    tracker.state = await runStep(run, step, where, (detail) =>
      setCurrentDetails(`Step ${index + 1}/${total}: ${step.name ?? step.id} (${detail})`),
    );
    tracker.state = { ...tracker.state, nextStep: index + 1 };
    // A skipped step never checked for continue-as-new, and runs recorded so must replay the same.
    const skipped = tracker.state.results.at(-1)?.status === 'skipped';
    if (!skipped && workflowInfo().continueAsNewSuggested && tracker.state.nextStep < total) {
      await continueAsNew<typeof interpret>({ ...input, resume: tracker.carried() });
    }
  }
  setCurrentDetails(`Completed all ${total} steps`);
  const { state } = tracker;
  return { definition: definition.id, revision, eventId: event.id, steps: state.results, vars: state.vars };
}

/**
 * Runs the on_failure steps, each once, in order. A failing on_failure step is recorded and the next one still runs:
 * cleanup steps are independent, and the run ends with its original failure whatever they do.
 */
async function runOnFailure(run: Run, failure: FailureContext): Promise<void> {
  const steps = run.input.snapshot.definition.on_failure ?? [];
  if (steps.length === 0) return;
  const { tracker } = run;
  tracker.phase = 'on_failure';
  tracker.state = { ...tracker.state, onFailureStarted: true };
  for (const [index, step] of steps.entries()) {
    setCurrentDetails(`Cleaning up after ${failure.type} ${index + 1}/${steps.length}: ${step.name ?? step.id}`);
    tracker.state = await runStep(
      run,
      { ...step, continue_on_error: true },
      `on_failure step "${step.id}" (on_failure[${index}])`,
      (detail) => setCurrentDetails(`Cleaning up ${index + 1}/${steps.length}: ${step.name ?? step.id} (${detail})`),
      failure,
    );
  }
}

/** Runs one step (or skips it) and returns the run's state with its result; throws when it fails the run. */
async function runStep(
  run: Run,
  step: Step,
  where: string,
  progress: (detail: string) => void,
  failure?: FailureContext,
): Promise<RunState> {
  const { input, tracker, engine } = run;
  const { definition, revision } = input.snapshot;
  const { event } = input;
  const state = tracker.state;
  const context: ExpressionContext = {
    event: event.body,
    steps: state.steps,
    vars: state.vars,
    run: runContext(event, definition.id, revision),
    ...(failure ? { failure } : {}),
  };

  if (step.if !== undefined && !evaluate(where, () => engine.evaluateCondition(step.if!, context))) {
    return advance(state, step, undefined, { status: 'skipped', reason: `if ${JSON.stringify(step.if)} was false` });
  }
  tracker.started(step, failure !== undefined);
  try {
    const { output, vars } = await execute(run, step, where, context, progress);
    return advance({ ...state, vars: vars ?? state.vars }, step, output, { status: 'completed' });
  } catch (error) {
    const recorded = step.continue_on_error ? recordableError(error) : undefined;
    if (!recorded) throw error;
    return advance(state, step, undefined, { status: 'failed', error: recorded });
  } finally {
    tracker.ended();
  }
}

/** Renders a step's input and runs it: a meta-action here, any other action as its activity. */
async function execute(
  run: Run,
  step: Step,
  where: string,
  context: ExpressionContext,
  progress: (detail: string) => void,
): Promise<{ output: unknown; vars?: Readonly<Record<string, unknown>> }> {
  const { input, tracker, engine, waits, approvals } = run;
  const { definition, revision, actionDefaults } = input.snapshot;
  const rendered = evaluate(where, () => engine.render(step.with, context));
  const action = step.action;
  if (isMetaAction(action)) {
    const metaContext: MetaContext = {
      sleep,
      now: () => new Date(),
      progress,
      awaitEvent: (wait) => waits.awaitEvent(step.id, wait, takenEvents(definition.steps, tracker.state)),
      awaitApproval: (request) => approvals.awaitApproval(step.id, request),
    };
    // A refused input throws before the action waits; only an action that waits returns a promise.
    const pending = evaluate(where, () => runMetaAction(action, rendered, metaContext), 'InvalidActionInput');
    let outcome: MetaOutcome;
    try {
      outcome = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      throw error instanceof MetaActionFailure ? metaFailure(where, error) : stepFailure(where, step, error);
    }
    return { output: outcome.output, ...(outcome.vars ? { vars: { ...tracker.state.vars, ...outcome.vars } } : {}) };
  }
  const meta: StepMeta = {
    eventId: input.event.id,
    definition: definition.id,
    revision,
    stepId: step.id,
    workflowId: workflowInfo().workflowId,
    causation: input.event.causation,
  };
  const routed = routedQueue(step, input.snapshot.actionQueues);
  const defaults = actionDefaults[step.action];
  if (routed === undefined && executionOf(step, defaults) === 'local') {
    try {
      const local = proxyLocalActivities<Record<string, ActionActivity>>({
        startToCloseTimeout: STEP_DEFAULTS.timeout,
      });
      return { output: await local[step.action]!.executeWithOptions(localOptions(step, defaults), [rendered, meta]) };
    } catch (error) {
      throw stepFailure(where, step, asActivityFailure(step, error), workflowInfo().taskQueue);
    }
  }
  const options: ActivityOptions = {
    ...activityOptions(step, defaults),
    summary: step.name ?? step.id,
    // Only when set: a step as it was before routing schedules exactly the command it did, and replays.
    ...(routed === undefined ? {} : { taskQueue: routed }),
    ...(step.schedule_to_start === undefined ? {} : { scheduleToStartTimeout: step.schedule_to_start }),
  };
  const actions = proxyActivities<Record<string, ActionActivity>>({ startToCloseTimeout: STEP_DEFAULTS.timeout });
  // The workflow cannot see when a worker takes the task, so a routed step says where it waits until it completes.
  if (routed !== undefined) progress(`${step.action}; Waiting for a worker on ${routed} or running there`);
  try {
    const output = await actions[step.action]!.executeWithOptions(options, [rendered, meta]);
    if (routed !== undefined) progress(step.action);
    return { output };
  } catch (error) {
    throw stepFailure(where, step, error, routed ?? workflowInfo().taskQueue);
  }
}

/**
 * The task queue a step is routed to when it is not the run's own: the step's `task_queue`, else its action's queue
 * from the snapshot. Undefined when the step runs where the workflow runs, as every step did before routing.
 */
function routedQueue(step: Step, actionQueues: Readonly<Record<string, string>> | undefined): string | undefined {
  const queue = step.task_queue ?? actionQueues?.[step.action];
  return queue === undefined || queue === workflowInfo().taskQueue ? undefined : queue;
}

/** What a step with `continue_on_error` records of its failure; nothing for a cancellation, which ends the run. */
function recordableError(error: unknown): StepError | undefined {
  if (!(error instanceof TemporalFailure) || isCancellation(error)) return undefined;
  const cause = innermost(error);
  return { type: failureTypeOf(cause), message: error.message };
}

/** The failure a run's on_failure steps see: what failed, where, and, for a cancel, who cancelled and why. */
function failureContext(error: TemporalFailure, tracker: RunTracker): FailureContext {
  const current = tracker.last;
  const at = current ? { step: current.id, action: current.action } : {};
  if (isCancellation(error)) {
    const cancel = tracker.cancel();
    return {
      ...at,
      type: 'Cancelled',
      message: cancel?.reason ?? 'the run was cancelled',
      cancelled: true,
      by: cancel?.by ?? 'temporal',
    };
  }
  return { ...at, type: failureTypeOf(innermost(error)), message: error.message, cancelled: false };
}

/** The deepest Temporal failure in a chain: the activity's own error under `StepFailed` and `ActivityFailure`. */
function innermost(error: TemporalFailure): TemporalFailure {
  let current = error;
  while (current.cause instanceof TemporalFailure) current = current.cause;
  return current;
}

function failureTypeOf(error: TemporalFailure): string {
  return error instanceof ApplicationFailure && error.type ? error.type : error.name;
}

/**
 * Emits a lifecycle event of this run when its event's dispatcher saw a definition bound to that type; otherwise it
 * costs nothing, not even a history event.
 */
function lifecycleEmitter(input: RunInput, tracker: RunTracker): Run['emit'] {
  const bound = new Set(input.lifecycle ?? []);
  return async (type, extra = {}, discriminator) => {
    if (!bound.has(type)) return;
    const { definition, revision } = input.snapshot;
    const startedAt = tracker.state.startedAt;
    const body: LifecycleBody = {
      definition: definition.id,
      revision,
      workflowId: workflowInfo().workflowId,
      eventId: input.event.id,
      status: tracker.phase,
      // How long the run ran; a run that started no step (it left its train's line) has no duration.
      ...(startedAt && type !== 'run_started' && type !== 'run_superseded'
        ? { durationMs: Date.now() - Date.parse(startedAt) }
        : {}),
      ...extra,
    };
    const { emitRunEvent } = proxyActivities<InternalActivities>({
      startToCloseTimeout: '30s',
      retry: LIFECYCLE_RETRY,
    });
    await emitRunEvent({
      type,
      body,
      causation: { rootEventId: input.event.causation.rootEventId, depth: input.event.causation.depth },
      ...(discriminator ? { discriminator } : {}),
    });
  };
}

/** Ids of the events earlier wait steps of the run took: each event wakes a run once. */
function takenEvents(steps: readonly Step[], state: RunState): string[] {
  return steps
    .filter((step) => step.action === WAIT_FOR_EVENT)
    .map((step) => (state.steps[step.id]?.output as { id?: unknown } | undefined)?.id)
    .filter((id): id is string => typeof id === 'string');
}

/** A meta-action that failed while it waited (a wait that timed out) fails the run with its type, naming the step. */
function metaFailure(where: string, error: MetaActionFailure): ApplicationFailure {
  return ApplicationFailure.create({ type: error.type, message: `${where}: ${error.message}`, nonRetryable: true });
}

function advance(state: RunState, step: Step, output: unknown, result: Omit<StepResult, 'id' | 'action'>): RunState {
  const steps =
    result.status === 'completed'
      ? { ...state.steps, [step.id]: { output } }
      : result.status === 'failed' && result.error
        ? { ...state.steps, [step.id]: { output: null, error: result.error } }
        : state.steps;
  return { ...state, steps, results: [...state.results, { id: step.id, action: step.action, ...result }] };
}

/**
 * Where a step's activity runs: the step's `execution`, else its action's default (from the snapshot), else remote.
 * A routed step never gets here as local: a local activity runs on the workflow's own worker.
 *
 * No `patched()` marker guards this: the choice is a function of the run's input alone (the snapshot, taken when the
 * event was dispatched, holds the step and the action's defaults), so a replay always makes the same one. Runs
 * dispatched before `execution` existed have no `execution` anywhere in their snapshot and stay remote; a new default
 * applies only to runs dispatched after the worker that publishes it.
 */
function executionOf(step: Step, defaults: StepOptions | undefined): 'local' | 'remote' {
  return step.execution ?? defaults?.execution ?? 'remote';
}

/**
 * How long a local step's retries wait in the worker, within the workflow task. A backoff longer than this waits on
 * a durable timer instead, so a step retried for minutes neither holds the task nor records a workflow task per beat.
 */
export const LOCAL_RETRY_THRESHOLD = '10s';

/**
 * A local step's options: its timeout and retries as a remote step's, no heartbeat timeout (a local activity cannot
 * heartbeat; its worker's death is noticed through the workflow task's timeout instead), and its name as summary.
 */
function localOptions(step: Step, defaults: StepOptions | undefined): LocalActivityOptions {
  return {
    startToCloseTimeout: step.timeout ?? defaults?.timeout ?? STEP_DEFAULTS.timeout,
    retry: stepRetry(step, defaults),
    localRetryThreshold: LOCAL_RETRY_THRESHOLD,
    summary: step.name ?? step.id,
  };
}

/** Step options win over the action's defaults, which win over Flow's. */
function activityOptions(step: Step, defaults: StepOptions | undefined): ActivityOptions {
  const timeout = step.timeout ?? defaults?.timeout ?? STEP_DEFAULTS.timeout;
  return {
    startToCloseTimeout: timeout,
    heartbeatTimeout: step.heartbeat ?? defaults?.heartbeat ?? STEP_DEFAULTS.heartbeat,
    retry: stepRetry(step, defaults),
  };
}

/** The step's retry policy: its own fields over its action's, over Flow's. */
function stepRetry(step: Step, defaults: StepOptions | undefined) {
  return unlimitedWhenZero({ ...STEP_DEFAULTS.retry, ...defaults?.retry, ...step.retry });
}

/**
 * `maximumAttempts: 0` means "retry without limit" in definitions (as in Temporal's API), but the TypeScript SDK
 * refuses 0 and wants the field left out, so it is dropped here. Such a step used to fail its workflow task forever.
 */
function unlimitedWhenZero<Retry extends { maximumAttempts?: number }>(retry: Retry): Retry {
  if (retry.maximumAttempts !== 0) return retry;
  const { maximumAttempts: _unlimited, ...rest } = retry;
  return rest as Retry;
}

/** Expression and meta-action input errors are the definition's fault, not the world's: no retry. */
function evaluate<T>(where: string, fn: () => T, type = 'ExpressionError'): T {
  try {
    return fn();
  } catch (error) {
    throw ApplicationFailure.create({
      type,
      message: `${where}: ${error instanceof Error ? error.message : String(error)}`,
      nonRetryable: true,
    });
  }
}

/**
 * A local activity's failure as a remote one's: the SDK hands a failed local activity's own error (the action's
 * `ApplicationFailure`, or a `TimeoutFailure`) to the workflow without the `ActivityFailure` around it, so it is wrapped
 * here, and a local step fails its run with the same chain as a remote one (`StepFailed` → `ActivityFailure` → cause).
 * A cancellation stays as it is: it ends the run Cancelled.
 */
function asActivityFailure(step: Step, error: unknown): unknown {
  if (!(error instanceof TemporalFailure) || error instanceof ActivityFailure || isCancellation(error)) return error;
  const gaveUp =
    error instanceof ApplicationFailure && error.nonRetryable ? 'NON_RETRYABLE_FAILURE' : 'MAXIMUM_ATTEMPTS_REACHED';
  return new ActivityFailure('Local activity failed', step.action, undefined, gaveUp, undefined, error);
}

function stepFailure(where: string, step: Step, error: unknown, queue?: string): unknown {
  if (!(error instanceof ActivityFailure)) return error;
  // A cancelled step ends the run as cancelled, not failed.
  if (isCancellation(error) && patched(CANCEL_STAYS_CANCELLED_PATCH)) return error;
  const cause = error.cause;
  const unstarted = cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START';
  const reason = unstarted
    ? `no worker polled task queue "${queue}" within ${step.schedule_to_start} (schedule_to_start); start a worker with the action on that queue`
    : cause instanceof Error
      ? cause.message
      : 'unknown error';
  return ApplicationFailure.create({
    type: 'StepFailed',
    message: `${where} failed in ${step.action}: ${reason}`,
    nonRetryable: true,
    cause: error,
    details: [{ step: step.id, action: step.action }],
  });
}
