import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { branchName, message, refName, repositoryGuard, repositoryUrl } from '../git/inputs';
import { type Mirror, withMirror, workspaceOptions } from '../git/workspace';

/** Merges a ref into a branch with a merge commit and pushes the branch; conflicts fail without retrying. */
export const gitMerge = defineAction({
  id: 'git.merge',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Idempotent: a retry finds the source already in the target (merged and pushed by the earlier attempt) and commits nothing (changed: false).',
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    'Merges source (a branch, tag or commit id) into the target branch with a merge commit (--no-ff), in this ' +
    'run’s own worktree, and pushes the target. If target already contains source, nothing is committed and the ' +
    'step succeeds (changed: false), so retries are safe. A conflict aborts the merge and fails the step without ' +
    'retrying (MergeConflict), naming the conflicting files. The committer is the worker’s GIT_AUTHOR_NAME / ' +
    'GIT_AUTHOR_EMAIL.',
  input: z.strictObject({
    repository: repositoryUrl,
    source: refName,
    target: branchName,
    message: message.optional(),
  }),
  output: z.object({
    target: z.string(),
    commit: z.string(),
    fast_forward: z.literal(false),
    changed: z.boolean(),
  }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Merge the release branch back into master',
      with: {
        repository: 'git@git.example.com:shop/checkout.git',
        source: 'release/${{ vars.version }}',
        target: 'master',
        message: 'Merge release ${{ vars.version }}',
      },
    },
  ],
  async run(input, context) {
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const source = await mirror.resolveOrFail(input.source, 'source');
      const target = await mirror.branch(input.target);
      if (!target) {
        throw ApplicationFailure.nonRetryable(
          `target branch ${input.target} does not exist in ${input.repository}`,
          'RefNotFound',
          { ref: input.target },
        );
      }
      const unchanged = { target: input.target, commit: target.commit, fast_forward: false as const, changed: false };
      if (await contains(mirror, target.commit, source.commit)) return unchanged;

      const worktree = await mirror.worktree(context.step.workflowId, target.commit);
      try {
        await worktree.run([
          'merge',
          '--no-ff',
          '--no-edit',
          '--no-verify',
          `--message=${input.message ?? `Merge ${input.source} into ${input.target}`}`,
          source.commit,
        ]);
      } catch (error) {
        const conflicts = await worktree.unmergedFiles().catch(() => []);
        await worktree.run(['merge', '--abort']).catch(() => undefined);
        if (conflicts.length > 0) {
          throw ApplicationFailure.nonRetryable(
            `merging ${input.source} into ${input.target} conflicts in ${conflicts.join(', ')}`,
            'MergeConflict',
            { files: conflicts, source: source.commit, target: target.commit },
          );
        }
        throw error;
      }
      const commit = await worktree.head();
      await mirror.push([`${commit}:refs/heads/${input.target}`]);
      return { target: input.target, commit, fast_forward: false as const, changed: true };
    });
  },
});

/** Whether every commit of `source` is already in `target` (nothing to merge). */
async function contains(mirror: Mirror, target: string, source: string): Promise<boolean> {
  // Commits reachable from source but not from target; none means target already contains source.
  const missing = await mirror.run(['rev-list', '--max-count=1', source, `^${target}`, '--']);
  return missing.trim() === '';
}
