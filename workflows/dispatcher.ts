import { isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { decideMatch } from '../common/matching';
import { createExpressionEngine } from '../common/expressions';
import {
  runWorkflowId,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
  type PlannedRun,
  type SkippedDefinition,
} from '../common/run-types';

/** Retries of the durable activities: without a limit, backing off to every 30 s while MongoDB or the client is down. */
const DURABLE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/**
 * One dispatcher per accepted event (workflow type `dispatchEvent`): finds the definitions bound to it, evaluates
 * their conditions, and starts one interpreter run per match. The runs are independent workflows, so they outlive the
 * dispatcher.
 *
 * The registry lookup runs as a local activity first: inside the dispatcher's first workflow task, with no activity
 * task to schedule. A dispatcher that matches nothing is then one workflow task. If the quick lookup fails (MongoDB
 * is down or slow), a durable activity takes over and retries without limit, so an event accepted during an outage
 * runs once MongoDB is back, and a long outage does not grow the history.
 */
export async function dispatchEvent(event: FlowEvent): Promise<DispatchResult> {
  const snapshots = await lookUpDefinitions(event);
  const { runs, skipped } = planRuns(event, snapshots);
  if (runs.length > 0) {
    // A thousand starts take seconds; the limit only bounds an attempt that hangs.
    const { startRuns } = proxyActivities<InternalActivities>({ startToCloseTimeout: '5m', retry: DURABLE_RETRY });
    await startRuns({ event, runs });
  }
  return dispatchResult(event, runs, skipped);
}

async function lookUpDefinitions(event: FlowEvent): Promise<DefinitionSnapshot[]> {
  const quick = proxyLocalActivities<InternalActivities>({
    startToCloseTimeout: '5s',
    retry: { initialInterval: '500ms', maximumAttempts: 2 },
  });
  try {
    return await quick.findDefinitionsForEvent(event.source, event.type);
  } catch (error) {
    if (isCancellation(error)) throw error;
    const durable = proxyActivities<InternalActivities>({ startToCloseTimeout: '30s', retry: DURABLE_RETRY });
    return await durable.findDefinitionsForEvent(event.source, event.type);
  }
}

/** Evaluates each snapshot's bindings against the event: the runs to start, and the definitions skipped with why. */
export function planRuns(
  event: FlowEvent,
  snapshots: readonly DefinitionSnapshot[],
): { runs: PlannedRun[]; skipped: SkippedDefinition[] } {
  const engine = createExpressionEngine();
  const skipped: SkippedDefinition[] = [];
  const runs: PlannedRun[] = [];
  for (const snapshot of snapshots) {
    const { definition, revision } = snapshot;
    const decision = decideMatch(engine, definition, revision, event);
    if (decision.matched) runs.push({ workflowId: runWorkflowId(definition.id, event.id), snapshot });
    else skipped.push({ definition: definition.id, revision, reason: decision.reason });
  }
  return { runs, skipped };
}

/** The dispatcher's result: the answer to "why didn't my workflow fire?". */
export function dispatchResult(
  event: FlowEvent,
  runs: readonly PlannedRun[],
  skipped: readonly SkippedDefinition[],
): DispatchResult {
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    matched: runs.map(({ workflowId, snapshot }) => ({
      definition: snapshot.definition.id,
      revision: snapshot.revision,
      workflowId,
    })),
    skipped,
  };
}
