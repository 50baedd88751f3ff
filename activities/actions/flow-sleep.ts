import { z } from 'zod';
import { SLEEP_DURATION, sleepTooLong } from '../../common/meta-actions';
import { defineMetaAction } from '../define-action';

/** Waits durably; the interpreter sets a Temporal timer (common/meta-actions.ts), so the wait survives restarts. */
export const flowSleep = defineMetaAction({
  id: 'flow.sleep',
  guarantee: {
    level: 'exactly-once',
    explanation: 'A durable Temporal timer inside the workflow; no side effect outside the run.',
  },
  description:
    'Waits for `duration` (such as 90s, 30m, 4h or 2d; at most 90d) before the next step, with a durable Temporal ' +
    'timer: no worker is busy meanwhile, and the wait survives restarts of the worker, the server and the database. ' +
    'Returns {duration, woke_at}. Use it for soak times between deploy stages or for a grace period before cleanup.',
  input: z.strictObject({
    duration: z
      .string()
      .regex(SLEEP_DURATION, 'must be a whole number and a unit: s, m, h or d (such as 30m)')
      .refine((duration) => !sleepTooLong(duration), 'must be at most 90d'),
  }),
  output: z.object({ duration: z.string(), woke_at: z.string() }),
  examples: [
    { title: 'Let the test environment soak for an hour before promoting', with: { duration: '1h' } },
    { title: 'A grace period read from the event', with: { duration: '${{ event.grace }}' } },
  ],
});
