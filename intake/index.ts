/**
 * Durable event intake, shared by the gateway and the `flow.emit_event` action: an accepted event is one
 * dispatcher workflow started in Temporal, whose id is derived from the source and the idempotency key.
 */
export { acceptEvent, dispatchStartOptions, eventIdFor, TemporalUnavailableError } from './accept-event';
export type { AcceptedEvent, EventSubmission, IntakeDeps } from './accept-event';
export { startRuns } from './start-runs';
export type { RunStarterDeps } from './start-runs';
export { startFlowWorkflow } from './workflow-starts';
export type { StartableWorkflows } from './workflow-starts';
export { admitToTrain, notifyRun, TRAIN_WORKFLOW_TYPE, watchTrainHolder } from './trains';
export type { ActivityControl, Admission, TrainDeps } from './trains';
export { deliverToWaits, LOOK_BACK_LIMIT, lookBackForEvent } from './event-waits';
export type { EventWaitDeps } from './event-waits';
export { emitRunEvent } from './lifecycle-events';
