import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import {
  RECENT_DEPARTURES,
  TRAIN_HANDLERS,
  TRAIN_REFUSALS,
  trainWatchQueue,
  type AdmitAnswer,
  type AdmitRequest,
  type RemoveRequest,
  type TrainDeparture,
  type TrainEntry,
  type TrainHolder,
  type TrainInput,
  type TrainState,
} from '../common/train-types';

/** Asks to enter the train; refused (by the validator, leaving no history) when busy with `reject` or full. */
export const admitUpdate = defineUpdate<AdmitAnswer, [AdmitRequest]>(TRAIN_HANDLERS.admit);
/** Takes a waiting run out of the queue; refused when the event is not waiting. */
export const removeUpdate = defineUpdate<TrainDeparture, [RemoveRequest]>(TRAIN_HANDLERS.remove);
/** The train's holder, queue and last departures. */
export const trainStateQuery = defineQuery<TrainState>(TRAIN_HANDLERS.state);

/**
 * One train per concurrency group (workflow id `train-<group>`): lets one run of the group go at a time, the others
 * waiting in arrival order. Runs enter through the `admit` update (sent with update-with-start by the dispatcher's
 * `startRuns` activity, before the run itself starts), so the queue is this workflow's state and no lock lives in
 * MongoDB.
 *
 * The holder is granted and watched by the `watchTrainHolder` activity, which long-polls the run's close through the
 * Temporal API: whatever ends the run (completion, failure, cancel, terminate, timeout), the activity returns and the
 * next run is granted. A train with nothing to do ends; the next admission starts a new one. When Temporal suggests
 * it, the train continues as new with its state as input, so its history stays bounded and nothing is reordered.
 */
