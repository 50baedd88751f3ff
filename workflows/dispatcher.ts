import {
  type ActivityOptions,
  isCancellation,
  type LocalActivityOptions,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { planWaits, type EventDispatchResult, type EventLookup } from '../common/event-waits';
import { createExpressionEngine } from '../common/expressions';
import { dispatchResult, planRuns } from '../common/matching';
import type { DefinitionSnapshot, FlowEvent } from '../common/run-types';
import { flowSearchAttributes } from '../common/search-attributes';
import { planSubscriptions, subscriptionsDispatched, type SubscriptionsPlan } from '../common/subscriptions';

/** Retries of the durable activities: without a limit, backing off to every 30 s while MongoDB or the client is down. */
const DURABLE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/**
 * Marks dispatchers that also deliver their event to waiting runs (`flow.wait_for_event`): their lookup is
 * `lookUpEvent` (definitions and waits in one local activity). Dispatchers recorded before it replay the lookup of
 * definitions alone.
 */
export const DELIVER_TO_WAITS_PATCH = 'deliver-to-waits';

/**
 * Marks dispatchers that started and woke no run and said so in the search attribute `FlowMatchedRuns = 0`, which
 * `GET /api/events/unmatched` lists. It is asked only on that path, so a dispatcher that started or woke a run records
 * no marker and no upsert (its history is as long as before); dispatchers recorded before it replay without the
 * upsert.
 */
export const MARK_UNMATCHED_PATCH = 'mark-unmatched';

/**
 * Marks dispatchers whose lookup found subscriptions bound to the event (docs/subscriptions.md): they decide each
 * one and notify those that say yes in one `notifySubscribers` activity, and their result says so (`subscriptions`).
 * It is asked only when the lookup found a subscription, so an event without any records nothing new; lookups
 * recorded before subscriptions carry none.
 */
export const NOTIFY_SUBSCRIBERS_PATCH = 'notify-subscribers';

/**
 * Marks dispatchers that start their runs in a local activity first (`startRuns` inside the workflow task that did
 * the lookup) and fall back to the durable `startRuns` only when that attempt fails. It is asked only when there are
 * runs to start, so a dispatcher that starts none records nothing new; dispatchers recorded before it replay the
 * durable activity alone.
 */
export const START_RUNS_LOCAL_PATCH = 'start-runs-local';

/**
 * The heartbeat timeout of the remote internal activities (`startRuns`, `deliverToWaits`): the worker keeps each
 * attempt alive (`activities/keep-alive.ts`), so a killed worker's attempt is retried after this rather than after its
 * start-to-close timeout.
 */
const INTERNAL_HEARTBEAT = '30s';

/** The notify activity's limits: a heartbeat every few seconds, so a killed worker's attempt is retried soon. */
const NOTIFY_OPTIONS = { startToCloseTimeout: '10m', heartbeatTimeout: '15s', retry: DURABLE_RETRY } as const;

/** The durable `startRuns` and `deliverToWaits`: a thousand starts take seconds; the limit only bounds a hung attempt. */
const DURABLE_OPTIONS = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: INTERNAL_HEARTBEAT,
  retry: DURABLE_RETRY,
} as const;

/**
 * The quick lookup: two short attempts inside the workflow task. The durable lookup's 30 s bound is as short as a
 * heartbeat timeout would be, so it has none: a killed worker's attempt is retried after 30 s either way.
 */
const LOOKUP = {
  quick: { startToCloseTimeout: '5s', retry: { initialInterval: '500ms', maximumAttempts: 2 } },
  durable: { startToCloseTimeout: '30s', retry: DURABLE_RETRY },
} as const;

/**
 * The quick `startRuns`: one attempt inside the workflow task, long enough for hundreds of starts on a loaded server.
 * It is not retried there: a failed attempt has tried every start (`intake/start-runs.ts`), so the durable activity,
 * which retries without limit and is noticed by its heartbeat when a worker dies, starts only the runs still missing.
 */
const START_RUNS = {
  quick: { startToCloseTimeout: '15s', retry: { maximumAttempts: 1 } },
  durable: DURABLE_OPTIONS,
} as const;

/**
 * One dispatcher per accepted event (workflow type `dispatchEvent`): finds the definitions bound to it, evaluates
 * their conditions, and starts one interpreter run per match; and it finds the runs waiting for an event like this
 * one, by key, evaluates their conditions and signals each match. The runs are independent workflows, so they
 * outlive the dispatcher.
 *
 * The registry lookup runs as a local activity first: inside the dispatcher's first workflow task, with no activity
 * task to schedule. If the quick lookup fails (MongoDB is down or slow), a durable activity takes over and retries
 * without limit, so an event accepted during an outage runs once MongoDB is back, and a long outage does not grow the
 * history. Starting the runs goes the same way (behind `start-runs-local`): a local activity in the same workflow
 * task, then the durable `startRuns` if it fails. An event that matches is then one workflow task and no activity
 * task, like one that matches nothing (docs/engine.md, "The dispatcher").
 */
