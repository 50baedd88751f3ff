/**
 * Matching an event to definitions, in one place for every caller: the dispatcher workflows run it to decide which
 * runs to start, and the gateway's dry run (`POST /api/plan`) runs the same code, so a plan always tells what the
 * dispatcher will do. Pure and deterministic, so it runs inside the workflow sandbox.
 */

import type { Definition } from './definition';
import { createExpressionEngine, type ExpressionEngine } from './expressions';
import type { LifecycleType } from './run-control';
import {
  runContext,
  runWorkflowId,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
  type MatchedRun,
  type PlannedRun,
  type PlannedTrain,
  type RejectedRun,
  type SkippedDefinition,
  type StartRunsResult,
  type TrainAdmission,
} from './run-types';
import { GROUP_NAME } from './train-types';

/** Whether a definition runs for an event, and if not, why. */
export type MatchDecision =
  { readonly matched: true; readonly binding: number } | { readonly matched: false; readonly reason: string };

/** The runs an event starts, and the definitions bound to it that it does not start, with why. */
export interface RunPlan {
  readonly runs: PlannedRun[];
  readonly skipped: SkippedDefinition[];
}

/**
 * Decides whether `definition` runs for `event`: it must be enabled, bound to the event's source and type, and the
 * binding's `if` (when present) must be true.
 */
export function decideMatch(
  engine: ExpressionEngine,
  definition: Definition,
  revision: number,
  event: FlowEvent,
): MatchDecision {
  if (!definition.enabled) return { matched: false, reason: 'the definition is disabled (enabled: false)' };
  const reasons: string[] = [];
  let bound = false;
  for (const [index, binding] of definition.on.entries()) {
    if (binding.source !== event.source || binding.type !== event.type) continue;
    bound = true;
    if (binding.if === undefined) return { matched: true, binding: index };
    const context = { event: event.body, steps: {}, vars: {}, run: runContext(event, definition.id, revision) };
    try {
      if (engine.evaluateCondition(binding.if, context)) return { matched: true, binding: index };
      reasons.push(`on[${index}].if ${JSON.stringify(binding.if)} is false`);
    } catch (error) {
      reasons.push(`on[${index}].if could not be evaluated: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!bound) return { matched: false, reason: `the definition is not bound to ${event.source}/${event.type}` };
  return { matched: false, reason: reasons.join('; ') };
}

/**
 * Evaluates each snapshot's bindings against the event: the runs to start, each with its fixed workflow id, and the
 * definitions skipped with why. A caller that evaluates more expressions for the same event may pass its engine.
 * `lifecycle`, the lifecycle types bound when the event is dispatched (`EventLookup.lifecycle`), goes onto each
 * run when it is not empty, so a run planned without it is planned exactly as before lifecycle events.
 */
export function planRuns(
  event: FlowEvent,
  snapshots: readonly DefinitionSnapshot[],
  engine: ExpressionEngine = createExpressionEngine(),
  lifecycle?: readonly LifecycleType[],
): RunPlan {
  const runs: PlannedRun[] = [];
  const skipped: SkippedDefinition[] = [];
  const emits = lifecycle !== undefined && lifecycle.length > 0 ? { lifecycle: [...lifecycle] } : {};
  for (const snapshot of snapshots) {
    const { definition, revision } = snapshot;
    const decision = decideMatch(engine, definition, revision, event);
    if (!decision.matched) {
      skipped.push({ definition: definition.id, revision, reason: decision.reason });
      continue;
    }
    const workflowId = runWorkflowId(definition.id, event.id);
    if (definition.concurrency === undefined) {
      runs.push({ workflowId, snapshot, ...emits });
      continue;
    }
    const group = renderGroup(engine, definition, revision, event);
    if (group.error !== undefined) skipped.push({ definition: definition.id, revision, reason: group.error });
    else runs.push({ workflowId, snapshot, train: group.train, ...emits });
  }
  return { runs, skipped };
}

/**
 * Renders a definition's concurrency group for an event. A template that fails, or renders to something that cannot
 * name a train, skips the definition with the reason, so a bad group never reaches (or blocks) a train.
 */
function renderGroup(
  engine: ExpressionEngine,
  definition: Definition,
  revision: number,
  event: FlowEvent,
): { readonly train: PlannedTrain; readonly error?: undefined } | { readonly error: string } {
  const concurrency = definition.concurrency!;
  const context = { event: event.body, steps: {}, vars: {}, run: runContext(event, definition.id, revision) };
  let rendered: unknown;
  try {
    rendered = engine.render(concurrency.group, context);
  } catch (error) {
    return {
      error: `concurrency.group could not be rendered: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof rendered !== 'string' || !GROUP_NAME.test(rendered)) {
    return {
      error: `concurrency.group rendered ${JSON.stringify(rendered)?.slice(0, 120) ?? 'nothing'}, which cannot name a group (1-100 letters, digits, ".", "_", ":", "/" or "-")`,
    };
  }
  return { train: { group: rendered, whenBusy: concurrency.when_busy, maxQueue: concurrency.max_queue } };
}

/** How a planned run is reported: its definition, revision and workflow id (and its train's answer). */
export function matchedRun({ workflowId, snapshot }: PlannedRun, train?: TrainAdmission): MatchedRun {
  return { definition: snapshot.definition.id, revision: snapshot.revision, workflowId, ...(train ? { train } : {}) };
}

/**
 * The dispatcher's result for a plan: the answer to "why didn't my workflow fire?". With the trains' answers (from
 * `startRuns`), a run its train refused is listed as rejected, not matched, and a matched run says where it entered.
 */
export function dispatchResult(
  event: FlowEvent,
  { runs, skipped }: RunPlan,
  started?: StartRunsResult,
): DispatchResult {
  const matched: MatchedRun[] = [];
  const rejected: RejectedRun[] = [];
  for (const run of runs) {
    const answer = started?.trains?.[run.workflowId];
    if (answer !== undefined && 'reason' in answer) rejected.push(answer);
    else matched.push(matchedRun(run, answer));
  }
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    matched,
    skipped,
    ...(rejected.length > 0 ? { rejected } : {}),
  };
}
