import { z } from 'zod';
import { callJira, issueKey, JIRA_ENV, jiraClient } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.add_watchers';

/** An Atlassian account id, such as `5b10ac8d82e05b22cc7d4ef5` or `557058:f58131cb-b67d-43c7-b30d-6b58d40bd077`. */
const accountId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9:_-]{0,127}$/, 'must be an Atlassian account id such as 5b10ac8d82e05b22cc7d4ef5');

/** Progress an attempt records, so a retry after a worker restart skips the watchers already added. */
const progress = z.object({ issue: z.string(), added: z.array(z.string()) });

/** Adds watchers to a Jira issue by account id. */
export const jiraAddWatchers = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Idempotent: adding someone who already watches the issue changes nothing.',
  },
  env: JIRA_ENV,
  description:
    'Adds up to 100 users as watchers of a Jira issue, by Atlassian account id (`watchers`) or by email address ' +
    '(`emails`, such as the committers of a changelog; each is looked up with Jira user search). An email with no ' +
    'Jira user is reported in `unresolved` rather than failing the step. Duplicates are sent once; adding someone ' +
    'who already watches the issue succeeds, so retries are safe.',
  input: z.strictObject({
    issue: issueKey,
    watchers: z.array(accountId).max(100).default([]),
    // Committer addresses are whatever git recorded (`dev@laptop.local`, no-reply aliases), so any `x@y` is looked up.
    emails: z
      .array(
        z
          .string()
          .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
          .max(254),
      )
      .max(100)
      .default([]),
  }),
  output: z.object({ issue: z.string(), added: z.array(z.string()), unresolved: z.array(z.string()) }),
  defaults: { timeout: '5m', heartbeat: '1m' },
  examples: [
    {
      title: 'Let the release managers follow the ticket',
      with: { issue: '${{ event.issue }}', watchers: '${{ vars.release_managers }}' },
    },
    { title: 'Add one watcher', with: { issue: 'REL-42', watchers: ['5b10ac8d82e05b22cc7d4ef5'] } },
    {
      title: 'Let everyone who committed to the release watch it',
      with: { issue: '${{ event.issue }}', emails: '${{ steps.changelog.output.authors.map(a, a.email) }}' },
    },
  ],
  async run(input, context) {
    const { deps, signal, lastHeartbeat } = context;
    const jira = jiraClient(deps.env, ID, signal);
    const unresolved: string[] = [];
    const resolved: string[] = [];
    for (const email of [...new Set(input.emails.map((address) => address.toLowerCase()))]) {
      const users = await callJira(ID, `look up the Jira user ${email}`, () =>
        jira.userSearch.findUsers({ query: email, maxResults: 10 }),
      );
      const match = (Array.isArray(users) ? users : []).find(
        (user) => user.emailAddress?.toLowerCase() === email && user.accountId,
      );
      if (match?.accountId) resolved.push(match.accountId);
      else unresolved.push(email);
    }
    const watchers = [...new Set([...input.watchers, ...resolved])];
    const previous = progress.safeParse(lastHeartbeat);
    const done = new Set(previous.success && previous.data.issue === input.issue ? previous.data.added : []);
    const added = watchers.filter((watcher) => done.has(watcher));
    for (const watcher of watchers) {
      if (done.has(watcher)) continue;
      await callJira(ID, `add watcher ${watcher} to ${input.issue}`, () =>
        // The body is a bare JSON string. jira.js hands the value to axios, which sends a string that already parses
        // as JSON unchanged and would send an all-digit account id as a number; encoding it here avoids that.
        jira.issueWatchers.addWatcher({ issueIdOrKey: input.issue, accountId: JSON.stringify(watcher) }),
      );
      added.push(watcher);
      context.heartbeat({ issue: input.issue, added: [...added] });
    }
    return { issue: input.issue, added: watchers, unresolved };
  },
});
