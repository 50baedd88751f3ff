/**
 * The gateway's way to reach this deployment's interpreter runs, shared by the runs API and Slack's approval buttons:
 * which workflow ids it accepts, how it finds a run (an interpreter run of this task queue, nothing else), how it
 * bounds a Temporal call, and how it reads a refused update. Each caller words the answer for its own audience.
 */
import {
  isGrpcServiceError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { REFUSAL_STATUS } from '../common/run-control';
import { WORKFLOW_TYPES } from '../common/run-types';
import { ProblemError } from './problem';

/** This deployment's Temporal client and the task queue its workers poll; read per request. */
export interface DeploymentTemporal {
  readonly client: Client;
  readonly taskQueue: string;
}

/**
 * A Temporal workflow id as the gateway accepts one from outside: run ids are `<definition>-<event id>`, and event ids
 * hold letters, digits, `.`, `_`, `-` and the `~` of hashed idempotency keys (`eventIdFor` in intake/accept-event.ts).
 */
export const WORKFLOW_ID = /^[A-Za-z0-9._:@~-]{1,300}$/;

/** When a Temporal call must have answered, and what to tell the caller when Temporal could not answer by then. */
export interface TemporalDeadline {
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The 503's `detail`, given the gRPC error's own details. */
  readonly unavailableDetail: (grpcDetails: string) => string;
}

/** gRPC status codes of a Temporal that cannot answer now, which a client may retry. */
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/**
 * Why Temporal could not answer, when that is the error: it did not answer in time (`deadline`: what was asked may
 * still take effect) or could not be reached (`unavailable`). Undefined for any other error.
 */
export function temporalOutage(
  error: unknown,
): { readonly kind: 'deadline' | 'unavailable'; readonly details: string } | undefined {
  const cause = isGrpcServiceError(error) ? error : (error as { cause?: unknown } | undefined)?.cause;
  if (!isGrpcServiceError(cause)) return undefined;
  const code: number = cause.code;
  if (code === DEADLINE_EXCEEDED) return { kind: 'deadline', details: cause.details };
  if (code === UNAVAILABLE) return { kind: 'unavailable', details: cause.details };
  return undefined;
}

/** The 503 (with `Retry-After`) to answer when `error` is a {@link temporalOutage}; undefined otherwise. */
export function temporalUnavailable(error: unknown, deadline: TemporalDeadline): ProblemError | undefined {
  const outage = temporalOutage(error);
  if (!outage) return undefined;
  return new ProblemError(503, 'Service Unavailable', deadline.unavailableDetail(outage.details), {
    headers: { 'Retry-After': '5' },
  });
}

/** Runs a Temporal call with a deadline; an unreachable or slow Temporal is a 503 the client may retry. */
export async function temporalCall<T>(client: Client, deadline: TemporalDeadline, call: () => Promise<T>): Promise<T> {
  try {
    return await client.withDeadline(deadline.at, call);
  } catch (error) {
    throw temporalUnavailable(error, deadline) ?? error;
  }
}

/** An interpreter run of this deployment, as Temporal describes its latest execution. */
export interface InterpreterRun {
  readonly handle: WorkflowHandle;
  readonly description: WorkflowExecutionDescription;
}

/**
 * The latest execution of `workflowId` when it is an interpreter run of this deployment's task queue; undefined when
 * there is no such workflow, or it is a dispatcher, a train or another deployment's run (its own task queue).
 */
export async function findInterpreterRun(
  temporal: DeploymentTemporal,
  workflowId: string,
  deadline: TemporalDeadline,
): Promise<InterpreterRun | undefined> {
  const { client, taskQueue } = temporal;
  const handle = client.workflow.getHandle(workflowId);
  let description: WorkflowExecutionDescription;
  try {
    description = await temporalCall(client, deadline, () => handle.describe());
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  if (description.type !== WORKFLOW_TYPES.interpret || description.taskQueue !== taskQueue) return undefined;
  return { handle, description };
}

/** A refusal type of the run's update validators (`RUN_REFUSALS`). */
export type RunRefusal = keyof typeof REFUSAL_STATUS;

/**
 * Why an update to an interpreter run did not take effect, when the run or Temporal says so: `refused` by the run's
 * validator (with the HTTP status {@link REFUSAL_STATUS} gives it, and the run's own sentence), `unsupported` by a run
 * started by a Flow older than the update's handler, or the run `ended` before the update reached it.
 */
export type UpdateFailure =
  | { readonly kind: 'refused'; readonly refusal: RunRefusal; readonly status: number; readonly message: string }
  | { readonly kind: 'unsupported' }
  | { readonly kind: 'ended' };

/** The {@link UpdateFailure} of a failed update; undefined for anything else, such as a {@link temporalOutage}. */
export function updateFailureOf(error: unknown): UpdateFailure | undefined {
  if (error instanceof WorkflowNotFoundError) return { kind: 'ended' };
  if (!(error instanceof WorkflowUpdateFailedError) || !(error.cause instanceof ApplicationFailure)) return undefined;
  const { type, message } = error.cause;
  if (type !== undefined && type !== null && Object.hasOwn(REFUSAL_STATUS, type)) {
    const refusal = type as RunRefusal;
    return { kind: 'refused', refusal, status: REFUSAL_STATUS[refusal], message };
  }
  if (message.startsWith('No registered handler for update')) return { kind: 'unsupported' };
  return undefined;
}
