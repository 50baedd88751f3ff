/**
 * Release trains: the types shared by the train workflow, the dispatcher, the activities that admit runs and watch
 * holders, and the trains API. A train is one workflow per concurrency group (`train-<group>`) that lets one run of
 * the group go at a time; see docs/trains.md.
 */

/** What a definition does when its group is busy: wait in line, start nothing, or replace the one waiting run. */
export type WhenBusy = 'queue' | 'reject' | 'replace';

/** A rendered group name: it becomes part of a workflow id and of a URL path segment. */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

/** Default and largest queue length of a group. */
export const DEFAULT_MAX_QUEUE = 50;
export const MAX_MAX_QUEUE = 1_000;

/** A run that entered a train. */
export interface TrainEntry {
  readonly workflowId: string;
  readonly eventId: string;
  readonly definition: string;
  /** When it was admitted (ISO 8601). */
  readonly since: string;
}

/** The run holding the train, and since when. */
export interface TrainHolder extends TrainEntry {
  readonly grantedAt: string;
}

/** How a run left the train. */
export type TrainExit = 'closed' | 'superseded' | 'removed' | 'never-started';

/** One of the last runs to leave the train, for the API and the UI. */
export interface TrainDeparture {
  readonly workflowId: string;
  readonly eventId: string;
  readonly definition: string;
  readonly exit: TrainExit;
  /** The run's close status when it held the train (`COMPLETED`, `FAILED`, `TERMINATED`, …). */
  readonly status?: string;
  /** Who removed it (`removed`), or the run that replaced it (`superseded`). */
  readonly by?: string;
  readonly at: string;
}

/** Everything a train knows; also what continue-as-new carries and what the `trainState` query returns. */
export interface TrainState {
  readonly group: string;
  readonly holder?: TrainHolder;
  readonly queue: readonly TrainEntry[];
  /** The last departures, newest first (at most {@link RECENT_DEPARTURES}). */
  readonly recent: readonly TrainDeparture[];
}

/** How many departures a train remembers. */
export const RECENT_DEPARTURES = 20;

/** Input of the train workflow: its group, and its state when it continues as new. */
export interface TrainInput {
  readonly group: string;
  readonly state?: TrainState;
}

/** The `admit` update's argument: one run asking to enter, with its definition's policy. */
export interface AdmitRequest {
  readonly workflowId: string;
  readonly eventId: string;
  readonly definition: string;
  readonly whenBusy: WhenBusy;
  readonly maxQueue: number;
}

/** The `admit` update's answer (a refusal is the update's validator error, recorded nowhere). */
export interface AdmitAnswer {
  /** `holding`: the run holds the train (now or already); `queued`: it waits at `position` (1 = next). */
  readonly outcome: 'holding' | 'queued';
  readonly position: number;
  /** The run holding the train, when it is another one. */
  readonly holder?: string;
  /** With `replace`: the waiting run this one replaced. */
  readonly superseded?: string;
}

/** The `remove` update's argument: take a waiting run out of the queue. */
export interface RemoveRequest {
  readonly eventId: string;
  /** The actor, recorded on the departure and told to the run. */
  readonly by: string;
}

/** What a waiting run is told when it leaves the queue without running. */
export interface DequeuedNotice {
  readonly group: string;
  readonly reason: 'superseded' | 'removed';
  readonly by: string;
}

/** Signal names a train sends to runs. */
export const TRAIN_SIGNALS = { granted: 'trainGranted', dequeued: 'trainDequeued' } as const;

/** Failure types of refused admissions (busy with `reject`, a full queue) and removals (not waiting). */
export const TRAIN_REFUSALS = { busy: 'TrainBusy', full: 'TrainQueueFull', notQueued: 'TrainEntryNotQueued' } as const;

/** Update and query names of the train workflow. */
export const TRAIN_HANDLERS = { admit: 'admit', remove: 'remove', state: 'trainState' } as const;

/**
 * The task queue of the trains' holder watchers, beside Flow's own: a watcher holds its activity slot for as long as
 * its holder runs, so watchers get a worker of their own (in the same process) and can never take the slots the
 * holders' steps need.
 */
export function trainWatchQueue(taskQueue: string): string {
  return `${taskQueue}-train-watch`;
}

/** Workflow id of a group's train. */
export function trainWorkflowId(group: string): string {
  return `train-${group}`;
}

/** The run's view of its train, carried in its input. */
export interface RunTrain {
  readonly group: string;
  readonly workflowId: string;
}
