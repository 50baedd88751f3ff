/**
 * What the runs API's routes share: their deps, the deadline of their Temporal calls, the Temporal UI link, the 404
 * of a workflow that is not a run and the 400 of a bad parameter.
 */
import type { Client } from '@temporalio/client';
import type { Request } from 'express';
import {
  findInterpreterRun,
  WORKFLOW_ID,
  type DeploymentTemporal,
  type InterpreterRun,
  type TemporalDeadline,
} from '../interpreter-runs';
import { ProblemError } from '../problem';
import type { QueueLiveness } from '../queue-liveness';
import { routeParam } from '../request-body';

/** What the runs API needs: this deployment's Temporal client and task queue, and where the Temporal UI is. */
export interface RunsRouterDeps {
  /** Read per request, so building the app touches no Temporal connection. */
  readonly temporal: DeploymentTemporal;
  /** Base URL of the Temporal Web UI (`FLOW_TEMPORAL_UI_URL`), without a trailing slash. */
  readonly temporalUiUrl: string;
  /** A secret the page tokens are signed with, so that `next` accepts only tokens this API issued. */
  readonly pageTokenSecret: string;
  /** Says whether a worker polls a queue, so a run view tells a step waiting for a worker; without it, it does not. */
  readonly liveness?: QueueLiveness;
}

/** How long a listing, a describe, an update or a cancellation may take before the API answers 503. */
const TEMPORAL_DEADLINE_MS = 10_000;

/** How long the run's status query may take; a query needs a worker to answer it. */
export const QUERY_DEADLINE_MS = 5_000;

/** The deadline of one Temporal call of the runs API, starting now. */
export function apiDeadline(): TemporalDeadline {
  return {
    at: Date.now() + TEMPORAL_DEADLINE_MS,
    unavailableDetail: (details) =>
      `Temporal did not answer within ${TEMPORAL_DEADLINE_MS / 1000}s (${details.slice(0, 200)}); retry shortly.`,
  };
}

/** The run's page in the Temporal Web UI. */
export function temporalUiLink(deps: RunsRouterDeps, client: Client, workflowId: string, runId: string): string {
  return `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(client.options.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** The latest execution of `workflowId` when it is an interpreter run of this task queue; a 404 problem otherwise. */
export async function interpreterRun(temporal: DeploymentTemporal, workflowId: string): Promise<InterpreterRun> {
  const run = await findInterpreterRun(temporal, workflowId, apiDeadline());
  if (run) return run;
  throw new ProblemError(
    404,
    'Not Found',
    `There is no run ${workflowId}. Run ids are <definition>-<event id>, as the event's dispatcher result and GET /api/runs list them.`,
  );
}

/** The `:workflowId` route parameter, checked against {@link WORKFLOW_ID}; a 400 problem otherwise. */
export function workflowIdParam(req: Request): string {
  const workflowId = routeParam(req, 'workflowId');
  if (!WORKFLOW_ID.test(workflowId)) {
    throw badParameter(
      'workflowId',
      `${JSON.stringify(workflowId.slice(0, 64))} is not a run id: run ids are 1-300 letters, digits, ".", "_", ":", "@", "~" or "-", such as start-release-jira-REL-7.`,
    );
  }
  return workflowId;
}

/** A 400 problem for a bad query or path parameter, naming it in `errors`. */
export function badParameter(name: string, detail: string): ProblemError {
  return new ProblemError(400, 'Bad Request', detail, { errors: [{ path: name, message: detail }] });
}

/** An error's message, for a `detail` that says what went wrong. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
