import {
  ActivityFailure,
  CancellationScope,
  condition,
  defineSignal,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import {
  EVENT_DELIVERED_SIGNAL,
  waitTakes,
  type WaitDelivery,
  type WaitedEvent,
  type WaitRegistration,
} from '../common/event-waits';
import type { ExpressionEngine } from '../common/expressions';
import type { EventWait } from '../common/meta-actions';

/** A matching event for one wait step of the run, sent by the event's dispatcher (`deliverToWaits`). */
export const eventDeliveredSignal = defineSignal<[WaitDelivery]>(EVENT_DELIVERED_SIGNAL);

/** The pause before the second look-back: visibility may list a dispatcher a moment after it started. */
export const SECOND_LOOK_BACK_MS = 3_000;

/** Retries of registration and look-back: without a limit (bounded by the wait's own end), backing off to 30 s. */
const DURABLE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/** The run's side of `flow.wait_for_event`. */
export interface EventWaits {
  /**
   * Registers the wait of step `stepId`, looks back for an event that came before it registered, and waits for a
   * delivery until `wait.until`: resolves with the event, or nothing on timeout. Events in `taken` (ids of events
   * earlier waits of the run took) are never taken again.
   */
  awaitEvent(stepId: string, wait: EventWait, taken: readonly string[]): Promise<WaitedEvent | undefined>;
}

/**
 * Starts listening for deliveries; call it before the run's first await. Temporal buffers a signal that arrives
 * before its handler is set, and this handler keeps every delivery until the step it names takes or refuses it, so
 * a delivery is never lost: not one sent between registration and the step blocking, nor one for a step that has
 * not started waiting. Each delivery is checked again here (where, if, and that its dispatcher started after the
 * run), so the dispatcher, the look-back and the run agree on what a wait takes.
 */
export function listenForEvents(engine: ExpressionEngine): EventWaits {
  const deliveries: WaitDelivery[] = [];
  const finished = new Set<string>();
  setHandler(eventDeliveredSignal, (delivery) => {
    if (!finished.has(delivery.stepId)) deliveries.push(delivery);
  });

  return {
    async awaitEvent(stepId, wait, taken) {
      const info = workflowInfo();
      const since = info.startTime;
      const excluded = new Set(taken);
      let checked = 0;
      let event: WaitedEvent | undefined;
      /** Takes the first new delivery this wait accepts; true once one was taken. */
      const arrived = (): boolean => {
        while (event === undefined && checked < deliveries.length) {
          const delivery = deliveries[checked++]!;
          if (delivery.stepId !== stepId || excluded.has(delivery.event.id)) continue;
          if (delivery.event.source !== wait.source || delivery.event.type !== wait.type) continue;
          // An event older than the run (its dispatcher was late, say during a registry outage) is not for it.
          if (Date.parse(delivery.dispatchedAt) < since.getTime()) continue;
          if (waitTakes(engine, wait, delivery.event.body).takes) event = delivery.event;
        }
        return event !== undefined;
      };
      const remaining = (): number => wait.until.getTime() - Date.now();
      const registration: WaitRegistration = {
        workflowId: info.workflowId,
        stepId,
        source: wait.source,
        type: wait.type,
        where: wait.where,
        until: wait.until.toISOString(),
        ...(wait.if === undefined ? {} : { if: wait.if }),
      };
      /**
       * Runs a look-back until it is done or a delivery arrives, whichever is first, and cancels the other: a slow
       * visibility query must not hold up a run that already has its event.
       */
      const untilArrived = async (work: () => Promise<void>): Promise<void> => {
        const scope = new CancellationScope();
        const working = scope.run(work);
        const arrival = scope.run(() => condition(arrived));
        try {
          await Promise.race([working, arrival]);
        } finally {
          scope.cancel();
          await Promise.allSettled([working, arrival]);
        }
      };
      const lookBack = async (): Promise<void> => {
        if (arrived() || remaining() <= 0) return;
        const found = await activities(remaining()).lookBackForEvent({
          source: wait.source,
          type: wait.type,
          where: wait.where,
          ...(wait.if === undefined ? {} : { if: wait.if }),
          since: since.toISOString(),
          taskQueue: info.taskQueue,
          exclude: [...excluded],
        });
        if (found) deliveries.push({ stepId, ...found });
      };

      try {
        if (!arrived()) {
          await activities(remaining()).registerWait(registration);
          await untilArrived(lookBack);
          // Visibility may lag behind a dispatcher that started just before the registration: look once more.
          if (!arrived() && remaining() > 0) await condition(arrived, Math.min(SECOND_LOOK_BACK_MS, remaining()));
          await untilArrived(lookBack);
          if (!arrived() && remaining() > 0) await condition(arrived, remaining());
        }
      } catch (error) {
        // Registration or look-back that could not finish before the wait's end: the wait timed out. Anything else
        // (a cancelled run, a worker without a wait store) fails the step.
        if (!(error instanceof ActivityFailure && error.cause instanceof TimeoutFailure)) throw error;
      } finally {
        finished.add(stepId);
        deliveries.splice(0, deliveries.length, ...deliveries.filter((delivery) => delivery.stepId !== stepId));
        await CancellationScope.nonCancellable(() =>
          cleanup()
            .unregisterWait(registration)
            .catch(() => undefined),
        );
      }
      return event;
    },
  };
}

/** Registration and look-back, retried until the wait's end. */
function activities(remainingMs: number) {
  return proxyActivities<InternalActivities>({
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: Math.max(1, remainingMs),
    retry: DURABLE_RETRY,
  });
}

/** Unregistering is best effort: a wait left behind expires at its end, and a delivery to it is ignored. */
function cleanup() {
  return proxyActivities<InternalActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumAttempts: 3 },
  });
}
