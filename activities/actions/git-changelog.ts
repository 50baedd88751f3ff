import semver from 'semver';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { refName, repositoryGuard, repositoryUrl, tagPrefix } from '../git/inputs';
import { compileTicketPattern, findTickets, MAX_SUBJECT_LENGTH, ticketPatternProblem } from '../git/ticket-pattern';
import { type Mirror, withMirror, workspaceOptions } from '../git/workspace';

const DEFAULT_TICKET_PATTERN = '[A-Z][A-Z0-9]+-\\d+';

const commit = z.object({
  sha: z.string(),
  subject: z.string(),
  author_name: z.string(),
  author_email: z.string(),
  tickets: z.array(z.string()),
});

const person = z.object({ name: z.string(), email: z.string() });

/** Lists the commits between two refs with the tickets their subjects mention and their authors. */
export const gitChangelog = defineAction({
  id: 'git.changelog',
  guarantee: {
    level: 'exactly-once',
    explanation: 'Only reads the repository; no side effect.',
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    'Lists the commits reachable from `to` (default: the default branch) but not from `from`, newest first, with ' +
    'the ticket keys each subject mentions (ticket_pattern, default like REL-12), plus the unique tickets and ' +
    'authors. Without `from`, it starts after the highest <tag_prefix><semver> tag reachable from `to` (other than ' +
    'a tag on `to` itself), or at the root commit when there is none. Merge commits are left out unless ' +
    'include_merges is true; at most max_commits commits are returned.',
  input: z.strictObject({
    repository: repositoryUrl,
    from: refName.optional(),
    to: refName.default('HEAD'),
    tag_prefix: tagPrefix.default('v'),
    ticket_pattern: z
      .string()
      .superRefine((pattern, context) => {
        const problem = ticketPatternProblem(pattern);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      })
      .default(DEFAULT_TICKET_PATTERN),
    max_commits: z.number().int().min(1).max(5000).default(500),
    include_merges: z.boolean().default(false),
  }),
  output: z.object({
    from: z.string().nullable(),
    to: z.string(),
    from_commit: z.string().nullable(),
    to_commit: z.string(),
    commits: z.array(commit),
    tickets: z.array(z.string()),
    authors: z.array(person),
    truncated: z.boolean(),
  }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Changes on the release branch since the last release tag',
      with: { repository: 'git@git.example.com:shop/checkout.git', to: 'release/${{ vars.version }}' },
    },
    {
      title: 'Changes between two tags, with custom ticket keys',
      with: {
        repository: 'https://git.example.com/shop/checkout.git',
        from: 'v1.3.0',
        to: 'v1.4.0',
        ticket_pattern: '(?:SHOP|PAY)-\\d+',
      },
    },
  ],
  async run(input, context) {
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const to = await mirror.resolveOrFail(input.to, 'ref');
      const from =
        input.from === undefined
          ? await latestReleaseTag(mirror, to.commit, input.tag_prefix)
          : { ...(await mirror.resolveOrFail(input.from, 'ref')), label: input.from };
      const output = await mirror.run([
        'log',
        `--format=%H%x00%an%x00%ae%x00%s%x00`,
        `--max-count=${input.max_commits + 1}`,
        ...(input.include_merges ? [] : ['--no-merges']),
        to.commit,
        ...(from ? [`^${from.commit}`] : []),
        '--',
      ]);
      const pattern = compileTicketPattern(input.ticket_pattern);
      const fields = output.split('\0');
      const commits: z.input<typeof commit>[] = [];
      for (let i = 0; i + 3 < fields.length; i += 4) {
        const subject = (fields[i + 3] ?? '').slice(0, MAX_SUBJECT_LENGTH);
        commits.push({
          sha: (fields[i] ?? '').trim(),
          author_name: fields[i + 1] ?? '',
          author_email: fields[i + 2] ?? '',
          subject,
          tickets: findTickets(pattern, subject),
        });
      }
      const truncated = commits.length > input.max_commits;
      if (truncated) commits.length = input.max_commits;
      const authors = new Map<string, { name: string; email: string }>();
      for (const { author_name: name, author_email: email } of commits) {
        const key = email.toLowerCase() || name;
        if (!authors.has(key)) authors.set(key, { name, email });
      }
      return {
        from: from?.label ?? null,
        to: input.to,
        from_commit: from?.commit ?? null,
        to_commit: to.commit,
        commits,
        tickets: [...new Set(commits.flatMap((entry) => entry.tickets))],
        authors: [...authors.values()],
        truncated,
      };
    });
  },
});

/** The highest `<prefix><semver>` tag whose commit is an ancestor of `commit` (but not `commit` itself). */
async function latestReleaseTag(
  mirror: Mirror,
  commit: string,
  prefix: string,
): Promise<{ label: string; commit: string } | undefined> {
  const output = await mirror.run(['for-each-ref', `--merged=${commit}`, '--format=%(refname:strip=2)', 'refs/tags']);
  let best: { label: string; commit: string; version: string } | undefined;
  for (const name of output.split('\n').filter(Boolean)) {
    if (!name.startsWith(prefix)) continue;
    const candidate = name.slice(prefix.length);
    if (semver.valid(candidate) !== candidate) continue;
    const target = await mirror.tag(name);
    if (!target || target.commit === commit) continue;
    if (!best || semver.gt(candidate, best.version)) best = { label: name, commit: target.commit, version: candidate };
  }
  return best && { label: best.label, commit: best.commit };
}
