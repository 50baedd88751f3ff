import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { decideMatch } from '../common/matching';
import { createExpressionEngine } from '../common/expressions';
import { runSearchAttributes } from '../common/search-attributes';
import {
  runSummary,
  runWorkflowId,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
  type MatchedRun,
  type SkippedDefinition,
} from '../common/run-types';
import { interpret } from './interpreter';

/**
 * The patch that moved run starts from child workflows to the `startRuns` activity. Dispatchers recorded before it
 * (with `StartChildWorkflowExecution` commands) replay through the old branch; remove that branch, and this id with
 * `deprecatePatch`, once no such dispatcher can still be open.
 */
export const START_RUNS_ACTIVITY_PATCH = 'start-runs-activity';

/**
 * One dispatcher per accepted event: finds the definitions bound to it, evaluates their conditions, and starts one
 * interpreter run per match. The runs are independent workflows, so they outlive the dispatcher. Both activities
 * retry without limit, so events accepted while MongoDB or the worker's client is down run once it is back.
 */
export async function dispatch(event: FlowEvent): Promise<DispatchResult> {
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
  const { findDefinitionsForEvent } = proxyActivities<InternalActivities>({ startToCloseTimeout: '30s', retry });
  // A thousand starts take seconds; the limit only bounds an attempt that hangs.
  const { startRuns } = proxyActivities<InternalActivities>({ startToCloseTimeout: '5m', retry });
  const snapshots = await findDefinitionsForEvent(event.source, event.type);
  const engine = createExpressionEngine();
  const skipped: SkippedDefinition[] = [];
  const runs: { workflowId: string; snapshot: DefinitionSnapshot }[] = [];
  for (const snapshot of snapshots) {
    const { definition, revision } = snapshot;
    const decision = decideMatch(engine, definition, revision, event);
    if (decision.matched) runs.push({ workflowId: runWorkflowId(definition.id, event.id), snapshot });
    else skipped.push({ definition: definition.id, revision, reason: decision.reason });
  }
  if (patched(START_RUNS_ACTIVITY_PATCH)) {
    if (runs.length > 0) await startRuns({ event, runs });
  } else {
    await Promise.all(runs.map((run) => startChildRun(run.workflowId, run.snapshot, event)));
  }
  const matched: MatchedRun[] = runs.map(({ workflowId, snapshot }) => ({
    definition: snapshot.definition.id,
    revision: snapshot.revision,
    workflowId,
  }));
  return { eventId: event.id, source: event.source, type: event.type, matched, skipped };
}

/** How runs were started before {@link START_RUNS_ACTIVITY_PATCH}: kept only to replay dispatchers from then. */
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
