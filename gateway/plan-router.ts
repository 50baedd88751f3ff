import { Router } from 'express';
import { EVENT_NAME } from '../common/definition';
import { createExpressionEngine } from '../common/expressions';
import { decideMatch } from '../common/matching';
import { runContext, runWorkflowId, type FlowEvent } from '../common/run-types';
import { eventIdFor } from '../intake';
import type { DefinitionStore } from '../registry';
import { ProblemError } from './problem';
import { jsonBody, requireJsonObject, routeParam } from './request-body';

/**
 * `POST /api/plan/:source/:type`: a dry run. Says which definitions an event with this body would start, which it
 * would not and why, and what the first step of each would receive. Uses the dispatcher's own matching code.
 */
export function planRouter(store: DefinitionStore): Router {
  const router = Router();
  router.post('/plan/:source/:type', jsonBody, async (req, res) => {
    const source = routeParam(req, 'source');
    const type = routeParam(req, 'type');
    if (!EVENT_NAME.test(source) || !EVENT_NAME.test(type)) {
      throw new ProblemError(
        400,
        'Bad Request',
        'Event source and type must be 1-64 lowercase letters, digits, ".", "_" or "-".',
      );
    }
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
    const snapshots = await store.findForEvent(source, type);
    const matched = [];
    const skipped = [];
    for (const { definition, revision } of snapshots) {
      const decision = decideMatch(engine, definition, revision, event);
      if (!decision.matched) {
        skipped.push({ definition: definition.id, revision, reason: decision.reason });
        continue;
      }
      const first = definition.steps[0];
      let firstStep: Record<string, unknown> | undefined;
      if (first) {
        const context = { event: body, steps: {}, vars: {}, run: runContext(event, definition.id, revision) };
        try {
          if (first.if !== undefined && !engine.evaluateCondition(first.if, context)) {
            firstStep = { id: first.id, action: first.action, skipped: `if ${JSON.stringify(first.if)} is false` };
          } else {
            firstStep = { id: first.id, action: first.action, input: engine.render(first.with, context) };
          }
        } catch (error) {
          firstStep = {
            id: first.id,
            action: first.action,
            error: error instanceof Error ? error.message : String(error),
          };
        }
      }
      matched.push({
        definition: definition.id,
        revision,
        workflowId: runWorkflowId(definition.id, eventId),
        firstStep,
      });
    }
    res.json({ source, type, matched, skipped });
  });
  return router;
}
