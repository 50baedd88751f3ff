import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  EVENT_DELIVERED_SIGNAL,
  waitTakes,
  type DeliverToWaitsInput,
  type LookBackInput,
  type LookedBackEvent,
  type WaitDelivery,
} from '../common/event-waits';
import { createExpressionEngine } from '../common/expressions';
import { mapLimit } from '../common/map-limit';
import { WORKFLOW_TYPES, type FlowEvent } from '../common/run-types';

/** What delivering and looking back need: a client on the namespace the runs and dispatchers live in. */
export interface EventWaitDeps {
  readonly client: Client;
}

/** How many signals or history reads are in flight at once. */
const PARALLEL_CALLS = 32;
/** Most dispatchers one look-back reads, newest first: a bound on its cost for a very busy (source, type). */
export const LOOK_BACK_LIMIT = 1_000;

/**
 * Signals an event to the waits the dispatcher matched, for its `deliverToWaits` activity. A run that has closed
 * meanwhile (its wait timed out, it was terminated) cannot take it, which is fine; it is reported, not retried. A
 * delivery sent twice (the activity retried) is ignored by the run, which takes each event id once.
 */
export async function deliverToWaits(deps: EventWaitDeps, input: DeliverToWaitsInput): Promise<{ closed: string[] }> {
  const outcomes = await mapLimit(input.targets, PARALLEL_CALLS, async ({ workflowId, stepId }) => {
    const delivery: WaitDelivery = { stepId, event: input.event, dispatchedAt: input.dispatchedAt };
    try {
      await deps.client.workflow.getHandle(workflowId).signal(EVENT_DELIVERED_SIGNAL, delivery);
      return undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return workflowId;
      throw error;
    }
  });
  return { closed: outcomes.filter((outcome): outcome is string => outcome !== undefined) };
}

/**
 * Finds an event the wait would take that arrived before it registered: the dispatchers of (source, type) on the
 * run's task queue that started since the run did, through Temporal visibility (their `FlowSource` and
 * `FlowEventType` search attributes), each one's event read from its start input. Returns the oldest match, or
 * nothing. The dispatcher of a matching event that looked the waits up before this one registered has started by
 * then, so it is listed, unless visibility lags; the caller looks back once more after a short pause for that.
 */
export async function lookBackForEvent(
  deps: EventWaitDeps,
  input: LookBackInput,
): Promise<LookedBackEvent | undefined> {
  const query = [
    `WorkflowType = ${quote(WORKFLOW_TYPES.dispatchEvent)}`,
    `TaskQueue = ${quote(input.taskQueue)}`,
    `FlowSource = ${quote(input.source)}`,
    `FlowEventType = ${quote(input.type)}`,
    `StartTime >= ${quote(input.since)}`,
  ].join(' AND ');
  const found: { workflowId: string; runId: string; startTime: Date }[] = [];
  for await (const execution of deps.client.workflow.list({ query })) {
    found.push({ workflowId: execution.workflowId, runId: execution.runId, startTime: execution.startTime });
    if (found.length >= LOOK_BACK_LIMIT) break;
  }
  found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const exclude = new Set(input.exclude);
  const engine = createExpressionEngine();
  const events = await mapLimit(found, PARALLEL_CALLS, async ({ workflowId, runId }) => {
    const history = await deps.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0];
    return payload
      ? deps.client.options.loadedDataConverter.payloadConverter.fromPayload<FlowEvent>(payload)
      : undefined;
  });
  for (const [index, event] of events.entries()) {
    if (!event || exclude.has(event.id)) continue;
    if (!waitTakes(engine, input, event.body).takes) continue;
    return {
      event: { id: event.id, source: event.source, type: event.type, body: event.body },
      dispatchedAt: found[index]!.startTime.toISOString(),
    };
  }
  return undefined;
}

/** A string literal of Temporal's visibility query language. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
