import { z } from 'zod';
import { callJira, issueKey, JIRA_ENV, jiraClient, jiraStatus, readJira } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.get_issue';

/** The fields every answer carries; `fields` in the input adds to them. */
const BASE_FIELDS = ['summary', 'status', 'fixVersions', 'assignee', 'labels'] as const;

const issueBody = z.object({
  key: z.string(),
  fields: z.looseObject({
    summary: z.string(),
    status: jiraStatus,
    fixVersions: z.array(z.object({ name: z.string() })).nullish(),
    assignee: z.object({ accountId: z.string() }).nullish(),
    labels: z.array(z.string()).nullish(),
  }),
});

/** Reads one Jira issue: summary, status, fix versions, assignee and labels, plus any fields asked for. */
export const jiraGetIssue = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Only reads from Jira; no side effect.',
  },
  env: JIRA_ENV,
  description:
    'Reads a Jira issue and returns its key, summary, status name, fix version names, assignee account id (absent ' +
    'when unassigned) and labels. Field ids listed in `fields` (such as customfield_10010) are read as well and ' +
    'returned as Jira sends them under `fields`. Needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN in the worker environment.',
  input: z.strictObject({
    issue: issueKey,
    fields: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,99}$/, 'must be a Jira field id such as customfield_10010'))
      .max(50)
      .optional(),
  }),
  output: z.object({
    key: z.string(),
    summary: z.string(),
    status: z.string(),
    fix_versions: z.array(z.string()),
    assignee: z.string().optional(),
    labels: z.array(z.string()),
    /** The extra fields asked for, by field id; a field the issue lacks is null. Present only when asked for. */
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  defaults: { timeout: '1m', execution: 'local' },
  examples: [
    { title: 'Read the issue that triggered the run', with: { issue: '${{ event.issue }}' } },
    { title: 'Read a custom field too', with: { issue: 'REL-42', fields: ['customfield_10010'] } },
  ],
  async run(input, { deps, signal }) {
    const jira = jiraClient(deps.env, ID, signal);
    const extra = [...new Set(input.fields ?? [])];
    const answer = await callJira(ID, `read ${input.issue}`, () =>
      jira.issues.getIssue({ issueIdOrKey: input.issue, fields: [...new Set([...BASE_FIELDS, ...extra])] }),
    );
    const issue = readJira(ID, `read ${input.issue}`, issueBody, answer);
    const fields = issue.fields as Record<string, unknown>;
    return {
      key: issue.key,
      summary: issue.fields.summary,
      status: issue.fields.status.name,
      fix_versions: (issue.fields.fixVersions ?? []).map((version) => version.name),
      ...(issue.fields.assignee ? { assignee: issue.fields.assignee.accountId } : {}),
      labels: issue.fields.labels ?? [],
      ...(input.fields ? { fields: Object.fromEntries(extra.map((id) => [id, fields[id] ?? null])) } : {}),
    };
  },
});
