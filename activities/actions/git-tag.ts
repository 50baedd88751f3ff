import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { GIT_ENV } from '../git';
import { isSafeRefName, message, refName, repositoryGuard, repositoryUrl, tagPrefix, version } from '../git/inputs';
import { withMirror, workspaceOptions } from '../git/workspace';

/** Creates and pushes an annotated version tag; a retry that finds the tag on the same commit succeeds. */
export const gitTag = defineAction({
  id: 'git.tag',
  guarantee: {
    level: 'exactly-once',
    explanation: 'Idempotent: a retry finds the tag already on the commit and succeeds without pushing again.',
  },
  env: GIT_ENV,
  guardedInputs: [repositoryGuard],
  description:
    'Creates an annotated tag <tag_prefix><version> (default prefix v, so v1.4.0) on the commit a ref points to ' +
    '(branch, tag or commit id) and pushes it to the remote repository. If the tag already exists on that commit ' +
    'the step succeeds, so retries are safe; if it exists on another commit the step fails without retrying. The ' +
    'tagger is the worker’s GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL.',
  input: z
    .strictObject({
      repository: repositoryUrl,
      ref: refName,
      version,
      tag_prefix: tagPrefix.default('v'),
      message: message.optional(),
    })
    .refine((input) => isSafeRefName(`${input.tag_prefix}${input.version}`), {
      message: 'tag_prefix followed by version must be a valid tag name',
      path: ['tag_prefix'],
    }),
  output: z.object({ tag: z.string(), commit: z.string(), created: z.boolean() }),
  defaults: { timeout: '10m' },
  examples: [
    {
      title: 'Tag the release branch',
      with: {
        repository: 'https://git.example.com/shop/checkout.git',
        ref: 'release/${{ vars.version }}',
        version: '${{ vars.version }}',
        message: 'Release ${{ vars.version }}',
      },
    },
  ],
  async run(input, context) {
    const tag = `${input.tag_prefix}${input.version}`;
    return withMirror(input.repository, workspaceOptions(context), async (mirror) => {
      const target = await mirror.resolveOrFail(input.ref, 'ref');
      const existing = await mirror.tag(tag);
      if (existing?.commit === target.commit) return { tag, commit: target.commit, created: false };
      if (existing) {
        throw ApplicationFailure.nonRetryable(
          `tag ${tag} already exists on ${existing.commit}, not on ${input.ref} (${target.commit})`,
          'TagExists',
          { tag, existing: existing.commit, requested: target.commit },
        );
      }
      const ref = `refs/tags/${tag}`;
      await mirror.run([
        'tag',
        '--annotate',
        `--message=${input.message ?? `Release ${tag}`}`,
        '--',
        tag,
        target.commit,
      ]);
      mirror.invalidateRefs();
      try {
        await mirror.push([`${ref}:${ref}`]);
      } catch (error) {
        // Keep the mirror equal to the remote; the next fetch would prune the tag anyway.
        await mirror.run(['tag', '--delete', '--', tag]).catch(() => undefined);
        throw error;
      }
      return { tag, commit: target.commit, created: true };
    });
  },
});
