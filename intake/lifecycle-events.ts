import { MAX_EVENT_DEPTH } from '../activities/actions/flow-emit-event';
import { LIFECYCLE_SOURCE, lifecycleKey, type RunEventInput } from '../common/run-control';
import { acceptEvent, type IntakeDeps } from './accept-event';

/**
 * Emits one run lifecycle event (source `flow`) through the same durable intake as every other event, for the
 * interpreter's `emitRunEvent` activity and for the train transitions `startRuns` sees.
 *
 * - **Once per run and transition.** The idempotency key is {@link lifecycleKey} (the run's workflow id, the type and,
 *   for approvals, the step), so a retried activity finds the first dispatcher and nothing is dispatched twice; a
 *   duplicate is success.
 * - **One level deeper than the run's event**, like `flow.emit_event`: the chain keeps its root, its parent is the
 *   run's event, and past {@link MAX_EVENT_DEPTH} nothing is emitted. A definition bound to the lifecycle of its own
 *   runs (or two bound to each other's) would otherwise loop; unlike `flow.emit_event`, no step asked for this event,
 *   so the run is not failed: the event is dropped, and `warn` says so (ids and depth only, never the body).
 *
 * Temporal being unreachable is an error, so the calling activity is retried.
 */
export async function emitRunEvent(
  intake: IntakeDeps,
  input: RunEventInput,
  warn: (message: string) => void = (message) => console.warn(`[lifecycle] ${message}`),
): Promise<void> {
  const { type, body, causation, discriminator } = input;
  const depth = causation.depth + 1;
  if (depth > MAX_EVENT_DEPTH) {
    warn(
      `${LIFECYCLE_SOURCE}/${type} of ${body.workflowId} not emitted: its chain from ${causation.rootEventId} would be ` +
        `${depth} events deep (limit ${MAX_EVENT_DEPTH}); a definition probably reacts to its own runs`,
    );
    return;
  }
  await acceptEvent(intake, {
    source: LIFECYCLE_SOURCE,
    type,
    body: { ...body },
    idempotencyKey: lifecycleKey({ workflowId: body.workflowId, type, ...(discriminator ? { discriminator } : {}) }),
    causation: { rootEventId: causation.rootEventId, parentEventId: body.eventId, depth },
  });
}
