import { z } from 'zod';
import type { Version3Client } from 'jira.js';
import { stepDelivery } from '../clients/delivery';
import { callJira, issueKey, JIRA_ENV, jiraClient, readJira } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.comment';

/** The comment property (Jira entity property) that holds `{delivery: "<workflowId>/<stepId>"}`. */
export const DELIVERY_PROPERTY = 'flow.delivery';

/** How many of the issue's most recent comments an attempt looks through for its own: pages of 100. */
export const LOOK_BACK_COMMENTS = 500;
const COMMENT_PAGE = 100;

/** Jira's limit on the length of a comment. */
const MAX_COMMENT_CHARS = 32_767;

/** Comments on a Jira issue with plain text, one paragraph per line. */
export const jiraComment = defineAction({
  id: ID,
  guarantee: {
    level: 'at-least-once-with-dedupe',
    explanation:
      'Each comment carries the entity property `flow.delivery` = `{delivery: "<run>/<step>"}`, and every attempt first looks for a comment with it among the issue\'s 500 most recent comments, returning that one instead of posting again. A comment pushed further back than that by 500 newer ones is not found.',
  },
  env: JIRA_ENV,
  description:
    'Adds a comment to a Jira issue. The text is plain: each line becomes one paragraph of the Atlassian Document ' +
    'Format body Jira Cloud expects, and nothing in it is interpreted as markup. Returns the new comment id. ' +
    'Needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN in the worker environment. The comment carries the property ' +
    `\`${DELIVERY_PROPERTY}\` = \`{delivery: "<workflow id>/<step id>"}\`; before posting, each attempt looks for a comment ` +
    'with it on the issue and returns that one instead of posting again.',
  input: z.strictObject({
    issue: issueKey,
    text: z
      .string()
      .max(MAX_COMMENT_CHARS)
      .refine((text) => text.trim() !== '', 'must not be empty'),
  }),
  output: z.object({ issue: z.string(), comment_id: z.string() }),
  defaults: { timeout: '1m', execution: 'local' },
  examples: [
    {
      title: 'Note the release on its ticket',
      with: {
        issue: '${{ event.issue }}',
        text: 'Released ${{ vars.version }} to production.\nBuild: ${{ steps.build.output.url }}',
      },
    },
  ],
  async run(input, { deps, step, signal }) {
    const jira = jiraClient(deps.env, ID, signal);
    const delivery = stepDelivery(step);
    // Every attempt looks: a reset run or an earlier attempt whose answer was lost may have commented already.
    const existing = await findDeliveredComment(jira, input.issue, delivery);
    if (existing !== undefined) return { issue: input.issue, comment_id: existing };
    const created = await callJira(ID, `comment on ${input.issue}`, () =>
      jira.issueComments.addComment({
        issueIdOrKey: input.issue,
        comment: adfParagraphs(input.text),
        properties: [{ key: DELIVERY_PROPERTY, value: { delivery } }],
      }),
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

const commentPage = z.object({
  comments: z
    .array(
      z.object({
        id: z.string(),
        properties: z.array(z.object({ key: z.string().optional(), value: z.unknown() })).optional(),
      }),
    )
    .default([]),
  total: z.number().optional(),
});

const commentList = z.object({ values: commentPage.shape.comments });

/** Whether a comment has the property {@link DELIVERY_PROPERTY} with this delivery id. */
function carries(comment: z.output<typeof commentPage>['comments'][number], delivery: string): boolean {
  return (comment.properties ?? []).some(
    (property) =>
      property.key === DELIVERY_PROPERTY &&
      typeof property.value === 'object' &&
      property.value !== null &&
      (property.value as Record<string, unknown>)['delivery'] === delivery,
  );
}

/**
 * The id of the comment carrying `delivery` among the issue's {@link LOOK_BACK_COMMENTS} most recent comments (newest
 * first, with their properties: `expand=properties`), or undefined.
 */
async function findDeliveredComment(
  jira: Version3Client,
  issue: string,
  delivery: string,
): Promise<string | undefined> {
  const what = `read the comments of ${issue}`;
  for (let startAt = 0; startAt < LOOK_BACK_COMMENTS; startAt += COMMENT_PAGE) {
    const body = await callJira(ID, what, () =>
      jira.issueComments.getComments({
        issueIdOrKey: issue,
        startAt,
        maxResults: COMMENT_PAGE,
        orderBy: '-created',
        expand: 'properties',
      }),
    );
    const page = readJira(ID, what, commentPage, body);
    // Jira Cloud documents `expand=properties` for comment/list only: comments that came without their properties
    // are read again there.
    const bare = page.comments.filter((comment) => comment.properties === undefined).map(({ id }) => Number(id));
    const withProperties =
      bare.length === 0
        ? page.comments
        : [
            ...page.comments.filter((comment) => comment.properties !== undefined),
            ...readJira(
              ID,
              what,
              commentList,
              await callJira(ID, what, () => jira.issueComments.getCommentsByIds({ ids: bare, expand: 'properties' })),
            ).values,
          ];
    const found = withProperties.find((comment) => carries(comment, delivery));
    if (found) return found.id;
    if (page.comments.length < COMMENT_PAGE || (page.total !== undefined && startAt + COMMENT_PAGE >= page.total))
      return undefined;
  }
  return undefined;
}