export async function train(input: TrainInput): Promise<void> {
  const { group } = input;
  let holder: TrainHolder | undefined = input.state?.holder;
  const queue: TrainEntry[] = [...(input.state?.queue ?? [])];
  let recent: TrainDeparture[] = [...(input.state?.recent ?? [])];
  const notices: Promise<unknown>[] = [];

  const { watchTrainHolder } = proxyActivities<InternalActivities>({
    taskQueue: trainWatchQueue(workflowInfo().taskQueue),
    // The holder may run for days; the heartbeat, not this bound, notices a lost worker.
    startToCloseTimeout: '3650d',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
  });
  const { notifyRun } = proxyActivities<InternalActivities>({
    startToCloseTimeout: '10m',
    // The worker keeps the attempt alive: a killed worker's notice is retried after this, not after 10 minutes.
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
  });

  /** Tells a waiting run it left the queue; a run that never started or has ended cannot be told, which is fine. */
  const tell = (notice: Parameters<InternalActivities['notifyRun']>[0]): void => {
    notices.push(notifyRun(notice).catch(() => undefined));
  };
  const now = (): string => new Date().toISOString();
  const state = (): TrainState => ({ group, ...(holder ? { holder } : {}), queue: [...queue], recent: [...recent] });
  const depart = (departure: TrainDeparture): void => {
    recent = [departure, ...recent].slice(0, RECENT_DEPARTURES);
  };
  // A run admitted whose start never came (the train moved on without it) is admitted afresh if its start is retried;
  // any other departed run has closed, and its retried admission only gets the old answer.
  const known = (workflowId: string): boolean =>
    holder?.workflowId === workflowId ||
    queue.some((entry) => entry.workflowId === workflowId) ||
    recent.some((departure) => departure.workflowId === workflowId && departure.exit !== 'never-started');
  const answerFor = (workflowId: string): AdmitAnswer => {
    const position = queue.findIndex((entry) => entry.workflowId === workflowId) + 1;
    if (position === 0) return { outcome: 'holding', position: 0 };
    return { outcome: 'queued', position, ...(holder ? { holder: holder.workflowId } : {}) };
  };
  const describe = (): void => {
    const waiting = queue.length === 0 ? 'nobody waiting' : `${queue.length} waiting, next ${queue[0]!.workflowId}`;
    setCurrentDetails(
      holder
        ? `Held by ${holder.workflowId} (${holder.definition}, event ${holder.eventId}) since ${holder.grantedAt}; ${waiting}.`
        : `Free; ${waiting}.`,
    );
  };

  setHandler(trainStateQuery, state);
  setHandler(
    admitUpdate,
    (request) => {
      if (known(request.workflowId)) return answerFor(request.workflowId);
      const entry: TrainEntry = {
        workflowId: request.workflowId,
        eventId: request.eventId,
        definition: request.definition,
        since: now(),
      };
      if (!holder && queue.length === 0) {
        holder = { ...entry, grantedAt: entry.since };
        describe();
        return { outcome: 'holding', position: 0 };
      }
      let superseded: string | undefined;
      if (request.whenBusy === 'replace') {
        // At most one waiting run per definition: the newcomer takes the place of the one before it.
        for (let index = queue.length - 1; index >= 0; index--) {
          const waiting = queue[index]!;
          if (waiting.definition !== request.definition) continue;
          queue.splice(index, 1);
          superseded = waiting.workflowId;
          depart({ ...waiting, exit: 'superseded', by: request.workflowId, at: entry.since });
          tell({ workflowId: waiting.workflowId, group, reason: 'superseded', by: request.workflowId });
        }
      }
      queue.push(entry);
      describe();
      return { ...answerFor(request.workflowId), ...(superseded ? { superseded } : {}) };
    },
    {
      validator: (request: AdmitRequest) => {
        if (known(request.workflowId)) return;
        const busy = holder !== undefined || queue.length > 0;
        if (request.whenBusy === 'reject' && busy) {
          const on = holder?.workflowId ?? queue[0]!.workflowId;
          throw ApplicationFailure.create({
            type: TRAIN_REFUSALS.busy,
            message: `train ${group} is busy: ${on} holds it`,
            details: [{ holder: on }],
            nonRetryable: true,
          });
        }
        // `replace` never waits behind its own definition's runs (it takes their place), so it is never refused as full.
        if (request.whenBusy === 'queue' && queue.length >= request.maxQueue) {
          throw ApplicationFailure.create({
            type: TRAIN_REFUSALS.full,
            message: `train ${group} is full: ${queue.length} runs wait (max_queue ${request.maxQueue})`,
            details: [{ holder: holder?.workflowId ?? null, waiting: queue.length }],
            nonRetryable: true,
          });
        }
      },
    },
  );
  setHandler(
    removeUpdate,
    (request) => {
      const index = queue.findIndex((entry) => entry.eventId === request.eventId);
      const [waiting] = queue.splice(index, 1);
      const departure: TrainDeparture = { ...waiting!, exit: 'removed', by: request.by, at: now() };
      depart(departure);
      tell({ workflowId: waiting!.workflowId, group, reason: 'removed', by: request.by });
      describe();
      return departure;
    },
    {
      validator: (request: RemoveRequest) => {
        if (!queue.some((entry) => entry.eventId === request.eventId)) {
          throw ApplicationFailure.create({
            type: TRAIN_REFUSALS.notQueued,
            message: `no run of event ${request.eventId} waits in train ${group}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  for (;;) {
    if (!holder && queue.length > 0) {
      const next = queue.shift()!;
      holder = { ...next, grantedAt: now() };
    }
    describe();
    if (holder) {
      const current = holder;
      let watched = false;
      const closed = watchTrainHolder({ workflowId: current.workflowId, group }).finally(() => (watched = true));
      // A long holder must not let the history grow without bound: continue as new while it runs, and the next
      // run of the train watches the same holder again.
      await condition(() => watched || workflowInfo().continueAsNewSuggested);
      if (!watched) break;
      const outcome = await closed;
      depart({
        workflowId: current.workflowId,
        eventId: current.eventId,
        definition: current.definition,
        exit: outcome.status === undefined ? 'never-started' : 'closed',
        ...(outcome.status === undefined ? {} : { status: outcome.status }),
        at: now(),
      });
      holder = undefined;
      if (workflowInfo().continueAsNewSuggested) break;
      continue;
    }
    // Nothing to do: end once the updates in flight are answered and the dequeued runs told, unless one admitted a run.
    await condition(allHandlersFinished);
    await Promise.all(notices.splice(0));
    if (!holder && queue.length === 0) return;
  }
  await condition(allHandlersFinished);
  await Promise.all(notices.splice(0));
  await continueAsNew<typeof train>({ group, state: state() });
}
