import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { runSearchAttributes } from '../common/search-attributes';
import { runSummary, type DefinitionSnapshot, type DispatchResult, type FlowEvent } from '../common/run-types';
import { dispatchResult, planRuns } from './dispatcher';
import { interpret } from './interpreter';

/**
 * The patch that moved run starts from child workflows to the `startRuns` activity, in the `dispatch` workflow.
 */
const START_RUNS_ACTIVITY_PATCH = 'start-runs-activity';

/**
 * The dispatcher of events accepted before `dispatchEvent` (workflow type `dispatch`). The worker still runs it so
 * that dispatchers open at an upgrade finish, for example ones waiting out a MongoDB outage; the gateway no longer
 * starts it. Its code must not change: it replays the histories those dispatchers recorded. Both kinds are in the
 * tests: before `START_RUNS_ACTIVITY_PATCH` it started runs as abandoned children, after it from `startRuns`.
 *
 * Remove this file (and its export) once no `dispatch` workflow can be open:
 * `temporal workflow count --query 'WorkflowType="dispatch" AND ExecutionStatus="Running"'` answers 0.
 */
export async function dispatch(event: FlowEvent): Promise<DispatchResult> {
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
  const { findDefinitionsForEvent } = proxyActivities<InternalActivities>({ startToCloseTimeout: '30s', retry });
  const { startRuns } = proxyActivities<InternalActivities>({ startToCloseTimeout: '5m', retry });
  const snapshots = await findDefinitionsForEvent(event.source, event.type);
  const { runs, skipped } = planRuns(event, snapshots);
  if (patched(START_RUNS_ACTIVITY_PATCH)) {
    if (runs.length > 0) await startRuns({ event, runs });
  } else {
    await Promise.all(runs.map((run) => startChildRun(run.workflowId, run.snapshot, event)));
  }
  return dispatchResult(event, runs, skipped);
}

function startChildRun(workflowId: string, snapshot: DefinitionSnapshot, event: FlowEvent): Promise<unknown> {
  const { definition, revision } = snapshot;
  return startChild(interpret, {
    workflowId,
    args: [{ snapshot, event }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: runSummary(definition.name, revision, event),
    staticDetails: definition.description,
    typedSearchAttributes: runSearchAttributes(definition.id, revision, event),
  });
}
