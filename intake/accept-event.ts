import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { createHash, randomUUID } from 'node:crypto';
import { flowSearchAttributes } from '../common/search-attributes';
import { dispatchWorkflowId, type Causation, type FlowEvent } from '../common/run-types';
import type { dispatchEvent } from '../workflows';
import { startFlowWorkflow } from './workflow-starts';

/** An event to accept. */
export interface EventSubmission {
  readonly source: string;
  readonly type: string;
  readonly body: Record<string, unknown>;
  /** The same key from the same source means the same event: it is dispatched once. */
  readonly idempotencyKey?: string;
  readonly causation?: Causation;
  /** Who sent the event (an API token's name, a webhook's user), carried as data: it is no part of the event's id. */
  readonly actor?: string;
}

/** The intake's answer. */
export interface AcceptedEvent {
  readonly eventId: string;
  readonly workflowId: string;
  /** True when this key was accepted before; nothing new was dispatched. */
  readonly duplicate: boolean;
}

/** What the intake needs. */
export interface IntakeDeps {
  readonly client: Client;
  readonly taskQueue: string;
  /** How long to wait for Temporal before answering that it is unavailable. */
  readonly timeoutMs?: number;
}

/** Temporal did not take the event; nothing was accepted and the sender should retry. */
export class TemporalUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`Temporal did not accept the event: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TemporalUnavailableError';
  }
}

/** An event id as {@link eventIdFor} makes one: `<source>-<idempotency key, UUID or ~hash>`. */
export const EVENT_ID = /^[a-z0-9][a-z0-9_.-]{0,63}-(?:[A-Za-z0-9][A-Za-z0-9._-]{0,79}|~[0-9a-f]{32})$/;

/**
 * The event id: `<source>-<key>` when the idempotency key is short and plain, `<source>-~<hash>` for other keys, and
 * `<source>-<uuid>` without a key. Readable ids make the Temporal UI easy to search.
 */
export function eventIdFor(source: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `${source}-${randomUUID()}`;
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(idempotencyKey)) return `${source}-${idempotencyKey}`;
  return `${source}-~${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

/**
 * How an event's dispatcher is started: its id, the dedupe policies that make a second submission a duplicate, a
 * summary for the UI's list, and the search attributes to filter by. The bench starts the same way for comparison.
 */
export function dispatchStartOptions(event: FlowEvent, taskQueue: string) {
  return {
    workflowId: dispatchWorkflowId(event.id),
    taskQueue,
    args: [event],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary: `${event.source}/${event.type} event ${event.id}`,
    typedSearchAttributes: [
      { key: flowSearchAttributes.FlowSource, value: event.source },
      { key: flowSearchAttributes.FlowEventType, value: event.type },
      { key: flowSearchAttributes.FlowEventId, value: event.id },
    ],
  } satisfies WorkflowStartOptions<typeof dispatchEvent>;
}

/**
 * Accepts an event durably by starting its dispatcher workflow. Once this resolves the event cannot be lost:
 * Temporal holds it even while MongoDB is down. A second submission with the same key finds the first dispatcher and
 * reports `duplicate` (for as long as Temporal retains the first one; the namespace's retention period).
 */
export async function acceptEvent(deps: IntakeDeps, submission: EventSubmission): Promise<AcceptedEvent> {
  const eventId = eventIdFor(submission.source, submission.idempotencyKey);
  const workflowId = dispatchWorkflowId(eventId);
  const event: FlowEvent = {
    id: eventId,
    source: submission.source,
    type: submission.type,
    body: submission.body,
    receivedAt: new Date().toISOString(),
    ...(submission.idempotencyKey === undefined ? {} : { idempotencyKey: submission.idempotencyKey }),
    causation: submission.causation ?? { rootEventId: eventId, depth: 0 },
    ...(submission.actor === undefined ? {} : { actor: submission.actor }),
  };
  try {
    await deps.client.connection.withDeadline(Date.now() + (deps.timeoutMs ?? 10_000), () =>
      startFlowWorkflow(deps.client, 'dispatchEvent', dispatchStartOptions(event, deps.taskQueue)),
    );
    return { eventId, workflowId, duplicate: false };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { eventId, workflowId, duplicate: true };
    throw new TemporalUnavailableError(error);
  }
}
