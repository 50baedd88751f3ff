import { z } from 'zod';
import { callJira, issueKey, JIRA_ENV, jiraClient, readJira } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.comment';

/** Jira's limit on the length of a comment. */
const MAX_COMMENT_CHARS = 32_767;

/** Comments on a Jira issue with plain text, one paragraph per line. */
export const jiraComment = defineAction({
  id: ID,
  env: JIRA_ENV,
  description:
    'Adds a comment to a Jira issue. The text is plain: each line becomes one paragraph of the Atlassian Document ' +
    'Format body Jira Cloud expects, and nothing in it is interpreted as markup. Returns the new comment id. ' +
    'Needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN in the worker environment.',
  input: z.strictObject({
    issue: issueKey,
    text: z
      .string()
      .max(MAX_COMMENT_CHARS)
      .refine((text) => text.trim() !== '', 'must not be empty'),
  }),
  output: z.object({ issue: z.string(), comment_id: z.string() }),
  defaults: { timeout: '1m' },
  examples: [
    {
      title: 'Note the release on its ticket',
      with: {
        issue: '${{ event.issue }}',
        text: 'Released ${{ vars.version }} to production.\nBuild: ${{ steps.build.output.url }}',
      },
    },
  ],
  async run(input, { deps, signal }) {
    const jira = jiraClient(deps.env, ID, signal);
    const created = await callJira(ID, `comment on ${input.issue}`, () =>
      jira.issueComments.addComment({ issueIdOrKey: input.issue, comment: adfParagraphs(input.text) }),
    );
    const { id } = readJira(ID, `comment on ${input.issue}`, z.object({ id: z.string() }), created);
    return { issue: input.issue, comment_id: id };
  },
});

/** An Atlassian Document with one paragraph per line; blank lines become empty paragraphs (ADF forbids empty text). */
function adfParagraphs(text: string) {
  const lines = text.replace(/\s+$/, '').split(/\r\n|\r|\n/);
  return {
    type: 'doc' as const,
    version: 1,
    content: lines.map((line) => ({
      type: 'paragraph' as const,
      content: line === '' ? [] : [{ type: 'text' as const, text: line }],
    })),
  };
}
