import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import {
  APPROVER_GROUP_FAILURES,
  GROUP_PREFIX,
  MAX_EXPANDED_APPROVERS,
  referencedGroups,
  type ResolvedApprovers,
} from '../common/approver-groups';
import { STEP_ID } from '../common/names';
import { MetaActionFailure, type ApprovalOutcome, type ApprovalRequest } from '../common/meta-actions';
import {
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalAnswer,
  type ApprovalNoticeInput,
  type ApprovalView,
  type NoticeReceipt,
  type RecordedAnswer,
} from '../common/run-control';
import type { EventWaits } from './event-wait';

/** An answer to one approval step of the run; refused at once (by its validator) when it cannot count. */
export const answerApprovalUpdate = defineUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval);

/** Longest comment kept with an answer. */
const MAX_COMMENT = 2_000;

/** Notices are retried for a while, then given up (and recorded): an approval never fails because Slack is down. */
const NOTICE_RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 };

/**
 * Runs recorded before this marker sent a reminder only while they had no receipt (`receipt ??= await notice(…)`
 * skipped the notice once the request was posted), and sent one to no channel when `notify` named none; they replay
 * as they ran. Since, every reminder goes out, and only when there is a channel to send it to.
 */
const EVERY_REMINDER_PATCH = 'approval-every-reminder';

/** Approvals that list a `group:<name>` expand it; recorded before this marker, they kept the entry as a name. */
const APPROVER_GROUPS_PATCH = 'approver-groups';

/** Reading the groups is retried without a limit (bounded by the approval's deadline), backing off to 30 s. */
const GROUPS_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/** What the run tells its approvals about itself. */
export interface ApprovalRun {
  readonly workflowId: string;
  readonly definition: string;
  /** Who sent the run's event, whom `forbid_self_approval` refuses. */
  readonly actor?: string;
  /** Called once the request went out (the run emits `approval_requested` there). */
  readonly requested: (view: ApprovalView) => Promise<void>;
}

/** The run's side of `flow.approval`. */
export interface Approvals {
  /** Opens the approval of step `stepId` and resolves when it is decided or times out. */
  awaitApproval(stepId: string, request: ApprovalRequest): Promise<ApprovalOutcome>;
  /** Every approval of the run so far, for the run's status. */
  views(): ApprovalView[];
}

/** An approval's state; only this module changes it. */
interface OpenApproval {
  view: ApprovalView;
  readonly request: ApprovalRequest;
}

/**
 * Sets the update handler through which answers arrive; call it before the run's first await. The validator refuses,
 * with one of {@link RUN_REFUSALS}, an answer for a step that is not waiting (or never was), an approval already
 * decided or timed out, an approver who already answered, someone not among the approvers, and the run's own actor
 * when self-approval is forbidden: the caller learns at once, and nothing is recorded.
 */
