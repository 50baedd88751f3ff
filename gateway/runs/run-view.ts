import { QueryNotRegisteredError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { RequestHandler } from 'express';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import { flowSearchAttributes } from '../../common/search-attributes';
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
} & (Omit<RunStatus, 'definition' | 'revision' | 'eventId'> | { readonly status_unavailable: string });

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
    res.json({ ...described, ...state } satisfies RunView);
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
