import type { Definition, StepOptions } from './definition';
import type { CancelRecord, LifecycleType } from './run-control';
import type { DequeuedNotice, RunTrain, WhenBusy } from './train-types';

/** Where an event came from when another run emitted it; bounds event loops. */
export interface Causation {
  readonly rootEventId: string;
  readonly parentEventId?: string;
  /** 0 for events from outside; each `flow.emit_event` adds one. */
  readonly depth: number;
}

/** An accepted event, as the dispatcher receives it. */
export interface FlowEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly receivedAt: string;
  readonly idempotencyKey?: string;
  readonly causation: Causation;
  /**
   * Who sent the event, when the sender says: the API token's name for `POST /events`, the user a webhook names
   * (Jira's account id). Approval steps with `forbid_self_approval` refuse this actor.
   */
  readonly actor?: string;
}

/** One definition at one revision, with the defaults of the actions it uses: everything a run needs. */
export interface DefinitionSnapshot {
  readonly definition: Definition;
  readonly revision: number;
  readonly actionDefaults: Readonly<Record<string, StepOptions>>;
  /**
   * The task queue of each action the definition's steps use (meta-actions aside), as the dispatching worker knew
   * them: built-ins on its own queue, a pack's on the pack's `taskQueue`. Taken with the snapshot so a run never
   * changes queue mid-flight. Absent in runs dispatched before routing, and when the worker knew no queues.
   */
  readonly actionQueues?: Readonly<Record<string, string>>;
}

/** What happened to one step. */
export interface StepResult {
  readonly id: string;
  readonly action: string;
  /** `failed` only for a step with `continue_on_error`, and for on_failure steps. */
  readonly status: 'completed' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly error?: StepError;
}

/** Why a step failed, as `steps.<id>.error` and the run's status show it. */
export interface StepError {
  readonly type: string;
  readonly message: string;
}

/** Progress carried across continue-as-new. */
export interface RunState {
  readonly nextStep: number;
  readonly steps: Readonly<Record<string, { readonly output: unknown; readonly error?: StepError }>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly results: readonly StepResult[];
  /** When the run's first workflow started (absent in runs that continued as new before run control). */
  readonly startedAt?: string;
  /** When each step started and how long it took, for the run's status. */
  readonly timings?: Readonly<Record<string, { readonly startedAt: string; readonly durationMs?: number }>>;
  /** The cancel the run accepted. */
  readonly cancel?: CancelRecord;
  /** True once the on_failure steps started. */
  readonly onFailureStarted?: boolean;
}

/** Input of the interpreter workflow. */
export interface RunInput {
  readonly snapshot: DefinitionSnapshot;
  readonly event: FlowEvent;
  readonly resume?: RunState;
  /** The train the run waits for before its first step, when its definition declares `concurrency`. */
  readonly train?: RunTrain;
  /**
   * The lifecycle event types (source `flow`) some definition was bound to when the run was dispatched: the run emits
   * only these, so a Flow where nothing listens pays nothing. Absent in runs started before lifecycle events.
   */
  readonly lifecycle?: readonly LifecycleType[];
}

/** Result of the interpreter workflow. */
export interface RunResult {
  readonly definition: string;
  readonly revision: number;
  readonly eventId: string;
  readonly steps: readonly StepResult[];
  readonly vars: Readonly<Record<string, unknown>>;
  /** Set when the run left its train's queue without running a step: superseded or removed, and by whom. */
  readonly dequeued?: DequeuedNotice;
}

/** A definition the dispatcher started a run for. */
export interface MatchedRun {
  readonly definition: string;
  readonly revision: number;
  readonly workflowId: string;
  /** When the definition declares `concurrency`: the run's group and whether it holds the train or waits. */
  readonly train?: TrainAdmission;
}

/** Where a run entered its train. */
export interface TrainAdmission {
  readonly group: string;
  readonly outcome: 'holding' | 'queued';
  /** Its place in the line (1 = next); 0 when it holds the train. */
  readonly position: number;
  /** The run holding the train, when it is another one. */
  readonly holder?: string;
  /** With `when_busy: replace`: the waiting run this one replaced (that run ends as superseded). */
  readonly superseded?: string;
}

/** A matched definition whose train refused the run: busy with `when_busy: reject`, or a full queue. */
export interface RejectedRun {
  readonly definition: string;
  readonly revision: number;
  readonly workflowId: string;
  readonly group: string;
  readonly reason: string;
  /** The run holding the train. */
  readonly holder?: string;
}

/** A matched run's concurrency group, rendered when the event is dispatched. */
export interface PlannedTrain {
  readonly group: string;
  readonly whenBusy: WhenBusy;
  readonly maxQueue: number;
}

/** A run the dispatcher matched, before it is started. */
export interface PlannedRun {
  readonly workflowId: string;
  readonly snapshot: DefinitionSnapshot;
  /** Present when the definition declares `concurrency`: the run enters this group's train before it starts. */
  readonly train?: PlannedTrain;
  /** The lifecycle types bound at dispatch (see {@link RunInput.lifecycle}); absent when none is. */
  readonly lifecycle?: readonly LifecycleType[];
}

/** What the dispatcher asks the `startRuns` activity to start: one run per matched definition, for one event. */
export interface StartRunsInput {
  readonly event: FlowEvent;
  readonly runs: readonly PlannedRun[];
}

/** How many of the runs this attempt started, and how many an earlier attempt had already started. */
export interface StartRunsResult {
  readonly started: number;
  readonly alreadyStarted: number;
  /** What each run's train answered, by run workflow id; absent when no run has a group. */
  readonly trains?: Readonly<Record<string, TrainAdmission | RejectedRun>>;
}

/** A definition bound to the event that did not run, and why. */
export interface SkippedDefinition {
  readonly definition: string;
  readonly revision: number;
  readonly reason: string;
}

/** Result of the dispatcher workflow: the answer to "why didn't my workflow fire?". */
export interface DispatchResult {
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly matched: readonly MatchedRun[];
  readonly skipped: readonly SkippedDefinition[];
  /** Matched definitions whose train refused the run; absent when none was refused. */
  readonly rejected?: readonly RejectedRun[];
}

/**
 * Workflow type names, shared by the client side and the worker: each key is the name of the workflow function (start
 * them with `startFlowWorkflow` in `intake/`, which checks their arguments).
 */
export const WORKFLOW_TYPES = { dispatchEvent: 'dispatchEvent', interpret: 'interpret' } as const;

/** Workflow id of the dispatcher for an event. */
export function dispatchWorkflowId(eventId: string): string {
  return `event-${eventId}`;
}

/** Workflow id of one definition's run for an event: readable, and the same however often the event is dispatched. */
export function runWorkflowId(definitionId: string, eventId: string): string {
  return `${definitionId}-${eventId}`;
}

/** `Start release r3 · jira/issue_transitioned · issue=REL-7 to=Start Release`: what the UI's run list shows. */
export function runSummary(name: string, revision: number, event: FlowEvent): string {
  const keyFields = Object.entries(event.body)
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number')
    .slice(0, 3)
    .map(([key, value]) => `${key}=${String(value).slice(0, 40)}`);
  return [`${name} r${revision}`, `${event.source}/${event.type}`, ...keyFields].join(' · ').slice(0, 200);
}

/** The `run` variable expressions see. */
export function runContext(event: FlowEvent, definition: string, revision: number): Record<string, unknown> {
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    definition,
    revision,
    receivedAt: event.receivedAt,
  };
}
