import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { branchName, refName, repositoryGuard, repositoryUrl } from '../git/inputs';
import { withMirror, workspaceOptions } from '../git/workspace';

/** Creates a branch on the remote at the commit of another ref; a retry that finds it already there succeeds. */
export const gitCreateBranch = defineAction({
  id: 'git.create_branch',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Idempotent: a retry finds the branch at the commit the earlier attempt pushed and succeeds without pushing again.',
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    'Creates a branch in a remote git repository at the commit another ref (branch, tag or commit id; default ' +
    'develop) points to, by pushing that commit from the worker’s cached mirror. If the branch already exists at ' +
    'that commit the step succeeds (so retries are safe); if it exists at another commit the step fails without ' +
    'retrying, unless force is true, which moves it. Uses the worker’s own git credentials.',
  input: z.strictObject({
    repository: repositoryUrl,
    branch: branchName,
    from: refName.default('develop'),
    force: z.boolean().default(false),
  }),
  output: z.object({ branch: z.string(), commit: z.string(), created: z.boolean() }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Cut a release branch from develop',
      with: {
        repository: 'git@git.example.com:shop/checkout.git',
        branch: 'release/${{ vars.version }}',
        from: 'develop',
      },
    },
  ],
  async run(input, context) {
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const from = await mirror.resolveOrFail(input.from, 'ref');
      const existing = await mirror.branch(input.branch);
      if (existing?.commit === from.commit) return { branch: input.branch, commit: from.commit, created: false };
      if (existing && !input.force) {
        throw ApplicationFailure.nonRetryable(
          `branch ${input.branch} already exists at ${existing.commit}, not at ${input.from} (${from.commit}); set force: true to move it`,
          'BranchExists',
          { branch: input.branch, existing: existing.commit, requested: from.commit },
        );
      }
      // The lease makes the push a compare-and-swap: it fails if someone else created or moved the branch meanwhile.
      const ref = `refs/heads/${input.branch}`;
      await mirror.push([`${from.commit}:${ref}`], [`${ref}:${existing?.commit ?? ''}`]);
      return { branch: input.branch, commit: from.commit, created: true };
    });
  },
});
