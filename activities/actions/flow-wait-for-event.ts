import { z } from 'zod';
import { EVENT_NAME } from '../../common/definition';
import { MAX_EXPRESSION_LENGTH } from '../../common/expressions';
import { WHERE_PATH, whereProblem } from '../../common/event-waits';
import { DEFAULT_WAIT_TIMEOUT, ON_TIMEOUT, SLEEP_DURATION, sleepTooLong } from '../../common/meta-actions';
import { defineMetaAction } from '../define-action';

const eventName = z.string().regex(EVENT_NAME, 'must be lowercase letters, digits, ".", "_" or "-", such as jenkins');

/**
 * Parks the run until a later event matches; run by the interpreter itself (common/meta-actions.ts) with a signal
 * and a timer, after an activity registers the wait where the event's dispatcher finds it by key.
 */
export const flowWaitForEvent = defineMetaAction({
  id: 'flow.wait_for_event',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Waits inside the workflow; an event is taken by one wait at most, and nothing outside the run changes.',
  },
  description:
    'Waits until an event from `source` of `type` arrives whose fields equal `where` (field paths of the incoming ' +
    'event, such as parameters.RELEASE_TICKET, with values rendered in this run) and for which `if` (CEL over the ' +
    'incoming event alone, as `event`) is true. A matching event that came after the run started but before this ' +
    'step is found too. Returns {timed_out: false, id, source, type, body} of the event. After `timeout` (default ' +
    `${DEFAULT_WAIT_TIMEOUT}, at most 90d) the run fails with WaitForEventTimedOut, or, with on_timeout: continue, ` +
    'the step returns {timed_out: true}. The wait survives restarts; no worker is busy meanwhile.',
  input: z.strictObject({
    source: eventName,
    type: eventName,
    where: z
      .record(z.string().regex(WHERE_PATH, 'must be a field path such as parameters.RELEASE_TICKET'), z.unknown())
      .superRefine((where, context) => {
        const problem = whereProblem(where);
        if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
      })
      .default({}),
    if: z.string().min(1).max(MAX_EXPRESSION_LENGTH).optional(),
    timeout: z
      .string()
      .regex(SLEEP_DURATION, 'must be a whole number and a unit: s, m, h or d (such as 12h)')
      .refine((duration) => !sleepTooLong(duration), 'must be at most 90d')
      .default(DEFAULT_WAIT_TIMEOUT),
    on_timeout: z.enum(ON_TIMEOUT).default('fail'),
  }),
  output: z.union([
    z.object({
      timed_out: z.literal(false),
      id: z.string(),
      source: z.string(),
      type: z.string(),
      body: z.record(z.string(), z.unknown()),
    }),
    z.object({ timed_out: z.literal(true) }),
  ]),
  examples: [
    {
      title: 'Wait for the Jenkins build this release triggered',
      with: {
        source: 'jenkins',
        type: 'build_finished',
        where: { 'parameters.RELEASE_TICKET': '${{ event.issue }}' },
        if: 'event.status == "SUCCESS"',
        timeout: '12h',
      },
    },
    {
      title: 'Wait up to a day for a sign-off, and go on without one',
      with: {
        source: 'jira',
        type: 'issue_transitioned',
        where: { issue: '${{ event.issue }}', to: 'Approved' },
        on_timeout: 'continue',
      },
    },
  ],
});
