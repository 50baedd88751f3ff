/**
 * Run control: the names and shapes shared by the interpreter (which holds a run's state), the gateway (which asks
 * and changes it), the approval notices and the run lifecycle events. A run's state lives in its workflow only: the
 * API reads it with the {@link RUN_HANDLERS.status} query and changes it with updates whose validators refuse at once.
 */

/** Handler names of the interpreter workflow. */
export const RUN_HANDLERS = {
  /** Query: {@link RunStatus}. */
  status: 'runStatus',
  /** Update: {@link CancelRequest} → {@link CancelRecord}; the caller then cancels the workflow through Temporal. */
  cancel: 'cancelRun',
  /** Update: {@link ApprovalAnswer} → {@link ApprovalView}. */
  answerApproval: 'answerApproval',
} as const;

/**
 * Failure types of refused updates (`ApplicationFailure.type`), with the HTTP status the API answers for each. A
 * refusal always says why in its message.
 */
export const RUN_REFUSALS = {
  /** The run already ended, or is already running its on_failure steps after a cancel. */
  notCancellable: 'RunNotCancellable',
  /** No approval step of that id is waiting, or ever waited, in this run. */
  unknownApproval: 'UnknownApprovalStep',
  /** The approval was decided or timed out. */
  approvalClosed: 'ApprovalClosed',
  /** This approver already answered this approval. */
  alreadyAnswered: 'AlreadyAnswered',
  /** The actor is not among the step's approvers. */
  notAnApprover: 'NotAnApprover',
  /** The actor started the run and the step forbids self-approval. */
  selfApproval: 'SelfApproval',
  /** The request itself is malformed (a missing decision, an overlong comment). */
  invalid: 'InvalidRequest',
} as const;

/** HTTP status of each refusal. */
export const REFUSAL_STATUS: Readonly<Record<(typeof RUN_REFUSALS)[keyof typeof RUN_REFUSALS], number>> = {
  RunNotCancellable: 409,
  UnknownApprovalStep: 404,
  ApprovalClosed: 409,
  AlreadyAnswered: 409,
  NotAnApprover: 403,
  SelfApproval: 403,
  InvalidRequest: 400,
};

/** Who asks to cancel a run, and why. */
export interface CancelRequest {
  readonly by: string;
  readonly reason?: string;
}

/** A cancel the run accepted (the first one; later ones are refused). */
export interface CancelRecord extends CancelRequest {
  readonly at: string;
}

/** The channels an approval can be answered through. */
export type ApprovalChannel = 'api' | 'slack' | 'jira';

/** One answer to an approval step. */
export interface ApprovalAnswer {
  readonly stepId: string;
  readonly decision: 'approved' | 'rejected';
  /** The approver: a token name, a Slack user id, a Jira account id or an email, as listed in `approvers`. */
  readonly by: string;
  readonly comment?: string;
  readonly via: ApprovalChannel;
}

/** An answer as recorded. */
export interface RecordedAnswer extends Omit<ApprovalAnswer, 'stepId'> {
  readonly at: string;
}

/** Where an approval's request was posted, so its outcome can be shown there. */
export interface ApprovalNotify {
  readonly slack_channel?: string;
  readonly jira_issue?: string;
  /** Jira statuses whose transition of `jira_issue` counts as an answer by the Jira user who made it. */
  readonly approve_transition?: string;
  readonly reject_transition?: string;
}

/** An approval step's state: what the API shows and the notices render. */
export interface ApprovalView {
  readonly stepId: string;
  readonly title: string;
  /** Who may answer: the step's approvers with each `group:<name>` replaced by its members when the approval opened. */
  readonly approvers: readonly string[];
  /** The groups the step listed, by name, with their members when the approval opened; absent when it listed none. */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  readonly required: number;
  readonly forbidSelfApproval: boolean;
  readonly status: 'pending' | 'approved' | 'rejected' | 'timed_out';
  readonly answers: readonly RecordedAnswer[];
  readonly requestedAt: string;
  readonly timesOutAt: string;
  readonly decidedAt?: string;
  readonly notify?: ApprovalNotify;
  /** Notices that could not be posted (after retries), such as a Slack channel the app is not in. */
  readonly noticeErrors?: readonly string[];
}

/** Where the notices of one approval were posted (the Slack message to edit), as `approvalNotice` returns it. */
export interface NoticeReceipt {
  readonly slack?: { readonly channel: string; readonly ts: string };
}

