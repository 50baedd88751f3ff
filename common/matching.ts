import type { Definition } from './definition';
import type { ExpressionEngine } from './expressions';
import { runContext, type FlowEvent } from './run-types';

/** Whether a definition runs for an event, and if not, why. */
export type MatchDecision =
  { readonly matched: true; readonly binding: number } | { readonly matched: false; readonly reason: string };

/**
 * Decides whether `definition` runs for `event`: it must be enabled, bound to the event's source and type, and the
 * binding's `if` (when present) must be true. Shared by the dispatcher workflow and the gateway's dry-run plan, so
 * a plan always tells what the dispatcher will do.
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
