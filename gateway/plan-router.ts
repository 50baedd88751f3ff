import { Router } from 'express';
import { createExpressionEngine, type ExpressionEngine } from '../common/expressions';
import { matchedRun, planRuns } from '../common/matching';
import { runContext, type DefinitionSnapshot, type FlowEvent } from '../common/run-types';
import { eventIdFor } from '../intake';
import type { AnyAction } from '../activities';
import type { Step } from '../common/definition';
import { isMetaAction } from '../common/meta-actions';
import { planSubscriptions, type SubscriptionSnapshot } from '../common/subscriptions';
import type { DefinitionStore, SubscriptionStore } from '../registry';
import { actionQueues } from './catalog-router';
import type { QueueLiveness, QueueWorker } from './queue-liveness';
import { eventNameParam, jsonBody, requireJsonObject } from './request-body';

/** What {@link planRouter} needs to say whether a worker polls each planned step's queue; without it the plan does not. */
export interface PlanWorkers {
  /** The catalog: where each action's steps are scheduled (a published pack action on its pack's queue). */
  readonly catalog: ReadonlyMap<string, AnyAction>;
  /** The task queue Flow's workflows and built-in actions run on (`FLOW_TASK_QUEUE`). */
  readonly taskQueue: string;
  readonly liveness: QueueLiveness;
}

/**
 * `POST /api/plan/:source/:type`: a dry run. Says which definitions an event with this body would start, which it
 * would not and why (the dispatcher's own `planRuns`), and what the first step of each would receive. With
 * {@link PlanWorkers}, each matched run also lists the task queues its steps would be scheduled on with whether a
 * worker polls each now (`workers`), and a note for every step whose queue none polls (`notes`). With the
 * subscriptions, it also says which subscriptions the event would notify and which not, with why (`subscriptions`;
 * whether one is muted is decided when it is sent, so a muted one is listed as notified, with `mutedUntil`).
 */
export function planRouter(
  store: DefinitionStore,
  workers?: PlanWorkers,
  subscriptions?: Pick<SubscriptionStore, 'findForEvent'>,
): Router {
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
    const [definitions, found] = await Promise.all([
      store.findForEvent(source, type),
      subscriptions ? subscriptions.findForEvent(source, type) : undefined,
    ]);
    const { runs, skipped } = planRuns(event, definitions, engine);
    const matched = await Promise.all(
      runs.map(async (run) => ({
        ...matchedRun(run),
        firstStep: firstStep(engine, event, run.snapshot),
        ...(workers ? await stepWorkers(workers, run.snapshot) : {}),
      })),
    );
    res.json({
      source,
      type,
      matched,
      skipped,
      ...(found === undefined ? {} : { subscriptions: plannedSubscriptions(engine, event, found) }),
    });
  });
  return router;
}

/** Which subscriptions the event would notify (id, owner, targets) and which not, with why. */
function plannedSubscriptions(
  engine: ExpressionEngine,
  event: FlowEvent,
  found: readonly SubscriptionSnapshot[],
): { notify: Record<string, unknown>[]; skipped: { id: string; reason: string }[] } {
  const plan = planSubscriptions(engine, event, found);
  return {
    notify: plan.notify.map((subscription) => ({
      id: subscription.id,
      owner: subscription.owner,
      deliver: subscription.deliver,
      ...(subscription.mutedUntil === undefined ? {} : { mutedUntil: subscription.mutedUntil }),
    })),
    skipped: [...plan.skipped],
  };
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

/** One task queue a planned run's steps would be scheduled on, the steps, and whether a worker polls it now. */
export interface PlannedQueue extends QueueWorker {
  /** The ids of the steps (and on_failure steps) scheduled there. */
  readonly steps: readonly string[];
}

/**
 * Where each of a definition's steps would be scheduled (`task_queue:`, else its action's queue), whether a worker
 * polls each queue, and a note per step whose queue none polls. Meta-actions run in the workflow and are left out.
 */
async function stepWorkers(
  workers: PlanWorkers,
  { definition, actionQueues: snapshotQueues }: DefinitionSnapshot,
): Promise<{ workers: PlannedQueue[]; notes?: string[] }> {
  const queueOf = actionQueues(workers.catalog, workers.taskQueue);
  const placed = [...definition.steps, ...(definition.on_failure ?? [])].flatMap((step: Step) => {
    if (isMetaAction(step.action)) return [];
    const queue = step.task_queue ?? snapshotQueues?.[step.action] ?? queueOf(step.action);
    return queue === undefined ? [] : [{ step, queue }];
  });
  const answers = await workers.liveness.checkAll(placed.map(({ queue }) => queue));
  const queues = [...answers.values()].map((worker): PlannedQueue => ({
    ...worker,
    steps: placed.filter(({ queue }) => queue === worker.queue).map(({ step }) => step.id),
  }));
  const notes = placed
    .filter(({ queue }) => answers.get(queue)?.polled === false)
    .map(
      ({ step, queue }) =>
        `Step ${step.id}: No worker polls task queue "${queue}" now: the step will wait for one` +
        (step.schedule_to_start === undefined
          ? ''
          : ` (or fail after its schedule_to_start of ${step.schedule_to_start})`),
    );
  return { workers: queues, ...(notes.length > 0 ? { notes } : {}) };
}