export function listenForApprovals(run: ApprovalRun, waits: EventWaits): Approvals {
  const approvals = new Map<string, OpenApproval>();

  const refusal = (answer: ApprovalAnswer): ApplicationFailure | undefined => {
    const open = approvals.get(answer.stepId);
    if (!open)
      return refuse(RUN_REFUSALS.unknownApproval, `step "${answer.stepId}" of this run is not an approval that waits`);
    const { view } = open;
    if (view.status !== 'pending')
      return refuse(
        RUN_REFUSALS.approvalClosed,
        `"${view.title}" is already ${view.status.replace('_', ' ')} (${view.decidedAt ?? ''})`,
      );
    if (!view.approvers.includes(answer.by))
      return refuse(RUN_REFUSALS.notAnApprover, `${answer.by} is not an approver of "${view.title}"`);
    if (view.forbidSelfApproval && run.actor !== undefined && answer.by === run.actor)
      return refuse(RUN_REFUSALS.selfApproval, `${answer.by} started this run and cannot approve it`);
    if (view.answers.some((given) => given.by === answer.by))
      return refuse(RUN_REFUSALS.alreadyAnswered, `${answer.by} already answered "${view.title}"`);
    return undefined;
  };

  const record = (answer: ApprovalAnswer): ApprovalView => {
    const open = approvals.get(answer.stepId)!;
    const recorded: RecordedAnswer = {
      decision: answer.decision,
      by: answer.by,
      via: answer.via,
      at: new Date().toISOString(),
      ...(answer.comment ? { comment: answer.comment.slice(0, MAX_COMMENT) } : {}),
    };
    const answers = [...open.view.answers, recorded];
    const approvedBy = answers.filter((given) => given.decision === 'approved').length;
    const status =
      answer.decision === 'rejected' ? 'rejected' : approvedBy >= open.view.required ? 'approved' : 'pending';
    open.view = {
      ...open.view,
      answers,
      status,
      ...(status === 'pending' ? {} : { decidedAt: recorded.at }),
    };
    if (status === 'pending') setCurrentDetails(waitingDetails(open.view));
    return open.view;
  };

  setHandler(answerApprovalUpdate, (answer: ApprovalAnswer) => record(answer), {
    validator: (answer: ApprovalAnswer) => {
      checkShape(answer);
      const refused = refusal(answer);
      if (refused) throw refused;
    },
  });

  return {
    views: () => [...approvals.values()].map((open) => open.view),

    async awaitApproval(stepId, request) {
      // Groups are expanded once, before the approval opens: a group changed later does not change this approval.
      const { approvers, groups } = await expandGroups(request);
      const open: OpenApproval = {
        request,
        view: {
          stepId,
          title: request.title,
          approvers,
          ...(groups ? { groups } : {}),
          required: request.required,
          forbidSelfApproval: request.forbidSelfApproval,
          status: 'pending',
          answers: [],
          requestedAt: new Date().toISOString(),
          timesOutAt: request.until.toISOString(),
          ...(request.notify ? { notify: request.notify } : {}),
        },
      };
      approvals.set(stepId, open);
      setCurrentDetails(waitingDetails(open.view));
      const decided = (): boolean => open.view.status !== 'pending';
      const notifies = Boolean(request.notify?.slack_channel || request.notify?.jira_issue);

      // The message to edit with the outcome: the request's, or, when the request could not be posted, the first
      // reminder's (which then carries the buttons).
      let receipt = notifies ? await notice(open, { kind: 'requested' }) : undefined;
      await run.requested(open.view);

      // Jira transitions of the ticket answer too, as events delivered to this step's wait.
      const jira = new CancellationScope();
      const jiraAnswers = jira.run(() => takeJiraAnswers(stepId, open, waits, refusal, record));
      try {
        let lastReminder = Date.now();
        for (;;) {
          const now = Date.now();
          if (decided() || now >= request.until.getTime()) break;
          const nextReminder =
            request.remindEveryMs === undefined ? Number.POSITIVE_INFINITY : lastReminder + request.remindEveryMs;
          const wake = Math.min(request.until.getTime(), nextReminder);
          if (await condition(decided, Math.max(1, wake - now))) break;
          if (Date.now() < request.until.getTime() && Date.now() >= nextReminder) {
            lastReminder = Date.now();
            if (patched(EVERY_REMINDER_PATCH)) {
              if (notifies) {
                const reminded = await notice(open, { kind: 'reminder', ...(receipt ? { receipt } : {}) });
                receipt ??= reminded;
              }
            } else receipt ??= await notice(open, { kind: 'reminder', ...(receipt ? { receipt } : {}) });
          }
        }
      } finally {
        jira.cancel();
        await Promise.allSettled([jiraAnswers]);
      }
      if (!decided()) {
        open.view = { ...open.view, status: 'timed_out', decidedAt: new Date().toISOString() };
      }
      if (notifies)
        await CancellationScope.nonCancellable(() =>
          notice(open, { kind: 'decided', ...(receipt ? { receipt } : {}) }),
        );
      const { status, answers, decidedAt } = open.view;
      return {
        status: status === 'pending' ? 'timed_out' : status,
        answers,
        at: decidedAt ?? new Date().toISOString(),
      };
    },
  };

  /** Posts a notice; one that cannot be posted is recorded on the approval, which goes on. */
  async function notice(
    open: OpenApproval,
    input: Pick<ApprovalNoticeInput, 'kind' | 'receipt'>,
  ): Promise<NoticeReceipt | undefined> {
    try {
      return await notices().approvalNotice({
        ...input,
        workflowId: run.workflowId,
        definition: run.definition,
        approval: open.view,
      });
    } catch (error) {
      if (isCancellation(error)) throw error;
      const message =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
      open.view = {
        ...open.view,
        noticeErrors: [...(open.view.noticeErrors ?? []), `${input.kind}: ${message}`.slice(0, 500)],
      };
      return undefined;
    }
  }
}

/**
 * The approvers of `request` with each `group:<name>` replaced by the group's members, read from the registry by the
 * `resolveApprovers` activity, and those groups. Only a request that lists a group schedules the activity (behind
 * a patch marker), so an approval of names alone records what it always did. A group that does not exist, too few or too many approvers
 * after expansion, or a registry that cannot be read before the deadline fail the step.
 */
