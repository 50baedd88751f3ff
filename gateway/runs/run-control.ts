import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Request, RequestHandler, Response } from 'express';
import { STEP_ID } from '../../common/definition';
import {
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalAnswer,
  type ApprovalView,
  type CancelRecord,
  type CancelRequest,
  type RunStatus,
} from '../../common/run-control';
import { actorOf } from '../auth';
import { temporalCall, updateFailureOf } from '../interpreter-runs';
import { ProblemError, type ProblemFieldError } from '../problem';
import { parseJsonObject, rawBodyOf, requireJsonObject, routeParam } from '../request-body';
import { statusOf } from './execution-status';
import {
  apiDeadline,
  badParameter,
  errorMessage,
  interpreterRun,
  QUERY_DEADLINE_MS,
  temporalUiLink,
  workflowIdParam,
  type RunsRouterDeps,
} from './runs-api';

/** Longest cancel reason and approval comment. */
const MAX_REASON = 500;
const MAX_COMMENT = 2_000;

/**
 * `POST /api/runs/:workflowId/cancel` (behind `rawBody`): the run records who cancelled and why through its `cancelRun`
 * update, then Temporal cancels it. Answers 202 with the cancel record.
 */
export function cancelRun(deps: RunsRouterDeps): RequestHandler {
  return async (req, res) => {
    const { client } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const reason = cancelReason(optionalJsonObject(req));
    const { handle, description } = await interpreterRun(deps.temporal, workflowId);
    requireOpen(description, workflowId, 'cancelled');
    const request: CancelRequest = { by: actor(res), ...(reason === undefined ? {} : { reason }) };
    let record: CancelRecord;
    try {
      record = await temporalCall(client, apiDeadline(), () =>
        handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, { args: [request] }),
      );
    } catch (error) {
      const failure = updateFailureOf(error);
      if (failure?.kind === 'refused' && failure.refusal === RUN_REFUSALS.notCancellable) {
        await completeAcceptedCancel(client, handle);
      }
      throw updateProblem(error, workflowId, 'cancelled', temporalUiLink(deps, client, workflowId, description.runId));
    }
    try {
      await temporalCall(client, apiDeadline(), () => handle.cancel());
    } catch (error) {
      // The run ended on its own right after it accepted the cancel: nothing is left to cancel.
      if (!(error instanceof WorkflowNotFoundError)) {
        throw new ProblemError(
          503,
          'Service Unavailable',
          `Run ${workflowId} recorded the cancel, but Temporal's cancellation could not be sent (${errorMessage(error)}). POST the cancel again to complete it.`,
          { headers: { 'Retry-After': '5' } },
        );
      }
    }
    res.status(202).json(record);
  };
}

/**
 * `POST /api/runs/:workflowId/approvals/:stepId` (behind `jsonBody`): the caller's answer to a waiting approval step,
 * through the run's `answerApproval` update. Answers with the approval as the run now sees it.
 */
export function answerApproval(deps: RunsRouterDeps): RequestHandler {
  return async (req, res) => {
    const { client } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const stepId = routeParam(req, 'stepId');
    if (!STEP_ID.test(stepId)) {
      throw badParameter(
        'stepId',
        `The step id ${JSON.stringify(stepId.slice(0, 64))} is not one: step ids are 1-63 lowercase letters, digits and "_", starting with a letter or "_".`,
      );
    }
    const { decision, comment } = approvalBody(requireJsonObject(req));
    const { handle, description } = await interpreterRun(deps.temporal, workflowId);
    requireOpen(description, workflowId, 'answered');
    const answer: ApprovalAnswer = {
      stepId,
      decision,
      by: actor(res),
      ...(comment === undefined ? {} : { comment }),
      via: 'api',
    };
    try {
      const view = await temporalCall(client, apiDeadline(), () =>
        handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, { args: [answer] }),
      );
      res.json(view);
    } catch (error) {
      throw updateProblem(error, workflowId, 'answered', temporalUiLink(deps, client, workflowId, description.runId));
    }
  };
}

/**
 * A cancel the run accepted earlier, whose Temporal cancellation never went out (the gateway failed in between), is
 * completed when it is asked again: the run holds the cancel record but still runs its steps. Temporal ignores a
 * second cancellation of a run already asked to cancel.
 */
