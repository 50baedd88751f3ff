import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { branchName, message, repositoryGuard, repositoryUrl, version, versionFilePath } from '../git/inputs';
import { setVersion, VersionFileError } from '../git/version-files';
import { withMirror, workspaceOptions } from '../git/workspace';

/** Writes a version into package.json, pom.xml or VERSION on a branch, commits and pushes. */
export const gitBumpVersion = defineAction({
  id: 'git.bump_version',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Idempotent: a retry finds the file already at the version (pushed by the earlier attempt) and commits nothing (changed: false).',
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    'Sets the version in a file on a branch and pushes the commit: the top-level "version" of a package.json, the ' +
    'project’s own <version> of a pom.xml (never its parent’s or a dependency’s), or the content of a VERSION ' +
    'file, chosen by the file name. The change is made in this run’s own worktree at the branch tip and keeps the ' +
    'rest of the file as it was. If the file already holds the version, nothing is committed and the step succeeds ' +
    '(changed: false), so retries are safe. The committer is the worker’s GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL.',
  input: z.strictObject({
    repository: repositoryUrl,
    branch: branchName.default('develop'),
    version,
    file: versionFilePath.default('package.json'),
    message: message.optional(),
  }),
  output: z.object({ branch: z.string(), file: z.string(), commit: z.string(), changed: z.boolean() }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Start the next development version',
      with: { repository: 'git@git.example.com:shop/checkout.git', branch: 'develop', version: '${{ vars.next }}' },
    },
    {
      title: 'Set the release version in a Maven module',
      with: {
        repository: 'https://git.example.com/shop/billing.git',
        branch: 'release/${{ vars.version }}',
        version: '${{ vars.version }}',
        file: 'service/pom.xml',
        message: 'Release ${{ vars.version }}',
      },
    },
  ],
  async run(input, context) {
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const tip = await mirror.branch(input.branch);
      if (!tip) {
        throw ApplicationFailure.nonRetryable(
          `branch ${input.branch} does not exist in ${input.repository}`,
          'RefNotFound',
          { ref: input.branch },
        );
      }
      const worktree = await mirror.worktree(context.step.workflowId, tip.commit);
      const file = await worktree.file(input.file);
      let edit;
      try {
        edit = setVersion(input.file, await fs.readFile(file, 'utf8'), input.version);
      } catch (error) {
        if (error instanceof VersionFileError)
          throw ApplicationFailure.nonRetryable(error.message, 'VersionFileInvalid');
        throw error;
      }
      if (!edit.changed) return { branch: input.branch, file: input.file, commit: tip.commit, changed: false };
      await fs.writeFile(file, edit.content, 'utf8');
      await worktree.run(['add', '--', input.file]);
      await worktree.run([
        'commit',
        '--no-verify',
        '--quiet',
        `--message=${input.message ?? `Bump version to ${input.version}`}`,
      ]);
      const commit = await worktree.head();
      if (commit === tip.commit) {
        throw ApplicationFailure.nonRetryable(`committing ${input.file} created no commit`, 'CommandFailed');
      }
      await mirror.push([`${commit}:refs/heads/${input.branch}`]);
      return { branch: input.branch, file: input.file, commit, changed: true };
    });
  },
});
