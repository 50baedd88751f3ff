/**
 * Matching an event to definitions, in one place for every caller: the dispatcher workflows run it to decide which
 * runs to start, and the gateway's dry run (`POST /api/plan`) runs the same code, so a plan always tells what the
 * dispatcher will do. Pure and deterministic, so it runs inside the workflow sandbox.
 */

import type { Definition } from './definition';
import { createExpressionEngine, type ExpressionEngine } from './expressions';
import {
  runContext,
  runWorkflowId,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
  type MatchedRun,
  type PlannedRun,
  type SkippedDefinition,
} from './run-types';

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
 */
export function planRuns(
  event: FlowEvent,
  snapshots: readonly DefinitionSnapshot[],
  engine: ExpressionEngine = createExpressionEngine(),
): RunPlan {
  const runs: PlannedRun[] = [];
  const skipped: SkippedDefinition[] = [];
  for (const snapshot of snapshots) {
    const { definition, revision } = snapshot;
    const decision = decideMatch(engine, definition, revision, event);
    if (decision.matched) runs.push({ workflowId: runWorkflowId(definition.id, event.id), snapshot });
    else skipped.push({ definition: definition.id, revision, reason: decision.reason });
  }
  return { runs, skipped };
}

/** How a planned run is reported: its definition, revision and workflow id. */
export function matchedRun({ workflowId, snapshot }: PlannedRun): MatchedRun {
  return { definition: snapshot.definition.id, revision: snapshot.revision, workflowId };
}

/** The dispatcher's result for a plan: the answer to "why didn't my workflow fire?". */
export function dispatchResult(event: FlowEvent, { runs, skipped }: RunPlan): DispatchResult {
  return { eventId: event.id, source: event.source, type: event.type, matched: runs.map(matchedRun), skipped };
}