async function completeAcceptedCancel(client: Client, handle: WorkflowHandle): Promise<void> {
  try {
    const status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      handle.query<RunStatus>(RUN_HANDLERS.status),
    );
    if (status.cancel && (status.phase === 'queued' || status.phase === 'running')) {
      await temporalCall(client, apiDeadline(), () => handle.cancel());
    }
  } catch {
    // The refusal is answered either way; a retry tries again.
  }
}

function requireOpen(description: WorkflowExecutionDescription, workflowId: string, what: string): void {
  if (description.status.name === 'RUNNING') return;
  throw new ProblemError(
    409,
    'Conflict',
    `Run ${workflowId} already ended (${statusOf(description.status.code)}), so it cannot be ${what}.`,
    { runStatus: statusOf(description.status.code) },
  );
}

/** The problem to answer for a failed update: the refusal's own status and message, 409 for an ended run. */
function updateProblem(error: unknown, workflowId: string, what: string, ui: string): unknown {
  const failure = updateFailureOf(error);
  switch (failure?.kind) {
    case 'refused':
      return new ProblemError(failure.status, titleOf(failure.status), failure.message, { refusal: failure.refusal });
    case 'ended':
      return new ProblemError(409, 'Conflict', `Run ${workflowId} ended before it could be ${what}.`);
    case 'unsupported':
      return new ProblemError(
        409,
        'Conflict',
        `Run ${workflowId} was started by a Flow older than run control and cannot be ${what} through the API; use the Temporal UI: ${ui}`,
      );
    default:
      return error;
  }
}

function titleOf(status: number): string {
  const titles: Readonly<Record<number, string>> = {
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Unprocessable Content',
  };
  return titles[status] ?? 'Conflict';
}

/** A body that may be left out: empty means `{}`; anything sent must be a JSON object (415/400 otherwise). */
function optionalJsonObject(req: Request): Record<string, unknown> {
  const raw = rawBodyOf(req);
  return raw.length === 0 ? {} : parseJsonObject(req, raw);
}

function cancelReason(body: Record<string, unknown>): string | undefined {
  const errors = unknownFields(body, ['reason']);
  const reason = body['reason'];
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    errors.push({ path: 'reason', message: `must be a string of at most ${MAX_REASON} characters` });
  }
  if (errors.length > 0) throw invalidBody('The cancel was not sent', errors);
  return typeof reason === 'string' && reason.trim() !== '' ? reason : undefined;
}

function approvalBody(body: Record<string, unknown>): { decision: ApprovalAnswer['decision']; comment?: string } {
  const errors = unknownFields(body, ['decision', 'comment']);
  const decision = body['decision'];
  if (decision !== 'approved' && decision !== 'rejected') {
    errors.push({ path: 'decision', message: 'must be "approved" or "rejected"' });
  }
  const comment = body['comment'];
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) {
    errors.push({ path: 'comment', message: `must be a string of at most ${MAX_COMMENT} characters` });
  }
  if (errors.length > 0 || (decision !== 'approved' && decision !== 'rejected')) {
    throw invalidBody('The answer was not recorded', errors);
  }
  return { decision, ...(typeof comment === 'string' && comment.trim() !== '' ? { comment } : {}) };
}

function unknownFields(body: Record<string, unknown>, known: readonly string[]): ProblemFieldError[] {
  return Object.keys(body)
    .filter((key) => !known.includes(key))
    .map((key) => ({ path: key.slice(0, 64), message: `is not a field; send ${known.join(' and ')}` }));
}

function invalidBody(what: string, errors: readonly ProblemFieldError[]): ProblemError {
  const first = errors[0];
  return new ProblemError(
    422,
    'Unprocessable Content',
    `${what}: ${errors.length} error${errors.length === 1 ? '' : 's'} in the body${first ? `, the first at ${first.path}: ${first.message}` : ''}.`,
    { errors },
  );
}

/** Who is acting: the token's name, which the run records. The API's scope check always names it. */
function actor(res: Response): string {
  const name = actorOf(res);
  if (name === undefined) throw new Error('the runs API is mounted without its scope check');
  return name;
}
