import { QueryNotRegisteredError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { temporal as proto, type google } from '@temporalio/proto';
import type { RequestHandler } from 'express';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import { flowSearchAttributes } from '../../common/search-attributes';
import type { QueueLiveness, QueueWorker } from '../queue-liveness';
import { statusOf } from './execution-status';
import type { RunListItem } from './list';
import {
  errorMessage,
  interpreterRun,
  QUERY_DEADLINE_MS,
  temporalUiLink,
  workflowIdParam,
  type RunsRouterDeps,
} from './runs-api';

/** `GET /api/runs/:workflowId`: the execution as Temporal describes it, and the run's own account of its steps. */
export type RunView = RunListItem & {
  /** The run's summary line, as the Temporal UI's run list shows it. */
  readonly summary?: string;
} & (
    | (Omit<RunStatus, 'definition' | 'revision' | 'eventId'> & {
        /** Set while the running step's activity is scheduled on a task queue no worker polls; `details` says so too. */
        readonly waitingForWorker?: WaitingForWorker;
      })
    | { readonly status_unavailable: string }
  );

/**
 * A running step whose activity no worker has taken, on a queue no worker polls now: the run waits for a worker there
 * (or until the step's `schedule_to_start` fails it). The workflow cannot know this (it does no I/O); the runs API
 * reads it from Temporal's description of the run (its pending activity) and of the queue (its pollers).
 */
export interface WaitingForWorker {
  readonly step: string;
  readonly action: string;
  readonly queue: string;
  /** The attempt that waits (1 for the first). */
  readonly attempt: number;
  /** When the waiting attempt was scheduled (ISO 8601), when Temporal says. */
  readonly scheduledAt?: string;
  readonly worker: QueueWorker;
}

/** `GET /api/runs/:workflowId`: one run, with its steps from the `runStatus` query (see {@link RunView}). */
export function showRun(deps: RunsRouterDeps): RequestHandler {
  return async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const { description } = await interpreterRun(deps.temporal, workflowId);
    const summary = await description.staticSummary();
    const described: RunListItem & { summary?: string } = {
      workflowId,
      runId: description.runId,
      definition: description.typedSearchAttributes.get(flowSearchAttributes.FlowDefinition) ?? null,
      revision: description.typedSearchAttributes.get(flowSearchAttributes.FlowRevision) ?? null,
      eventId: description.typedSearchAttributes.get(flowSearchAttributes.FlowEventId) ?? null,
      status: statusOf(description.status.code),
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime?.toISOString() ?? null,
      ...(summary ? { summary } : {}),
      ui: temporalUiLink(deps, client, workflowId, description.runId),
    };
    const answer = await runStatus(client, workflowId, description.runId, taskQueue);
    if ('unavailable' in answer) {
      res.json({ ...described, status_unavailable: answer.unavailable } satisfies RunView);
      return;
    }
    const { definition: _definition, revision: _revision, eventId: _eventId, ...state } = answer.status;
    const waiting = deps.liveness ? await waitingForWorker(deps.liveness, description, answer.status) : undefined;
    if (!waiting) {
      res.json({ ...described, ...state } satisfies RunView);
      return;
    }
    res.json({
      ...described,
      ...state,
      details: waitingDetails(waiting),
      waitingForWorker: waiting,
    } satisfies RunView);
  };
}
/** The run's `runStatus` answer, or why it could not be had. */
async function runStatus(
  client: Client,
  workflowId: string,
  runId: string,
  taskQueue: string,
): Promise<{ status: RunStatus } | { unavailable: string }> {
  try {
    const status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowId, runId).query<RunStatus>(RUN_HANDLERS.status),
    );
    return { status };
  } catch (error) {
    if (error instanceof QueryNotRegisteredError) {
      return {
        unavailable: `the run does not answer the ${RUN_HANDLERS.status} query; it was started by a Flow older than run control (${error.message.slice(0, 200)})`,
      };
    }
    if (error instanceof WorkflowNotFoundError) return { unavailable: 'the run is no longer retained by Temporal' };
    return {
      unavailable: `the run did not answer its ${RUN_HANDLERS.status} query within ${QUERY_DEADLINE_MS / 1000}s; is a worker polling task queue ${taskQueue}? (${errorMessage(error).slice(0, 200)})`,
    };
  }
}

const SCHEDULED = proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;

/**
 * The running step's wait for a worker, when its activity is scheduled (not started) and no worker polls its queue;
 * undefined otherwise, and when Temporal cannot say whether one polls.
 */
async function waitingForWorker(
  liveness: QueueLiveness,
  description: WorkflowExecutionDescription,
  status: RunStatus,
): Promise<WaitingForWorker | undefined> {
  if (description.status.name !== 'RUNNING') return undefined;
  const step = [...status.steps, ...(status.onFailure ?? [])].find((candidate) => candidate.status === 'running');
  if (!step) return undefined;
  const pending = (description.raw.pendingActivities ?? []).find(
    (activity) => activity.activityType?.name === step.action && activity.state === SCHEDULED,
  );
  if (!pending) return undefined;
  // The queue the activity was scheduled on, as Temporal records it; the run's own queue when it does not say.
  const queue = pending.activityOptions?.taskQueue?.name || description.taskQueue;
  const worker = await liveness.check(queue);
  if (worker.polled !== false) return undefined;
  const scheduledAt = isoTime(pending.scheduledTime);
  return {
    step: step.id,
    action: step.action,
    queue,
    attempt: pending.attempt ?? 1,
    ...(scheduledAt ? { scheduledAt } : {}),
    worker,
  };
}

/** The run's details while it waits for a worker. */
function waitingDetails({ step, action, queue, attempt, worker }: WaitingForWorker): string {
  const last = worker.lastSeen ? `; the last poll was at ${worker.lastSeen}` : '';
  const which = attempt > 1 ? `attempt ${attempt} of step ${step}` : `step ${step}`;
  return `Waiting for a worker on ${queue}: ${which} (${action}) is scheduled there and no worker polls that queue now${last}`;
}

function isoTime(timestamp: google.protobuf.ITimestamp | null | undefined): string | undefined {
  if (!timestamp?.seconds) return undefined;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}
