import { QueryNotRegisteredError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Router, type Request, type Response } from 'express';
import { mapLimit } from '../common/map-limit';
import { RUN_HANDLERS, type ApprovalView, type RunStatus } from '../common/run-control';
import { WORKFLOW_TYPES } from '../common/run-types';
import { flowSearchAttributes } from '../common/search-attributes';
import { actorOf } from './auth';
import { temporalCall, type DeploymentTemporal } from './interpreter-runs';
import { apiDeadline, badParameter, errorMessage, QUERY_DEADLINE_MS } from './runs/runs-api';

/** One approval that waits for the approver asked about, and the run it belongs to. */
export interface WaitingApproval {
  readonly workflowId: string;
  /** From the run's search attributes; null for a run started without them. */
  readonly definition: string | null;
  readonly revision: number | null;
  readonly eventId: string | null;
  readonly startTime: string;
  readonly approval: ApprovalView;
}

/** A running run that could not be asked about its approvals, and why. */
export interface UnansweredRun {
  readonly workflowId: string;
  readonly reason: string;
}

/** `GET /api/approvals`. */
export interface WaitingApprovals {
  /** The approver the list is for: the caller's own name for `for=me`. */
  readonly for: string;
  /** Soonest timeout first. */
  readonly items: readonly WaitingApproval[];
  /** How many running runs were asked. */
  readonly runs: number;
  /** More than {@link MAX_RUNS} runs were running, and only the newest {@link MAX_RUNS} were asked. */
  readonly truncated: boolean;
  /** Runs whose approvals are unknown: they did not answer in time, or cannot answer. */
  readonly unavailable: readonly UnansweredRun[];
}

/** The most running runs one listing asks; beyond them the answer says `truncated`. */
const MAX_RUNS = 200;
/** How many runs are asked at once. */
const PARALLEL_QUERIES = 16;
/** After this long no further run is asked, so one listing stays bounded even when no worker answers. */
const ASKING_BUDGET_MS = 15_000;
/** The longest approver name (an approver entry's limit). */
const MAX_APPROVER_CHARS = 200;

/**
 * `GET /api/approvals?for=<approver|me>` (read scope): the approvals that wait for one approver, which the API has
 * nowhere else. Nothing is stored for it: the running interpreter runs of this task queue come from Temporal's
 * visibility (the newest {@link MAX_RUNS}), and each run answers its `runStatus` query. An approval waits for the
 * approver when it is pending, the approver is among its approvers and has not answered, and, when the step forbids
 * self-approval, did not start the run (read from the run's input, only when that decides).
 */
export function approvalsRouter(temporal: DeploymentTemporal): Router {
  const router = Router();
  router.get('/approvals', async (req, res) => {
    const approver = approverParam(req, res);
    const { client, taskQueue } = temporal;
    const listed = await runningRuns(client, taskQueue);
    const asked = listed.slice(0, MAX_RUNS);
    const askUntil = Date.now() + ASKING_BUDGET_MS;
    const unavailable: UnansweredRun[] = [];
    const found = await mapLimit(asked, PARALLEL_QUERIES, async (run): Promise<WaitingApproval[]> => {
      if (Date.now() > askUntil) {
        unavailable.push({ workflowId: run.workflowId, reason: notAskedReason() });
        return [];
      }
      try {
        const approvals = await waitingFor(client, run.workflowId, approver);
        return approvals.map((approval) => ({ ...run, approval }));
      } catch (error) {
        // A run that ended since the listing waits for nobody.
        if (error instanceof WorkflowNotFoundError) return [];
        unavailable.push({ workflowId: run.workflowId, reason: unansweredReason(error, taskQueue) });
        return [];
      }
    });
    const items = found
      .flat()
      .sort(
        (a, b) =>
          a.approval.timesOutAt.localeCompare(b.approval.timesOutAt) || a.workflowId.localeCompare(b.workflowId),
      );
    res.json({
      for: approver,
      items,
      runs: asked.length,
      truncated: listed.length > MAX_RUNS,
      unavailable: unavailable.sort((a, b) => a.workflowId.localeCompare(b.workflowId)),
    } satisfies WaitingApprovals);
  });
  return router;
}