async function expandGroups(
  request: ApprovalRequest,
): Promise<{ approvers: readonly string[]; groups?: ResolvedApprovers['groups'] }> {
  const names = referencedGroups(request.approvers);
  // Before groups, a `group:` entry was a name like any other (one nobody could answer as): such runs replay so.
  if (names.length === 0 || !patched(APPROVER_GROUPS_PATCH)) return { approvers: request.approvers };
  const listed = names.map((name) => `${GROUP_PREFIX}${name}`).join(', ');
  let resolved: ResolvedApprovers;
  try {
    resolved = await proxyActivities<InternalActivities>({
      startToCloseTimeout: '1m',
      scheduleToCloseTimeout: Math.max(1, request.until.getTime() - Date.now()),
      retry: GROUPS_RETRY,
    }).resolveApprovers([...request.approvers]);
  } catch (error) {
    if (!(error instanceof ActivityFailure && error.cause instanceof TimeoutFailure)) throw error;
    throw new MetaActionFailure(
      APPROVER_GROUP_FAILURES.unavailable,
      `the registry could not be read to expand ${listed} before "${request.title}" would have timed out`,
    );
  }
  const missing = names.filter((name) => !Object.hasOwn(resolved.groups, name));
  if (missing.length > 0)
    throw new MetaActionFailure(
      APPROVER_GROUP_FAILURES.unknown,
      `there is no approver group ${missing.join(', ')} (listed as ${missing.map((name) => GROUP_PREFIX + name).join(', ')}); ` +
        `create it with PUT /api/groups/${missing[0] ?? ''}, or remove it from approvers`,
    );
  const { approvers, groups } = resolved;
  if (approvers.length > MAX_EXPANDED_APPROVERS)
    throw new MetaActionFailure(
      APPROVER_GROUP_FAILURES.tooMany,
      `the approvers of "${request.title}" expand to ${approvers.length} distinct names with ${listed}; at most ${MAX_EXPANDED_APPROVERS} are allowed`,
    );
  if (request.required > approvers.length)
    throw new MetaActionFailure(
      APPROVER_GROUP_FAILURES.tooFew,
      `"${request.title}" needs ${request.required} approvals but its approvers expand to ${approvers.length} distinct ` +
        `name(s) with ${listed} as the registry holds them now`,
    );
  return { approvers, groups };
}

/**
 * Takes answers from transitions of `notify.jira_issue` to its approve or reject status, one event wait after another
 * (each under its own key, so each delivery is taken once), until the approval is decided and this is cancelled.
 * A transition by someone who may not answer is ignored.
 */
async function takeJiraAnswers(
  stepId: string,
  open: OpenApproval,
  waits: EventWaits,
  refusal: (answer: ApprovalAnswer) => ApplicationFailure | undefined,
  record: (answer: ApprovalAnswer) => ApprovalView,
): Promise<void> {
  const { notify, until } = open.request;
  const statuses = [notify?.approve_transition, notify?.reject_transition].filter(
    (status): status is string => status !== undefined,
  );
  if (!notify?.jira_issue || statuses.length === 0) return;
  const taken: string[] = [];
  for (let round = 0; open.view.status === 'pending'; round++) {
    const event = await waits.awaitEvent(
      `${stepId}.jira${round}`,
      {
        source: 'jira',
        type: 'issue_transitioned',
        where: { issue: notify.jira_issue },
        if: statuses.map((status) => `event.to == ${JSON.stringify(status)}`).join(' || '),
        until,
      },
      taken,
    );
    if (!event) return;
    taken.push(event.id);
    const by = typeof event.body['user_id'] === 'string' ? event.body['user_id'] : undefined;
    if (by === undefined) continue;
    const answer: ApprovalAnswer = {
      stepId,
      decision: event.body['to'] === notify.approve_transition ? 'approved' : 'rejected',
      by,
      via: 'jira',
      comment: `Jira transition of ${notify.jira_issue} to ${String(event.body['to'])}`,
    };
    if (!refusal(answer)) record(answer);
  }
}

/** `Waiting for approval: Release 1.4? (1 of 2 approvals, times out 2026-12-08T10:00:00.000Z)`. */
function waitingDetails(view: ApprovalView): string {
  const approved = view.answers.filter((answer) => answer.decision === 'approved').length;
  return `Waiting for approval: ${view.title} (${approved} of ${view.required} approvals, times out ${view.timesOutAt})`;
}

function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** An answer must be well formed before it is looked at; the gateway checks too, but updates may come from anywhere. */
function checkShape(answer: ApprovalAnswer): void {
  const problems: string[] = [];
  if (typeof answer !== 'object' || answer === null) throw refuse(RUN_REFUSALS.invalid, 'an answer must be an object');
  if (typeof answer.stepId !== 'string' || !STEP_ID.test(answer.stepId)) problems.push('stepId must be a step id');
  if (answer.decision !== 'approved' && answer.decision !== 'rejected')
    problems.push('decision must be approved or rejected');
  if (typeof answer.by !== 'string' || answer.by.length === 0 || answer.by.length > 200)
    problems.push('by must name the approver');
  if (answer.comment !== undefined && (typeof answer.comment !== 'string' || answer.comment.length > MAX_COMMENT))
    problems.push(`comment must be text of at most ${MAX_COMMENT} characters`);
  if (!['api', 'slack', 'jira'].includes(answer.via)) problems.push('via must be api, slack or jira');
  if (problems.length > 0) throw refuse(RUN_REFUSALS.invalid, problems.join('; '));
}

/** The notices' activity. */
function notices() {
  return proxyActivities<InternalActivities>({ startToCloseTimeout: '1m', retry: NOTICE_RETRY });
}
