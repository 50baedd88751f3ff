/**
 * What the trains, runs and approvals pages read and do through the gateway's API (docs/trains.md,
 * docs/runs-api.md): the shapes of the answers they use, declared here as a client reads them, and the calls.
 */
import { call } from './api';
import type { RunSummary } from './api-types';

/** A run in a train's line (`TrainEntry`). */
export interface TrainEntry {
  readonly workflowId: string;
  readonly eventId: string;
  readonly definition: string;
  /** When it was admitted. */
  readonly since: string;
}

/** A run that left a train, and how (`TrainDeparture`). */
export interface TrainDeparture {
  readonly workflowId: string;
  readonly eventId: string;
  readonly definition: string;
  readonly exit: 'closed' | 'superseded' | 'removed' | 'never-started';
  readonly status?: string;
  readonly by?: string;
  readonly at: string;
}

/** `GET /api/trains/:group`, and each item of `GET /api/trains`. */
export interface TrainView {
  readonly group: string;
  readonly holder: (TrainEntry & { readonly grantedAt: string }) | null;
  readonly queue: readonly (TrainEntry & { readonly position: number })[];
  /** Newest first. */
  readonly recent: readonly TrainDeparture[];
  /** Why the train's state is unknown, when it could not be asked. */
  readonly unavailable?: string;
}

/** One step of a run (`StepStatus`). */
export interface StepStatus {
  readonly id: string;
  readonly action: string;
  readonly status: 'pending' | 'running' | 'completed' | 'skipped' | 'failed';
  readonly startedAt?: string;
  readonly durationMs?: number;
  readonly outputBytes?: number;
  readonly error?: { readonly type: string; readonly message: string };
  readonly reason?: string;
}

/** One answer to an approval. */
export interface RecordedAnswer {
  readonly decision: 'approved' | 'rejected';
  readonly by: string;
  readonly comment?: string;
  readonly via: string;
  readonly at: string;
}

/** An approval step's state (`ApprovalView`). */
export interface ApprovalView {
  readonly stepId: string;
  readonly title: string;
  readonly approvers: readonly string[];
  readonly required: number;
  readonly forbidSelfApproval: boolean;
  readonly status: 'pending' | 'approved' | 'rejected' | 'timed_out';
  readonly answers: readonly RecordedAnswer[];
  readonly requestedAt: string;
  readonly timesOutAt: string;
  readonly decidedAt?: string;
  readonly noticeErrors?: readonly string[];
}

/** Who cancelled a run, why and when. */
export interface CancelRecord {
  readonly by: string;
  readonly reason?: string;
  readonly at: string;
}

/** `GET /api/runs/:workflowId`: the run as Temporal describes it, and what the run says of itself when it answered. */
export interface RunView extends RunSummary {
  readonly summary?: string;
  readonly phase?: 'queued' | 'running' | 'on_failure' | 'completed' | 'failed' | 'cancelled';
  readonly steps?: readonly StepStatus[];
  readonly onFailure?: readonly StepStatus[];
  readonly details?: string;
  readonly approvals?: readonly ApprovalView[];
  readonly cancel?: CancelRecord;
  readonly failure?: {
    readonly step?: string;
    readonly action?: string;
    readonly type: string;
    readonly message: string;
    readonly cancelled: boolean;
    readonly by?: string;
  };
  /** Why the run's own status is missing (no worker answered, or a run older than run control). */
  readonly status_unavailable?: string;
}

/** `GET /api/runs`. */
export interface RunPage {
  readonly items: readonly RunSummary[];
  readonly next?: string;
}

/** The filters of `GET /api/runs`. */
export interface RunFilters {
  readonly definition?: string;
  readonly status?: string;
  readonly event?: string;
}

/** `GET /api/approvals`: what waits for one approver. */
export interface WaitingApprovals {
  readonly for: string;
  readonly items: readonly {
    readonly workflowId: string;
    readonly definition: string | null;
    readonly revision: number | null;
    readonly eventId: string | null;
    readonly startTime: string;
    readonly approval: ApprovalView;
  }[];
  readonly runs: number;
  readonly truncated: boolean;
  readonly unavailable: readonly { readonly workflowId: string; readonly reason: string }[];
}

/** Every busy train. */
export async function trains(): Promise<readonly TrainView[]> {
  return (await call<{ items: TrainView[] }>('GET', '/api/trains')).items;
}

/** One train; a 404 {@link ApiError} when no run holds or waits in the group. */
export function train(group: string): Promise<TrainView> {
  return call<TrainView>('GET', `/api/trains/${encodeURIComponent(group)}`);
}

/** Takes the run of `eventId` out of the group's line. */
export function removeFromLine(group: string, eventId: string): Promise<TrainDeparture> {
  return call<TrainDeparture>(
    'DELETE',
    `/api/trains/${encodeURIComponent(group)}/queue/${encodeURIComponent(eventId)}`,
  );
}

/** A page of runs, newest first. */
export function runs(filters: RunFilters, next?: string): Promise<RunPage> {
  return call<RunPage>('GET', `/api/runs?${runsQuery(filters, next).toString()}`);
}

/** The query of a runs listing: the filters that are set, and the page token. */
export function runsQuery(filters: RunFilters, next?: string): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of ['definition', 'status', 'event'] as const) {
    const value = filters[name];
    if (value) query.set(name, value);
  }
  if (next) query.set('next', next);
  return query;
}

/** One run, with its steps, waits, approvals and cancel. */
export function run(workflowId: string): Promise<RunView> {
  return call<RunView>('GET', `/api/runs/${encodeURIComponent(workflowId)}`);
}

/** Cancels a run, recording the session's actor and the reason; answers the run's cancel record. */
export function cancelRun(workflowId: string, reason: string): Promise<CancelRecord> {
  return call<CancelRecord>(
    'POST',
    `/api/runs/${encodeURIComponent(workflowId)}/cancel`,
    reason.trim() === '' ? {} : { reason },
  );
}

/** Answers a waiting approval as the session's actor; answers the approval as it stands after the answer. */
export function answerApproval(
  workflowId: string,
  stepId: string,
  decision: 'approved' | 'rejected',
  comment: string,
): Promise<ApprovalView> {
  return call<ApprovalView>(
    'POST',
    `/api/runs/${encodeURIComponent(workflowId)}/approvals/${encodeURIComponent(stepId)}`,
    comment.trim() === '' ? { decision } : { decision, comment },
  );
}

/** The approvals that wait for the signed-in actor. */
export function approvalsForMe(): Promise<WaitingApprovals> {
  return call<WaitingApprovals>('GET', '/api/approvals?for=me');
}