/** The `for` parameter (default `me`): an approver name, or `me` for the caller's own name. */
function approverParam(req: Request, res: Response): string {
  const query = req.query as Record<string, unknown>;
  for (const name of Object.keys(query)) {
    if (name !== 'for') {
      throw badParameter(
        name.slice(0, 64),
        `GET /api/approvals has no parameter ${JSON.stringify(name.slice(0, 64))}; use for=<approver> or for=me.`,
      );
    }
  }
  const value = query['for'] ?? 'me';
  if (typeof value !== 'string') throw badParameter('for', 'Give the parameter for once.');
  if (value === 'me') {
    const actor = actorOf(res);
    if (actor === undefined) throw new Error('the approvals API is mounted without its scope check');
    return actor;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what the pattern refuses
  if (value.length === 0 || value.length > MAX_APPROVER_CHARS || /[\u0000-\u001f\u007f]/.test(value)) {
    throw badParameter(
      'for',
      `for must be me or an approver's name of 1-${MAX_APPROVER_CHARS} characters without control characters, as the step's approvers list it (a token name, a Slack member id, a Jira account id or an email).`,
    );
  }
  return value;
}

/** A running run as the listing found it. */
type ListedRun = Omit<WaitingApproval, 'approval'>;

/** This task queue's running interpreter runs, newest first: at most one more than {@link MAX_RUNS}, to tell. */
async function runningRuns(client: Client, taskQueue: string): Promise<ListedRun[]> {
  const query = [
    `WorkflowType = '${WORKFLOW_TYPES.interpret}'`,
    `TaskQueue = '${taskQueue.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
    `ExecutionStatus = 'Running'`,
  ].join(' AND ');
  return temporalCall(client, apiDeadline(), async () => {
    const runs: ListedRun[] = [];
    for await (const execution of client.workflow.list({ query, pageSize: MAX_RUNS + 1 })) {
      const attributes = execution.typedSearchAttributes;
      runs.push({
        workflowId: execution.workflowId,
        definition: attributes.get(flowSearchAttributes.FlowDefinition) ?? null,
        revision: attributes.get(flowSearchAttributes.FlowRevision) ?? null,
        eventId: attributes.get(flowSearchAttributes.FlowEventId) ?? null,
        startTime: execution.startTime.toISOString(),
      });
      if (runs.length > MAX_RUNS) break;
    }
    return runs;
  });
}

/** The run's approvals that wait for `approver`, from its `runStatus` query. */
async function waitingFor(client: Client, workflowId: string, approver: string): Promise<ApprovalView[]> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
    handle.query<RunStatus>(RUN_HANDLERS.status),
  );
  const candidates = status.approvals.filter(
    (approval) =>
      approval.status === 'pending' &&
      approval.approvers.includes(approver) &&
      !approval.answers.some((answer) => answer.by === approver),
  );
  // The run's status names its actor, whom a step that forbids self-approval refuses.
  return candidates.filter((approval) => !(approval.forbidSelfApproval && status.actor === approver));
}

function notAskedReason(): string {
  return `not asked: the listing asks runs for ${ASKING_BUDGET_MS / 1000}s at most, and earlier runs took that long to answer`;
}

function unansweredReason(error: unknown, taskQueue: string): string {
  if (error instanceof QueryNotRegisteredError) {
    return `the run does not answer the ${RUN_HANDLERS.status} query; it was started by a Flow older than run control`;
  }
  return `the run did not answer within ${QUERY_DEADLINE_MS / 1000}s; is a worker polling task queue ${taskQueue}? (${errorMessage(error).slice(0, 200)})`;
}