/** What the `approvalNotice` activity posts: the request, a reminder, or the outcome (edits the request message). */
export interface ApprovalNoticeInput {
  readonly kind: 'requested' | 'reminder' | 'decided';
  readonly workflowId: string;
  readonly definition: string;
  readonly approval: ApprovalView;
  /** The receipt of the request, for reminders (thread) and the outcome (edit). */
  readonly receipt?: NoticeReceipt;
}

/** What a failed or cancelled run's on_failure steps see as `failure`. */
export interface FailureContext {
  /** The step that failed, when a step failed. */
  readonly step?: string;
  readonly action?: string;
  readonly type: string;
  readonly message: string;
  readonly cancelled: boolean;
  /** Who cancelled, for a cancel. */
  readonly by?: string;
}

/** One step as {@link RunStatus} shows it. */
export interface StepStatus {
  readonly id: string;
  readonly action: string;
  readonly status: 'pending' | 'running' | 'completed' | 'skipped' | 'failed';
  readonly startedAt?: string;
  readonly durationMs?: number;
  /** Bytes of the step's output as JSON. */
  readonly outputBytes?: number;
  readonly error?: { readonly type: string; readonly message: string };
  readonly reason?: string;
}

/** What the `runStatus` query answers: everything `GET /api/runs/:workflowId` shows, read without a history scan. */
export interface RunStatus {
  readonly definition: string;
  readonly revision: number;
  readonly eventId: string;
  /** Who sent the run's event (`event.actor`), whom approvals with `forbid_self_approval` refuse. */
  readonly actor?: string;
  readonly phase: 'queued' | 'running' | 'on_failure' | 'completed' | 'failed' | 'cancelled';
  readonly steps: readonly StepStatus[];
  /** The definition's on_failure steps, once they run. */
  readonly onFailure?: readonly StepStatus[];
  /** The run's current details, such as what a wait step waits for. */
  readonly details?: string;
  readonly approvals: readonly ApprovalView[];
  readonly cancel?: CancelRecord;
  readonly failure?: FailureContext;
}

/** The run lifecycle event types, emitted with source {@link LIFECYCLE_SOURCE}. */
export const LIFECYCLE_TYPES = [
  'run_started',
  'run_completed',
  'run_failed',
  'run_cancelled',
  'run_queued',
  'run_rejected',
  'run_superseded',
  'approval_requested',
] as const;
/** One of {@link LIFECYCLE_TYPES}. */
export type LifecycleType = (typeof LIFECYCLE_TYPES)[number];
/** The source of run lifecycle events. */
export const LIFECYCLE_SOURCE = 'flow';

/**
 * True for a run lifecycle event's (source, type): only Flow emits those, so neither `POST /events` nor
 * `flow.emit_event` may, or anyone could fake a failed release.
 */
export function isLifecycleEvent(source: string, type: string): boolean {
  return source === LIFECYCLE_SOURCE && (LIFECYCLE_TYPES as readonly string[]).includes(type);
}

/** The body of a run lifecycle event. */
export interface LifecycleBody {
  readonly definition: string;
  readonly revision: number;
  readonly workflowId: string;
  /** The event that started the run. */
  readonly eventId: string;
  readonly status: string;
  readonly failure?: FailureContext;
  readonly durationMs?: number;
  readonly actor?: string;
  /** For trains: the group, and the run holding it. */
  readonly group?: string;
  readonly holder?: string;
  /** For run_superseded: the run that took this one's place in the line. */
  readonly replacedBy?: string;
  /** For approval_requested: the step and its title. */
  readonly step?: string;
  readonly title?: string;
  /**
   * For run_rejected: the event the rejected run was for, which nothing else holds (the run never started), with
   * its body's top-level string and number fields only.
   */
  readonly trigger?: {
    readonly source: string;
    readonly type: string;
    readonly body: Readonly<Record<string, string | number>>;
  };
}

/** What the `emitRunEvent` activity sends: one lifecycle event of one run, deduplicated per run and transition. */
export interface RunEventInput {
  readonly type: LifecycleType;
  readonly body: LifecycleBody;
  /** The run's own event's causation; the lifecycle event is one level deeper. */
  readonly causation: { readonly rootEventId: string; readonly depth: number };
  /** Distinguishes transitions that can happen more than once in a run (an approval step's id). */
  readonly discriminator?: string;
}

/** The idempotency key of a lifecycle event: one per run, transition and (for approvals) step. */
export function lifecycleKey(input: Pick<RunEventInput, 'type' | 'discriminator'> & { workflowId: string }): string {
  return [input.workflowId, input.type, ...(input.discriminator ? [input.discriminator] : [])].join('.');
}
