import { Router } from 'express';
import { createExpressionEngine, type ExpressionEngine } from '../common/expressions';
import { matchedRun, planRuns } from '../common/matching';
import { runContext, type DefinitionSnapshot, type FlowEvent } from '../common/run-types';
import { eventIdFor } from '../intake';
import type { DefinitionStore } from '../registry';
import { eventNameParam, jsonBody, requireJsonObject } from './request-body';

/**
 * `POST /api/plan/:source/:type`: a dry run. Says which definitions an event with this body would start, which it
 * would not and why (the dispatcher's own `planRuns`), and what the first step of each would receive.
 */
export function planRouter(store: DefinitionStore): Router {
  const router = Router();
  router.post('/plan/:source/:type', jsonBody, async (req, res) => {
    const source = eventNameParam(req, 'source');
    const type = eventNameParam(req, 'type');
    const body = requireJsonObject(req);
    const idempotencyKey = req.get('idempotency-key');
    const eventId = idempotencyKey ? eventIdFor(source, idempotencyKey) : `${source}-<event id>`;
    const event: FlowEvent = {
      id: eventId,
      source,
      type,
      body,
      receivedAt: new Date().toISOString(),
      causation: { rootEventId: eventId, depth: 0 },
    };
    const engine = createExpressionEngine();
    const { runs, skipped } = planRuns(event, await store.findForEvent(source, type), engine);
    const matched = runs.map((run) => ({ ...matchedRun(run), firstStep: firstStep(engine, event, run.snapshot) }));
    res.json({ source, type, matched, skipped });
  });
  return router;
}

/** What the first step of a matched definition would do: its rendered input, why it is skipped, or its error. */
function firstStep(
  engine: ExpressionEngine,
  event: FlowEvent,
  { definition, revision }: DefinitionSnapshot,
): Record<string, unknown> | undefined {
  const first = definition.steps[0];
  if (!first) return undefined;
  const step = { id: first.id, action: first.action };
  const context = { event: event.body, steps: {}, vars: {}, run: runContext(event, definition.id, revision) };
  try {
    if (first.if !== undefined && !engine.evaluateCondition(first.if, context)) {
      return { ...step, skipped: `if ${JSON.stringify(first.if)} is false` };
    }
    return { ...step, input: engine.render(first.with, context) };
  } catch (error) {
    return { ...step, error: error instanceof Error ? error.message : String(error) };
  }
}
