import { z } from 'zod';
import { callJira, JIRA_ENV, jiraClient, jiraStatus, readJira } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.search';

/** Issues asked for per request; Jira returns fewer when it wants to, and says so with `nextPageToken`. */
const PAGE_SIZE = 100;

const searchPage = z.object({
  issues: z
    .array(z.object({ key: z.string(), fields: z.object({ summary: z.string(), status: jiraStatus }) }))
    .default([]),
  nextPageToken: z.string().nullish(),
});

/** Finds Jira issues with JQL. */
export const jiraSearch = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Only reads from Jira; no side effect.',
  },
  env: JIRA_ENV,
  description:
    'Searches Jira with a JQL query and returns up to max_results issues (default 50, at most 1000) as ' +
    '{key, summary, status}, plus their count, reading as many pages as needed. Jira Cloud only runs bounded ' +
    'queries: the JQL needs a restriction such as a project or fix version, not just an ORDER BY. ' +
    'Needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN in the worker environment.',
  input: z.strictObject({
    jql: z
      .string()
      .trim()
      .min(1)
      .max(10_000)
      .refine((jql) => !jql.startsWith('-'), 'must be a JQL query such as project = REL'),
    max_results: z.int().min(1).max(1000).default(50),
  }),
  output: z.object({
    issues: z.array(z.object({ key: z.string(), summary: z.string(), status: z.string() })),
    count: z.int(),
  }),
  defaults: { timeout: '5m', heartbeat: '1m' },
  examples: [
    {
      title: 'Issues fixed in the release',
      with: { jql: 'project = APP AND fixVersion = "${{ vars.version }}" ORDER BY key', max_results: 500 },
    },
  ],
  async run(input, context) {
    const { deps, signal } = context;
    const jira = jiraClient(deps.env, ID, signal);
    const issues: { key: string; summary: string; status: string }[] = [];
    let nextPageToken: string | undefined;
    do {
      const answer = await callJira(ID, 'search issues', () =>
        jira.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
          jql: input.jql,
          maxResults: Math.min(PAGE_SIZE, input.max_results - issues.length),
          fields: ['summary', 'status'],
          ...(nextPageToken ? { nextPageToken } : {}),
        }),
      );
      const page = readJira(ID, 'search issues', searchPage, answer);
      for (const issue of page.issues.slice(0, input.max_results - issues.length)) {
        issues.push({ key: issue.key, summary: issue.fields.summary, status: issue.fields.status.name });
      }
      // An empty page that still offers a token would otherwise loop for ever.
      nextPageToken = page.issues.length > 0 ? (page.nextPageToken ?? undefined) : undefined;
      context.heartbeat({ fetched: issues.length });
    } while (nextPageToken && issues.length < input.max_results);
    return { issues, count: issues.length };
  },
});
