import type { Version3Client } from 'jira.js';
import { z } from 'zod';
import type { ApprovalNoticeInput } from '../../common/run-control';
import { callJira, readJira } from '../clients/jira';
import { jiraNotice } from './render';

/**
 * Comments one notice on the approval's Jira issue: the request (with how to answer there), a reminder mentioning
 * the approvers who have not answered, or the outcome. Returns the new comment's id.
 */
export async function commentJiraNotice(
  jira: Version3Client,
  action: string,
  issue: string,
  input: ApprovalNoticeInput,
): Promise<string> {
  const what = `comment the approval's ${input.kind === 'decided' ? 'outcome' : input.kind} on ${issue}`;
  const created = await callJira(action, what, () =>
    jira.issueComments.addComment({ issueIdOrKey: issue, comment: jiraNotice(input) }),
  );
  return readJira(action, what, z.object({ id: z.string() }), created).id;
}
