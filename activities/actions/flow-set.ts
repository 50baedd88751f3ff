import { z } from 'zod';
import { defineMetaAction } from '../define-action';

/** Sets workflow variables for later steps; run by the interpreter itself (common/meta-actions.ts), no activity. */
export const flowSet = defineMetaAction({
  id: 'flow.set',
  guarantee: {
    level: 'exactly-once',
    explanation: 'Runs inside the workflow and changes only its variables; no side effect outside the run.',
  },
  description:
    'Sets workflow variables that later steps read as `vars.<name>`. Each key of `with` becomes a variable; values may be expressions and keep their type.',
  input: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names must be identifiers'), z.unknown()),
  output: z.record(z.string(), z.unknown()),
  examples: [
    { title: 'Remember the release version', with: { version: '${{ steps.version.output.body.fixVersion }}' } },
  ],
});
