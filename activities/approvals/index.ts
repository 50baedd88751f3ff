/**
 * Approval notices: the request of an approval step, its reminders and its outcome, posted to the step's Slack
 * channel (with Approve and Reject buttons; the outcome edits the request) and commented on its Jira issue.
 */
import type { ApprovalNoticeInput, NoticeReceipt } from '../../common/run-control';
import type { ActionDeps } from '../deps';

/** Posts one approval notice; see {@link ApprovalNoticeInput}. */
export function approvalNotice(
  _deps: Pick<ActionDeps, 'env' | 'fetch'>,
  _input: ApprovalNoticeInput,
): Promise<NoticeReceipt> {
  return Promise.reject(new Error('approvalNotice is not built yet'));
}
