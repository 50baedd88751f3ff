import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  patched,
  proxyActivities,
  proxySinks,
  sleep,
  TemporalFailure,
  setCurrentDetails,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ActionActivity, StepMeta } from '../activities';
import type { Step, StepOptions } from '../common/definition';
import { createExpressionEngine, type ExpressionContext } from '../common/expressions';
import {
  isMetaAction,
  MetaActionFailure,
  runMetaAction,
  type MetaContext,
  type MetaOutcome,
} from '../common/meta-actions';
import { runContext, type RunInput, type RunResult, type RunState, type StepResult } from '../common/run-types';
import type { FlowSinks } from '../common/sinks';
import type { DequeuedNotice } from '../common/train-types';
import { listenForEvents } from './event-wait';
import { awaitTrainGrant } from './train-gate';

/** The meta-action whose steps take events; their outputs name the events they took. */
const WAIT_FOR_EVENT = 'flow.wait_for_event';

/** Marks runs in which an expression result of NaN or an infinity is an error rather than `null`. */
const REFUSE_NON_FINITE_PATCH = 'refuse-non-finite-results';

/** Activity options when neither the step nor its action sets them. */
export const STEP_DEFAULTS = {
  timeout: '5m',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const;

/**
 * The generic interpreter: runs one definition revision for one event, step by step. Each step is one activity whose
 * type is the action id, except meta-actions (`META_ACTIONS`), which run here: `flow.set` only updates `vars`,
 * `flow.sleep` sets a timer. The definition snapshot arrives as input, so the run never reads the registry and later
 * edits never change it.
 */
export async function interpret(input: RunInput): Promise<RunResult> {
  const { runs } = proxySinks<FlowSinks>();
  const definitionId = input.snapshot.definition.id;
  if (input.train !== undefined && input.resume === undefined) {
    // A run of a concurrency group waits for its train before its first step, and may leave the line unrun.
    const dequeued = await awaitTrainGrant(input.train);
    if (dequeued) return dequeuedResult(input, dequeued);
  }
  if (input.resume === undefined) runs.started(definitionId);
  try {
    const result = await runSteps(input);
    runs.completed(definitionId);
    return result;
  } catch (error) {
    // Only Temporal failures end the run. Continue-as-new goes on in a new run, and any other error fails just the
    // workflow task, which Temporal retries.
    if (error instanceof TemporalFailure) runs.failed(definitionId, failureType(error));
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

async function runSteps(input: RunInput): Promise<RunResult> {
  const { definition, revision, actionDefaults } = input.snapshot;
  const { event } = input;
  // Runs that rendered NaN or an infinity (as null) before results JSON cannot hold became errors replay as they ran.
  const engine = createExpressionEngine({ refuseNonFinite: () => patched(REFUSE_NON_FINITE_PATCH) });
  const actions = proxyActivities<Record<string, ActionActivity>>({ startToCloseTimeout: STEP_DEFAULTS.timeout });
  // Before any await: a delivery for a wait step is kept from the moment the run (or its continuation) starts.
  const waits = listenForEvents(engine);
  const total = definition.steps.length;
  let state: RunState = input.resume ?? { nextStep: 0, steps: {}, vars: {}, results: [] };

  for (let index = state.nextStep; index < total; index++) {
    const step = definition.steps[index]!;
    const label = step.name ?? step.id;
    setCurrentDetails(`Step ${index + 1}/${total}: ${label} (${step.action})`);
    const context: ExpressionContext = {
      event: event.body,
      steps: state.steps,
      vars: state.vars,
      run: runContext(event, definition.id, revision),
    };
    const where = `step "${step.id}" (steps[${index}])`;

    if (step.if !== undefined && !evaluate(where, () => engine.evaluateCondition(step.if!, context))) {
      state = advance(state, index, step, undefined, {
        status: 'skipped',
        reason: `if ${JSON.stringify(step.if)} was false`,
      });
      continue;
    }
    const rendered = evaluate(where, () => engine.render(step.with, context));
    let output: unknown;
    let vars = state.vars;
    const action = step.action;
    if (isMetaAction(action)) {
      const metaContext: MetaContext = {
        sleep,
        now: () => new Date(),
        progress: (detail) => setCurrentDetails(`Step ${index + 1}/${total}: ${label} (${detail})`),
        awaitEvent: (wait) => waits.awaitEvent(step.id, wait, takenEvents(definition.steps, state)),
      };
      // A refused input throws before the action waits; only an action that waits returns a promise.
      const pending = evaluate(where, () => runMetaAction(action, rendered, metaContext), 'InvalidActionInput');
      let outcome: MetaOutcome;
      try {
        outcome = pending instanceof Promise ? await pending : pending;
      } catch (error) {
        throw error instanceof MetaActionFailure ? metaFailure(where, error) : stepFailure(where, step, error);
      }
      output = outcome.output;
      if (outcome.vars) vars = { ...state.vars, ...outcome.vars };
    } else {
      const meta: StepMeta = {
        eventId: event.id,
        definition: definition.id,
        revision,
        stepId: step.id,
        workflowId: workflowInfo().workflowId,
        causation: event.causation,
      };
      const options = { ...activityOptions(step, actionDefaults[step.action]), summary: label };
      try {
        output = await actions[step.action]!.executeWithOptions(options, [rendered, meta]);
      } catch (error) {
        throw stepFailure(where, step, error);
      }
    }
    state = advance({ ...state, vars }, index, step, output, { status: 'completed' });

    if (workflowInfo().continueAsNewSuggested && state.nextStep < total) {
      await continueAsNew<typeof interpret>({ ...input, resume: state });
    }
  }
  setCurrentDetails(`Completed all ${total} steps`);
  return { definition: definition.id, revision, eventId: event.id, steps: state.results, vars: state.vars };
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

function advance(
  state: RunState,
  index: number,
  step: Step,
  output: unknown,
  result: Omit<StepResult, 'id' | 'action'>,
): RunState {
  return {
    nextStep: index + 1,
    steps: result.status === 'completed' ? { ...state.steps, [step.id]: { output } } : state.steps,
    vars: state.vars,
    results: [...state.results, { id: step.id, action: step.action, ...result }],
  };
}

/** Step options win over the action's defaults, which win over Flow's. */
function activityOptions(step: Step, defaults: StepOptions | undefined): ActivityOptions {
  const timeout = step.timeout ?? defaults?.timeout ?? STEP_DEFAULTS.timeout;
  const heartbeat = step.heartbeat ?? defaults?.heartbeat;
  return {
    startToCloseTimeout: timeout,
    ...(heartbeat ? { heartbeatTimeout: heartbeat } : {}),
    retry: unlimitedWhenZero({ ...STEP_DEFAULTS.retry, ...defaults?.retry, ...step.retry }),
  };
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

function stepFailure(where: string, step: Step, error: unknown): unknown {
  if (!(error instanceof ActivityFailure)) return error;
  const cause = error.cause;
  const reason = cause instanceof Error ? cause.message : 'unknown error';
  return ApplicationFailure.create({
    type: 'StepFailed',
    message: `${where} failed in ${step.action}: ${reason}`,
    nonRetryable: true,
    cause: error,
    details: [{ step: step.id, action: step.action }],
  });
}
