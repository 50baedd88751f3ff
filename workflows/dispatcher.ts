import { isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { dispatchResult, planRuns } from '../common/matching';
import type { DefinitionSnapshot, DispatchResult, FlowEvent } from '../common/run-types';

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
  const plan = planRuns(event, snapshots);
  if (plan.runs.length === 0) return dispatchResult(event, plan);
  // A thousand starts take seconds; the limit only bounds an attempt that hangs.
  const { startRuns } = proxyActivities<InternalActivities>({ startToCloseTimeout: '5m', retry: DURABLE_RETRY });
  // Runs with a concurrency group enter their train first; the answers say which started, waits or was refused.
  return dispatchResult(event, plan, await startRuns({ event, runs: plan.runs }));
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
