/**
 * What waits for my approval: the pending approvals of running runs that list the signed-in actor as an approver
 * and that they have not answered (`GET /api/approvals?for=me`), each with approve and reject and a comment. The run
 * decides whether an answer counts; a refusal (not an approver, the run's own actor, already answered, already
 * decided) is shown in its words.
 */
import { session } from '../api';
import { editButton } from '../controls';
import { h, replace, uniqueId, type Child } from '../dom';
import { answerApproval, approvalsForMe, type ApprovalView, type WaitingApprovals } from '../operations-api';
import { noticeArea, refreshButton, refusalText, type Notice } from '../views/confirmation';
import { runHref, runLink, runOrigin } from '../views/run-values';
import { factTable, time } from '../views/tables';
import type { Page } from './page';
import { answersTable } from './runs';

/** The longest comment the API takes. */
const MAX_COMMENT = 2_000;

/** `/ui/approvals`. */
export const approvalsPage: Page = async () => {
  const notice = noticeArea();
  const list = h('div', { class: 'approvals' });
  const draw = async (): Promise<void> => replace(list, waitingView(await approvalsForMe(), notice));
  await draw();
  const me = session()?.actor ?? 'you';
  return {
    title: 'Approvals',
    content: [
      h('h1', null, 'Approvals'),
      h(
        'p',
        { class: 'lead' },
        `What waits for your approval: the pending approvals of running runs that list ${me} as an approver and that ${me} has not answered yet.`,
      ),
      refreshButton(notice, 'Reading the approvals', draw),
      notice.element,
      list,
    ],
  };
};

function waitingView(waiting: WaitingApprovals, notice: Notice): Child {
  return [
    waiting.truncated
      ? h(
          'p',
          { class: 'warning' },
          `More than ${waiting.runs} runs are running; only the newest ${waiting.runs} were asked, so older ones that wait for you are not listed.`,
        )
      : null,
    waiting.unavailable.length > 0
      ? h(
          'details',
          { class: 'warning' },
          h(
            'summary',
            null,
            `${waiting.unavailable.length} running run${waiting.unavailable.length === 1 ? '' : 's'} could not be asked, so an approval of theirs may be missing`,
          ),
          h(
            'ul',
            null,
            waiting.unavailable.map((run) => h('li', null, runLink(run.workflowId), `: ${run.reason}`)),
          ),
        )
      : null,
    waiting.items.length === 0
      ? h('p', { class: 'none' }, 'Nothing waits for your approval.')
      : waiting.items.map((item) => waitingApproval(item, notice)),
  ];
}

function waitingApproval(item: WaitingApprovals['items'][number], notice: Notice): HTMLElement {
  const { approval, workflowId } = item;
  const headingId = uniqueId('waiting');
  const approved = approval.answers.filter((answer) => answer.decision === 'approved').length;
  return h(
    'article',
    { class: 'approval', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, approval.title),
    factTable(`Approval ${approval.stepId} of ${workflowId}`, [
      ['Run', runLink(workflowId)],
      ...runOrigin(item),
      ['Approvals', `${approved} of ${approval.required} needed`],
      ['Approvers', approval.approvers.join(', ')],
      ['Requested', time(approval.requestedAt)],
      ['Times out', time(approval.timesOutAt)],
    ]),
    answersTable(approval),
    answerForm(workflowId, approval, notice),
  );
}

function answerForm(workflowId: string, approval: ApprovalView, notice: Notice): HTMLElement {
  const commentId = uniqueId('comment');
  const comment = h('textarea', { id: commentId, name: 'comment', rows: 2, maxlength: MAX_COMMENT });
  const problem = h('p', { role: 'alert', class: 'form-error' });
  const who = session() ?? { scope: 'read' as const };
  const form = h('div', { class: 'answer' });
  const answer = (decision: 'approved' | 'rejected'): void => {
    for (const button of buttons) button.disabled = true;
    replace(problem);
    answerApproval(workflowId, approval.stepId, decision, comment.value)
      .then((after) => {
        const said = outcome(after, decision);
        notice.done(said);
        replace(
          form,
          h('p', { class: 'answered' }, said, ' ', h('a', { href: runHref(workflowId) }, `See run ${workflowId}`)),
        );
      })
      .catch((error: unknown) => {
        replace(problem, refusalText('Your answer', error));
        for (const button of buttons) button.disabled = false;
        comment.focus();
      });
  };
  const buttons = [
    editButton(who, 'Approve', () => answer('approved')),
    editButton(who, 'Reject', () => answer('rejected')),
  ];
  buttons[1]?.classList.add('secondary');
  replace(
    form,
    h('div', { class: 'field' }, h('label', { for: commentId }, 'Comment (optional)'), comment),
    h('p', { class: 'field-actions' }, buttons),
    problem,
  );
  return form;
}

/** What an answer did, as the approval stands after it. */
function outcome(after: ApprovalView, decision: 'approved' | 'rejected'): string {
  const title = `"${after.title}"`;
  if (after.status === 'approved') return `You approved ${title}: it is approved, and the run goes on.`;
  if (after.status === 'rejected') return `You rejected ${title}: it is rejected.`;
  const approved = after.answers.filter((answer) => answer.decision === 'approved').length;
  const needed = Math.max(after.required - approved, 0);
  return `Your ${decision === 'approved' ? 'approval' : 'answer'} of ${title} is recorded; ${needed} more approval${needed === 1 ? ' is' : 's are'} needed.`;
}
