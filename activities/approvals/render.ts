/**
 * What the approval notices say, as Slack messages (mrkdwn text plus Block Kit) and Jira comments (Atlassian
 * Document Format). Pure functions of the {@link ApprovalNoticeInput}: everything user-supplied (title, names,
 * comments) is shown as text, never as markup.
 */
import type { ApprovalNoticeInput, ApprovalView, RecordedAnswer } from '../../common/run-control';
import { buttonValue, SLACK_USER_ID } from './slack-buttons';

/** A Jira Cloud account id (24 hex digits, or `<number>:<uuid>`): mentioned in Jira comments. */
const JIRA_ACCOUNT_ID = /^(?:[0-9a-f]{24}|\d{1,10}:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$/;

/** How much of a title and of a comment a notice shows; Slack's section text is limited to 3,000 characters. */
const MAX_TITLE_CHARS = 300;
const MAX_COMMENT_CHARS = 300;
const MAX_SECTION_CHARS = 3_000;

/** A Slack message: the mrkdwn `text` (the whole message, or the notification fallback of `blocks`). */
export interface SlackMessage {
  readonly text: string;
  readonly blocks?: readonly SlackBlock[];
}

/** One Block Kit block. */
export interface SlackBlock {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Escapes text for Slack mrkdwn so it renders as itself: no links, mentions (`<!channel>`) or entities. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The request message: what is asked, of whom, until when, with Approve and Reject buttons. */
export function slackRequest(input: ApprovalNoticeInput): SlackMessage {
  const { approval } = input;
  const title = escapeMrkdwn(clip(approval.title, MAX_TITLE_CHARS));
  const value = buttonValue(input.workflowId, approval.stepId);
  const answerHow = value
    ? []
    : [context(`Answer with POST /api/runs/${escapeMrkdwn(input.workflowId)}/approvals/${approval.stepId}`)];
  return {
    text: `Approval needed: ${title} (${escapeMrkdwn(input.definition)})`,
    blocks: [
      section(`:raised_hand: *Approval needed:* ${title}`),
      context(runLine(input)),
      section(
        `*Approvers* (${approval.required} of ${approval.approvers.length} needed): ` +
          namesWithin(approval.approvers.map(slackName), MAX_NAMES_CHARS),
      ),
      context(`Times out ${slackDate(approval.timesOutAt)}${approval.forbidSelfApproval ? ' · no self-approval' : ''}`),
      ...(value
        ? [
            {
              type: 'actions',
              block_id: 'flow_approval',
              elements: [
                button('flow_approve', 'Approve', 'primary', value),
                button('flow_reject', 'Reject', 'danger', value),
              ],
            },
          ]
        : answerHow),
    ],
  };
}

/** A reminder in the request's thread, mentioning the approvers who have not answered. */
export function slackReminder(input: ApprovalNoticeInput): SlackMessage {
  const { approval } = input;
  const title = escapeMrkdwn(clip(approval.title, MAX_TITLE_CHARS));
  const waitingFor = namesWithin(pendingApprovers(approval).map(slackName), MAX_NAMES_CHARS) || 'more approvers';
  return {
    text:
      `:bell: Reminder: *${title}* is still waiting for ${waitingFor} ` +
      `(${approvalsSoFar(approval)} of ${approval.required} approvals so far; times out ${slackDate(approval.timesOutAt)}).`,
  };
}

/** The outcome, which replaces the request message (so its buttons disappear): the decision, by whom, and comments. */
export function slackOutcome(input: ApprovalNoticeInput): SlackMessage {
  const { approval } = input;
  const title = escapeMrkdwn(clip(approval.title, MAX_TITLE_CHARS));
  const { emoji, word } = OUTCOMES[approval.status];
  const deciders = decidedBy(approval);
  const byWhom = deciders.length > 0 ? ` by ${deciders.map(slackName).join(', ')}` : '';
  const answers = approval.answers.map(
    (answer) =>
      `• ${slackName(answer.by)} ${answer.decision} via ${answer.via}, ${slackDate(answer.at)}` +
      (answer.comment ? `: “${escapeMrkdwn(clip(oneLine(answer.comment), MAX_COMMENT_CHARS))}”` : ''),
  );
  return {
    text: `${word}${byWhom}: ${title} (${escapeMrkdwn(input.definition)})`,
    blocks: [
      section(`${emoji} *${word}${byWhom}:* ${title}`),
      context(runLine(input)),
      ...(answers.length > 0 ? [section(fitLines(answers, MAX_SECTION_CHARS))] : []),
      context(`${word} ${slackDate(approval.decidedAt ?? new Date().toISOString())}`),
    ],
  };
}

/** The Jira comment of a notice: plain text nodes (never markup), with Jira account ids as mentions. */
export function jiraNotice(input: ApprovalNoticeInput): AdfDocument {
  const { approval } = input;
  const title = clip(approval.title, MAX_TITLE_CHARS);
  const run = text(`Flow run ${input.workflowId} of ${input.definition}, step ${approval.stepId}.`);
  switch (input.kind) {
    case 'requested':
      return doc(
        paragraph(strong('Approval needed: '), text(title)),
        paragraph(run),
        paragraph(
          text(`${approval.required} of these approvers must approve: `),
          ...jiraNames(approval.approvers),
          text(`. Times out ${approval.timesOutAt}.`),
        ),
        paragraph(text(howToAnswerOnJira(input))),
      );
    case 'reminder':
      return doc(
        paragraph(strong('Reminder, approval still needed: '), text(title)),
        paragraph(run),
        paragraph(
          text('Waiting for '),
          ...jiraNames(pendingApprovers(approval)),
          text(
            ` (${approvalsSoFar(approval)} of ${approval.required} approvals so far). Times out ${approval.timesOutAt}.`,
          ),
        ),
      );
    case 'decided': {
      const { word } = OUTCOMES[approval.status];
      const deciders = decidedBy(approval);
      return doc(
        paragraph(strong(`${word}${deciders.length > 0 ? ' by ' : ''}`), ...jiraNames(deciders), text(`: ${title}`)),
        paragraph(run),
        ...(approval.answers.length > 0
          ? [{ type: 'bulletList', content: approval.answers.map((answer) => listItem(...jiraAnswer(answer))) }]
          : []),
      );
    }
  }
}

/** How each outcome is named and marked. */
const OUTCOMES: Readonly<Record<ApprovalView['status'], { readonly emoji: string; readonly word: string }>> = {
  approved: { emoji: ':white_check_mark:', word: 'Approved' },
  rejected: { emoji: ':x:', word: 'Rejected' },
  timed_out: { emoji: ':hourglass:', word: 'Timed out' },
  pending: { emoji: ':raised_hand:', word: 'Pending' },
};

/**
 * Slack refuses a section over 3,000 characters, and a request to a large group would then not be posted at all: the
 * names are listed up to this many characters, and the rest counted.
 */
const MAX_NAMES_CHARS = 2_000;

/** `a, b, c` or, past `limit` characters, `a, b and 40 more`. */
export function namesWithin(names: readonly string[], limit: number): string {
  const shown: string[] = [];
  let length = 0;
  for (const name of names) {
    if (length + name.length + 2 > limit) break;
    shown.push(name);
    length += name.length + 2;
  }
  const rest = names.length - shown.length;
  return rest === 0 ? shown.join(', ') : `${shown.join(', ')} and ${rest} more`;
}

/** The approvers who have not answered yet. */
function pendingApprovers(approval: ApprovalView): string[] {
  const answered = new Set(approval.answers.map((answer) => answer.by));
  return approval.approvers.filter((approver) => !answered.has(approver));
}

function approvalsSoFar(approval: ApprovalView): number {
  return approval.answers.filter((answer) => answer.decision === 'approved').length;
}

/** Who made the decision: the approvers for an approval, the rejecters for a rejection, nobody for a timeout. */
function decidedBy(approval: ApprovalView): string[] {
  const decision = approval.status === 'approved' || approval.status === 'rejected' ? approval.status : undefined;
  return approval.answers.filter((answer) => answer.decision === decision).map((answer) => answer.by);
}

function runLine(input: ApprovalNoticeInput): string {
  return `Run \`${escapeMrkdwn(input.workflowId)}\` of *${escapeMrkdwn(input.definition)}* · step \`${input.approval.stepId}\``;
}

/** An approver as Slack shows it: a mention for a Slack user id, the escaped name otherwise. */
function slackName(approver: string): string {
  return SLACK_USER_ID.test(approver) ? `<@${approver}>` : escapeMrkdwn(approver);
}

/** A timestamp Slack shows in each reader's time zone, with the ISO time as the fallback. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${new Date(ms).toISOString()}>`;
}

function section(mrkdwn: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: mrkdwn } };
}

function context(mrkdwn: string): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwn }] };
}

function button(actionId: string, label: string, style: 'primary' | 'danger', value: string): Record<string, unknown> {
  return { type: 'button', action_id: actionId, text: { type: 'plain_text', text: label }, style, value };
}

/** Joins lines up to `max` characters; what does not fit is counted in a last line. */
function fitLines(lines: readonly string[], max: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const [index, line] of lines.entries()) {
    const rest = lines.length - index;
    const more = `… and ${rest} more`;
    if (length + line.length + 1 + (rest > 1 ? more.length + 1 : 0) > max) {
      kept.push(more);
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join('\n');
}

/** Cuts text to `max` characters (before escaping, so an entity is never cut in half). */
function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** How to answer, for the Jira comment: the transitions when the step names them, and the API. */
function howToAnswerOnJira(input: ApprovalNoticeInput): string {
  const notify = input.approval.notify;
  const transitions = [
    ...(notify?.approve_transition ? [`to "${notify.approve_transition}" to approve`] : []),
    ...(notify?.reject_transition ? [`to "${notify.reject_transition}" to reject`] : []),
  ];
  const api = `POST /api/runs/${input.workflowId}/approvals/${input.approval.stepId}`;
  return transitions.length > 0
    ? `To answer, transition this issue ${transitions.join(' or ')}, or use ${api}.`
    : `To answer, use ${api}.`;
}

/** An Atlassian Document, the body Jira Cloud's REST API v3 takes for a comment. */
export interface AdfDocument {
  readonly type: 'doc';
  readonly version: 1;
  readonly content: AdfNode[];
}

/** One node of an Atlassian Document. */
export interface AdfNode {
  readonly type: string;
  readonly text?: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly marks?: { readonly type: string }[];
  readonly content?: AdfNode[];
}

function doc(...content: AdfNode[]): AdfDocument {
  return { type: 'doc', version: 1, content };
}

function paragraph(...content: AdfNode[]): AdfNode {
  return { type: 'paragraph', content: content.filter((node) => node.type !== 'text' || node.text !== '') };
}

function listItem(...content: AdfNode[]): AdfNode {
  return { type: 'listItem', content: [paragraph(...content)] };
}

function text(value: string): AdfNode {
  return { type: 'text', text: value };
}

function strong(value: string): AdfNode {
  return { type: 'text', text: value, marks: [{ type: 'strong' }] };
}

/** Approvers for Jira: account ids as mentions, anyone else by name, separated by commas. */
function jiraNames(approvers: readonly string[]): AdfNode[] {
  return approvers.flatMap((approver, index) => [
    ...(index > 0 ? [text(', ')] : []),
    JIRA_ACCOUNT_ID.test(approver) ? { type: 'mention', attrs: { id: approver } } : text(approver),
  ]);
}

function jiraAnswer(answer: RecordedAnswer): AdfNode[] {
  return [
    ...jiraNames([answer.by]),
    text(` ${answer.decision} via ${answer.via} at ${answer.at}`),
    ...(answer.comment ? [text(`: “${clip(oneLine(answer.comment), MAX_COMMENT_CHARS)}”`)] : []),
  ];
}
