import { z } from 'zod';
import {
  APPROVAL_ON_REJECT,
  APPROVAL_ON_TIMEOUT,
  DEFAULT_APPROVAL_TIMEOUT,
  SLEEP_DURATION,
  sleepTooLong,
} from '../../common/meta-actions';
import { GROUP_PREFIX, groupReference, groupReferenceProblem } from '../../common/approver-groups';
import { defineMetaAction } from '../define-action';

const duration = z
  .string()
  .regex(SLEEP_DURATION, 'must be a whole number and a unit: s, m, h or d (such as 4h)')
  .refine((value) => !sleepTooLong(value), 'must be at most 90d');

/** A Jira status name, as a transition's `to`. */
const jiraStatus = z.string().min(1).max(100);

/**
 * Waits for people to approve or reject; run by the interpreter itself (common/meta-actions.ts) with an update, timers
 * and, for Jira answers, an event wait. Its notices go out through the `approvalNotice` activity.
 */
export const flowApproval = defineMetaAction({
  id: 'flow.approval',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'The decision is taken once, in the workflow. The request and reminder notices it posts (Slack, Jira comment) are at least once: a worker that dies right after posting one can post it again.',
  },
  description:
    'Waits until `required` of `approvers` approve, one of them rejects, or `timeout` passes (default ' +
    `${DEFAULT_APPROVAL_TIMEOUT}, at most 90d). Approvers are API token names, Slack user ids, Jira account ids or ` +
    `emails, or \`${GROUP_PREFIX}<name>\` for the members of an approver group (PUT /api/groups/<name>) as they are ` +
    'when the approval opens; they answer with POST /api/runs/<run>/approvals/<step>, the Approve and Reject ' +
    'buttons of the Slack request (notify.slack_channel), or a transition of notify.jira_issue to ' +
    'notify.approve_transition or notify.reject_transition. Whoever started the run cannot approve unless ' +
    'forbid_self_approval is false. remind_every reminds the pending approvers. Returns {decision: ' +
    'approved|rejected|timed_out, approved, by, comment, at}. A rejection fails the run with ApprovalRejected unless ' +
    'on_reject: continue; on_timeout says whether a timeout rejects (default), approves, or fails the run with ' +
    'ApprovalTimedOut. See docs/approvals.md.',
  input: z
    .strictObject({
      title: z.string().min(1).max(300),
      approvers: z.array(z.string().min(1).max(200)).min(1, 'needs at least one approver').max(50),
      required: z.int().min(1).max(50).default(1),
      forbid_self_approval: z.boolean().default(true),
      remind_every: duration.optional(),
      timeout: duration.default(DEFAULT_APPROVAL_TIMEOUT),
      on_timeout: z.enum(APPROVAL_ON_TIMEOUT).default('reject'),
      on_reject: z.enum(APPROVAL_ON_REJECT).default('fail'),
      notify: z
        .strictObject({
          slack_channel: z.string().min(1).max(200).optional(),
          jira_issue: z.string().min(1).max(100).optional(),
          approve_transition: jiraStatus.optional(),
          reject_transition: jiraStatus.optional(),
        })
        .optional(),
    })
    .superRefine((input, context) => {
      input.approvers.forEach((approver, index) => {
        const problem = groupReferenceProblem(approver);
        if (problem !== undefined) context.addIssue({ code: 'custom', path: ['approvers', index], message: problem });
      });
      // A group's members are only known when the approval opens; `required` is checked against them then.
      const listsGroups = input.approvers.some((approver) => groupReference(approver) !== undefined);
      if (!listsGroups && input.required > new Set(input.approvers).size)
        context.addIssue({
          code: 'custom',
          path: ['required'],
          message: `needs ${input.required} approvals but approvers lists ${new Set(input.approvers).size} distinct name(s)`,
        });
      const notify = input.notify;
      if (notify && (notify.approve_transition || notify.reject_transition) && !notify.jira_issue)
        context.addIssue({
          code: 'custom',
          path: ['notify', 'jira_issue'],
          message: 'is needed when approve_transition or reject_transition is set: transitions of this issue answer',
        });
    }),
  output: z.object({
    decision: z.enum(['approved', 'rejected', 'timed_out']),
    approved: z.boolean(),
    by: z.array(z.string()),
    comment: z.string().optional(),
    at: z.string(),
  }),
  examples: [
    {
      title: 'Ask a release manager before going live, in Slack and on the Jira ticket',
      with: {
        title: 'Release ${{ vars.version }} to production?',
        approvers: ['alice', 'bob'],
        remind_every: '4h',
        timeout: '3d',
        notify: {
          slack_channel: '#releases',
          jira_issue: '${{ event.issue }}',
          approve_transition: 'Approved',
          reject_transition: 'Rejected',
        },
      },
    },
    {
      title: 'Two of three sign-offs; go on without deploying when rejected',
      with: {
        title: 'Deploy the schema change?',
        approvers: ['alice', 'bob', 'carol'],
        required: 2,
        on_reject: 'continue',
      },
    },
  ],
});
