import { z } from 'zod';
import { PRERELEASE_ID, VERSION_BUMPS } from '../../common/meta-actions';
import { defineMetaAction } from '../define-action';

/** Computes the next semantic version; evaluated by the interpreter itself (see common/meta-actions.ts). */
export const versionNext = defineMetaAction({
  id: 'version.next',
  guarantee: {
    level: 'exactly-once',
    explanation: 'Computed inside the workflow; no side effect.',
  },
  description:
    'Computes the next semantic version after `version`: major, minor, patch, or prerelease (1.2.3 → 1.2.4-rc.0 → 1.2.4-rc.1). ' +
    'Returns {previous, version}. Runs inside the workflow, so it costs no activity.',
  input: z.strictObject({
    version: z.string().min(1).max(100),
    bump: z.enum(VERSION_BUMPS).default('patch'),
    preid: z.string().regex(PRERELEASE_ID).max(20).default('rc'),
  }),
  output: z.object({ previous: z.string(), version: z.string() }),
  examples: [
    { title: 'Next minor release after the one being cut', with: { version: '${{ vars.version }}', bump: 'minor' } },
    { title: 'First release candidate of the next patch', with: { version: '2.4.1', bump: 'prerelease', preid: 'rc' } },
  ],
});
