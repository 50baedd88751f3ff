import { z } from 'zod';
import { callJira, issueKey, JIRA_ENV, jiraClient } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.link_issues';

/** Progress an attempt records, so a retry after a worker restart skips the links already made. */
const progress = z.object({ issue: z.string(), linked: z.array(z.string()) });

/** Links one Jira issue to many others with one link type. */
export const jiraLinkIssues = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Idempotent: Jira does not duplicate an existing link.',
  },
  env: JIRA_ENV,
  description:
    'Links a Jira issue to each of up to 200 other issues with one issue link type (by name, default "Relates"). ' +
    'The issue is the source of every link: with "Blocks" it blocks each listed issue. Duplicate keys and the issue ' +
    'itself are skipped, and Jira does not duplicate an existing link, so retries are safe. Needs JIRA_URL, ' +
    'JIRA_EMAIL and JIRA_API_TOKEN in the worker environment.',
  input: z.strictObject({
    issue: issueKey,
    links_to: z.array(issueKey).max(200),
    link_type: z
      .string()
      .max(255)
      .regex(/^[\p{L}\p{N}][\p{L}\p{N} _.,'&()/-]*$/u, 'must be an issue link type name such as Relates or Blocks')
      .default('Relates'),
  }),
  output: z.object({ issue: z.string(), linked: z.array(z.string()) }),
  defaults: { timeout: '10m', heartbeat: '1m' },
  examples: [
    {
      title: 'Link the release ticket to the issues it ships',
      with: { issue: '${{ event.issue }}', links_to: '${{ steps.fixed.output.keys }}' },
    },
    { title: 'Record blockers', with: { issue: 'REL-42', links_to: ['APP-7', 'APP-9'], link_type: 'Blocks' } },
  ],
  async run(input, context) {
    const { deps, signal, lastHeartbeat } = context;
    const jira = jiraClient(deps.env, ID, signal);
    const targets = [...new Set(input.links_to)].filter((key) => key !== input.issue);
    const previous = progress.safeParse(lastHeartbeat);
    const done = new Set(previous.success && previous.data.issue === input.issue ? previous.data.linked : []);
    const linked = targets.filter((key) => done.has(key));
    for (const key of targets) {
      if (done.has(key)) continue;
      // Jira creates the link from inwardIssue to outwardIssue: inwardIssue gets the outward description ("blocks").
      await callJira(ID, `link ${input.issue} to ${key} ("${input.link_type}")`, () =>
        jira.issueLinks.linkIssues({
          type: { name: input.link_type },
          inwardIssue: { key: input.issue },
          outwardIssue: { key },
        }),
      );
      linked.push(key);
      context.heartbeat({ issue: input.issue, linked: [...linked] });
    }
    return { issue: input.issue, linked: targets };
  },
});
