import { condition, defineSignal, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { TRAIN_SIGNALS, type DequeuedNotice, type RunTrain } from '../common/train-types';

/** The grant a train sends the run whose turn it is. */
export const trainGrantedSignal = defineSignal<[{ group: string }]>(TRAIN_SIGNALS.granted);
/** The notice a train sends a waiting run that leaves the line without running. */
export const trainDequeuedSignal = defineSignal<[DequeuedNotice]>(TRAIN_SIGNALS.dequeued);

/**
 * Waits at the start of a run until its train lets it go: resolves with nothing once granted, or with the notice
 * when the run was superseded or removed while it waited. Signals are buffered by Temporal, so a grant sent before
 * this run's first workflow task is not lost; a second grant (the train's watcher retried) is ignored.
 */
export async function awaitTrainGrant(train: RunTrain): Promise<DequeuedNotice | undefined> {
  let granted = false;
  let dequeued: DequeuedNotice | undefined;
  setHandler(trainGrantedSignal, () => {
    granted = true;
  });
  setHandler(trainDequeuedSignal, (notice) => {
    dequeued ??= notice;
  });
  setCurrentDetails(`Waiting in train ${train.group} (${train.workflowId}); GET /api/trains shows the line.`);
  await condition(() => granted || dequeued !== undefined);
  return granted ? undefined : dequeued;
}
