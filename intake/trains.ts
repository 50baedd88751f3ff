import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowNotFoundError,
} from '@temporalio/common';
import {
  TRAIN_HANDLERS,
  TRAIN_REFUSALS,
  TRAIN_SIGNALS,
  trainWorkflowId,
  type AdmitAnswer,
  type AdmitRequest,
  type DequeuedNotice,
} from '../common/train-types';
import type { train } from '../workflows/train';

/** What the train operations need: a client and the task queue trains run on. */
export interface TrainDeps {
  readonly client: Client;
  readonly taskQueue: string;
}

/** The workflow type of trains; registered by every Flow worker. */
export const TRAIN_WORKFLOW_TYPE = 'train';

/** Failure types of a refused admission (the train workflow's validator). */
const REFUSAL_TYPES = new Set<string>([TRAIN_REFUSALS.busy, TRAIN_REFUSALS.full]);

/** The answer to an admission: admitted (holding or queued), or refused with the reason and the holder. */
export type Admission =
  | { readonly admitted: true; readonly answer: AdmitAnswer }
  | { readonly admitted: false; readonly reason: string; readonly holder?: string };

/**
 * Asks a group's train to admit a run, starting the train when none runs (update-with-start). Idempotent by the run's
 * workflow id: asked again, the train gives the same answer. A refusal (busy with `reject`, or a full queue) comes
 * from the update's validator, so it leaves nothing in the train's history.
 */
export async function admitToTrain(deps: TrainDeps, group: string, request: AdmitRequest): Promise<Admission> {
  try {
    const answer = await deps.client.workflow.executeUpdateWithStart<typeof train, AdmitAnswer, [AdmitRequest]>(
      TRAIN_HANDLERS.admit,
      {
        args: [request],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof train>(TRAIN_WORKFLOW_TYPE, {
          workflowId: trainWorkflowId(group),
          taskQueue: deps.taskQueue,
          args: [{ group }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `Train ${group}`,
          staticDetails: `One run at a time for the concurrency group \`${group}\`; the others wait in arrival order.`,
        }),
      },
    );
    return { admitted: true, answer };
  } catch (error) {
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && REFUSAL_TYPES.has(cause.type ?? '')) {
      const holder = (cause.details?.[0] as { holder?: unknown } | undefined)?.holder;
      return { admitted: false, reason: cause.message, ...(typeof holder === 'string' ? { holder } : {}) };
    }
    throw error;
  }
}

/** How long a granted run may take to appear: the dispatcher admits a run, then starts it, retrying until it does. */
const RUN_START_GRACE_MS = 10 * 60_000;

/** The activity's view of itself: heartbeats (so a lost worker is noticed), and cancellation. */
export interface ActivityControl {
  heartbeat(): void;
  readonly signal: AbortSignal;
}

/**
 * The train's watcher of its holder, run as an activity: signals the grant to the run (retrying while the run does
 * not exist yet), then long-polls the run's close through the Temporal API, following continue-as-new. Any close
 * ends the wait: completion, failure, cancellation, termination, timeout. A run that closed before its turn (cancelled
 * or terminated while it waited) is reported at once, and one that never appears within the grace period is reported
 * without a status. Heartbeats every few seconds, so a killed worker is noticed and the watch resumes elsewhere; a
 * second grant is harmless.
 */
export async function watchTrainHolder(
  deps: TrainDeps,
  input: { workflowId: string; group: string },
  activity: ActivityControl,
  startGraceMs = RUN_START_GRACE_MS,
): Promise<{ status?: string }> {
  const handle = deps.client.workflow.getHandle(input.workflowId);
  const beat = setInterval(() => activity.heartbeat(), 2_000);
  try {
    const deadline = Date.now() + startGraceMs;
    for (;;) {
      try {
        await handle.signal(TRAIN_SIGNALS.granted, { group: input.group });
        break;
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        const status = await closeStatus(handle);
        if (status !== undefined) return { status };
        if (Date.now() > deadline) return {};
        await pause(500, activity.signal);
      }
    }
    // The close itself says how the run ended, so no second call is needed to ask (it would cost the hand-off).
    const status = await deps.client.withAbortSignal(activity.signal, () =>
      handle.result().then(
        () => 'COMPLETED',
        (error: unknown) => {
          if (error instanceof WorkflowFailedError) return statusOfFailure(error);
          throw error;
        },
      ),
    );
    return { status };
  } finally {
    clearInterval(beat);
  }
}

/**
 * Tells a waiting run that it left its train's queue (superseded or removed), so it ends without running a step. A
 * run that has not started yet is retried (the activity fails and Temporal retries it); one that has already closed
 * needs no telling.
 */
export async function notifyRun(deps: TrainDeps, input: { workflowId: string } & DequeuedNotice): Promise<void> {
  const handle = deps.client.workflow.getHandle(input.workflowId);
  const notice: DequeuedNotice = { group: input.group, reason: input.reason, by: input.by };
  try {
    await handle.signal(TRAIN_SIGNALS.dequeued, notice);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError && (await closeStatus(handle)) !== undefined) return;
    throw error;
  }
}

/** The close status a failed result stands for, named as `describe()` names it. */
function statusOfFailure(error: WorkflowFailedError): string {
  if (error.cause instanceof TerminatedFailure) return 'TERMINATED';
  if (error.cause instanceof CancelledFailure) return 'CANCELLED';
  if (error.cause instanceof TimeoutFailure) return 'TIMED_OUT';
  return 'FAILED';
}

/** The close status of a run (`COMPLETED`, `TERMINATED`, …); undefined while it runs or when it does not exist. */
async function closeStatus(handle: WorkflowHandle): Promise<string | undefined> {
  try {
    const { status } = await handle.describe();
    return status.name === 'RUNNING' ? undefined : status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