export async function dispatchEvent(event: FlowEvent): Promise<EventDispatchResult> {
  if (!patched(DELIVER_TO_WAITS_PATCH)) return startMatchedRuns(event, await lookUpDefinitions(event));
  const { definitions, waits, lifecycle, subscriptions } = await lookUpEvent(event);
  const engine = createExpressionEngine();
  // Runs emit only the lifecycle types some definition listens to (absent in lookups recorded before them).
  const plan = planRuns(event, definitions, engine, lifecycle);
  const woken = planWaits(engine, event.body, waits);
  // Subscriptions (absent in lookups recorded before them, and when none is bound): decided here, in the sandbox.
  const notifying: SubscriptionsPlan | undefined =
    subscriptions && subscriptions.length > 0 && patched(NOTIFY_SUBSCRIBERS_PATCH)
      ? planSubscriptions(engine, event, subscriptions)
      : undefined;
  const durable = proxyActivities<InternalActivities>(DURABLE_OPTIONS);
  const starting = { event, runs: plan.runs };
  const [started, , notified] = await Promise.all([
    plan.runs.length === 0
      ? undefined
      : patched(START_RUNS_LOCAL_PATCH)
        ? quickThenDurable((activities) => activities.startRuns(starting), START_RUNS)
        : durable.startRuns(starting),
    woken.delivered.length > 0
      ? durable.deliverToWaits({
          event: { id: event.id, source: event.source, type: event.type, body: event.body },
          // The server's start time, which visibility shows too: runs take only events dispatched after they started.
          dispatchedAt: workflowInfo().startTime.toISOString(),
          targets: woken.delivered,
        })
      : undefined,
    // One activity for all of them, beside the runs: exactly once per subscription through its delivery records.
    notifying && notifying.notify.length > 0
      ? proxyActivities<InternalActivities>(NOTIFY_OPTIONS).notifySubscribers({
          event,
          subscriptions: notifying.notify,
        })
      : undefined,
  ]);
  const result = dispatchResult(event, plan, started);
  // About runs: an event that only notified subscribers still started and woke none, so it is listed as unmatched
  // (its result's `subscriptions` says whom it notified).
  if (result.matched.length + woken.delivered.length === 0 && patched(MARK_UNMATCHED_PATCH)) {
    upsertSearchAttributes([{ key: flowSearchAttributes.FlowMatchedRuns, value: 0 }]);
  }
  return {
    ...result,
    ...(waits.length > 0 ? { waits: woken } : {}),
    ...(notifying ? { subscriptions: subscriptionsDispatched(notifying, notified) } : {}),
  };
}

/** Dispatchers recorded before `deliver-to-waits`: definitions only. */
async function startMatchedRuns(event: FlowEvent, snapshots: DefinitionSnapshot[]): Promise<EventDispatchResult> {
  const plan = planRuns(event, snapshots);
  if (plan.runs.length === 0) return dispatchResult(event, plan);
  const { startRuns } = proxyActivities<InternalActivities>(DURABLE_OPTIONS);
  // Runs with a concurrency group enter their train first; the answers say which started, waits or was refused.
  return dispatchResult(event, plan, await startRuns({ event, runs: plan.runs }));
}

/** Dispatchers recorded before `deliver-to-waits` look up definitions alone. */
function lookUpDefinitions(event: FlowEvent): Promise<DefinitionSnapshot[]> {
  return quickThenDurable((registry) => registry.findDefinitionsForEvent(event.source, event.type), LOOKUP);
}

/** The same lookup with the waits keyed by the event's fields. */
function lookUpEvent(event: FlowEvent): Promise<EventLookup> {
  return quickThenDurable((registry) => registry.lookUpEvent(event), LOOKUP);
}

/**
 * An internal activity as a local activity first, then, if that fails (MongoDB or Temporal down or slow), as a
 * durable one. The call must be idempotent: the failed local attempt may have done part of it.
 */
async function quickThenDurable<T>(
  call: (activities: InternalActivities) => Promise<T>,
  options: { readonly quick: LocalActivityOptions; readonly durable: ActivityOptions },
): Promise<T> {
  try {
    return await call(proxyLocalActivities<InternalActivities>(options.quick));
  } catch (error) {
    if (isCancellation(error)) throw error;
    return await call(proxyActivities<InternalActivities>(options.durable));
  }
}
