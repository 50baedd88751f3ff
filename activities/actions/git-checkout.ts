import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { refName, repositoryGuard, repositoryUrl } from '../git/inputs';
import { withMirror, workspaceOptions } from '../git/workspace';

/** Checks a ref out into the run's own worktree, for later build and deploy steps of the same run. */
export const gitCheckout = defineAction({
  id: 'git.checkout',
  guarantee: {
    level: 'exactly-once',
    explanation: "Checks out into the run's own worktree, reset on each attempt; nothing outside the worker changes.",
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    "Checks out a branch, tag or commit into the run's own worktree (one per run and repository, never shared with " +
    'another run) and returns its path, for `build.run` and `deploy.*` steps that follow. The checkout is detached ' +
    'and clean; a later git step of the same run on the same repository reuses and resets it. Once the run has ' +
    'ended, the worker removes it (`FLOW_WORKSPACE_SWEEP_MINUTES`).',
  input: z.strictObject({ repository: repositoryUrl, ref: refName.default('develop') }),
  output: z.object({ path: z.string(), commit: z.string(), ref: z.string() }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Check out the release branch to build it',
      with: { repository: 'https://git.example.com/shop/checkout.git', ref: 'release/${{ vars.version }}' },
    },
  ],
  async run(input, context) {
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const target = await mirror.resolveOrFail(input.ref, 'ref');
      const worktree = await mirror.worktree(context.step.workflowId, target.commit);
      return { path: worktree.dir, commit: target.commit, ref: input.ref };
    });
  },
});
