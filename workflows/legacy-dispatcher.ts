import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { dispatchResult, planRuns } from '../common/matching';
import { runSearchAttributes } from '../common/search-attributes';
import {
  runSummary,
  WORKFLOW_TYPES,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
} from '../common/run-types';
import type { interpret } from './interpreter';

/**
 * The patch that moved run starts from child workflows to the `startRuns` activity, in the `dispatch` workflow.
 */
const START_RUNS_ACTIVITY_PATCH = 'start-runs-activity';

/**
 * The dispatcher of events accepted before `dispatchEvent` (workflow type `dispatch`). The worker still runs it so
 * that dispatchers open at an upgrade finish, for example ones waiting out a MongoDB outage; the gateway no longer
 * starts it. Both kinds are recorded: before `START_RUNS_ACTIVITY_PATCH` it started runs as abandoned children, after
 * it from `startRuns`.
 *
 * Frozen, and what keeps it frozen is the replay test, not a copy. Its own steps are here and must not change. It
 * shares with the live code only the matching (`planRuns` and `dispatchResult` in `common/matching.ts`, through
 * which every dispatcher must decide alike, with the expression engine under it) and the workflow type it starts
 * (`interpret`, by name only). `test/workflows/replay.test.ts` replays the recorded `dispatch` histories from both
 * sides of the patch, and recomputes each recorded dispatcher's result from its recorded event and lookup, so a change
 * to the shared code that would alter what this workflow does fails there.
 *
 * Remove this file (and its export) once no `dispatch` workflow can be open:
 * `temporal workflow count --query 'WorkflowType="dispatch" AND ExecutionStatus="Running"'` answers 0.
 */
export async function dispatch(event: FlowEvent): Promise<DispatchResult> {
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
  const { findDefinitionsForEvent } = proxyActivities<InternalActivities>({ startToCloseTimeout: '30s', retry });
  const { startRuns } = proxyActivities<InternalActivities>({ startToCloseTimeout: '5m', retry });
  const snapshots = await findDefinitionsForEvent(event.source, event.type);
  const plan = planRuns(event, snapshots);
  if (patched(START_RUNS_ACTIVITY_PATCH)) {
    if (plan.runs.length > 0) await startRuns({ event, runs: plan.runs });
  } else {
    await Promise.all(plan.runs.map((run) => startChildRun(run.workflowId, run.snapshot, event)));
  }
  return dispatchResult(event, plan);
}

function startChildRun(workflowId: string, snapshot: DefinitionSnapshot, event: FlowEvent): Promise<unknown> {
  const { definition, revision } = snapshot;
  return startChild<typeof interpret>(WORKFLOW_TYPES.interpret, {
    workflowId,
    args: [{ snapshot, event }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: runSummary(definition.name, revision, event),
    staticDetails: definition.description,
    typedSearchAttributes: runSearchAttributes(definition.id, revision, event),
  });
}
