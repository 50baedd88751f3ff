import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { EVENT_NAME } from '../../common/definition';
import { isLifecycleEvent } from '../../common/run-control';
import { defineAction } from '../define-action';

/** How many `flow.emit_event` hops an event chain may take before Flow assumes a loop. */
export const MAX_EVENT_DEPTH = 8;

/** Emits an event through the same durable intake as the gateway, carrying the causation chain. */
export const flowEmitEvent = defineAction({
  id: 'flow.emit_event',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'The event goes through the intake with an idempotency key, one per run and step unless `idempotency_key` is given: a retry is recognised as the same event and starts nothing more.',
  },
  description:
    'Emits an event through the same intake as POST /events, so other definitions can react to it. ' +
    `The event carries its causation chain; a chain deeper than ${MAX_EVENT_DEPTH} fails as a loop. ` +
    'Retries of this step never emit twice: the idempotency key defaults to one per run and step.',
  input: z
    .strictObject({
      source: z.string().regex(EVENT_NAME),
      type: z.string().regex(EVENT_NAME),
      payload: z.record(z.string(), z.unknown()).default({}),
      idempotency_key: z.string().min(1).max(200).optional(),
    })
    .refine((input) => !isLifecycleEvent(input.source, input.type), {
      path: ['type'],
      message: 'is a run lifecycle event, which only Flow itself emits',
    }),
  output: z.object({ eventId: z.string(), workflowId: z.string(), duplicate: z.boolean() }),
  examples: [
    {
      title: 'Hand over to the deploy process',
      with: { source: 'flow', type: 'release_ready', payload: { version: '${{ vars.version }}' } },
    },
  ],
  async run(input, { deps, step }) {
    const depth = step.causation.depth + 1;
    if (depth > MAX_EVENT_DEPTH) {
      throw ApplicationFailure.nonRetryable(
        `event chain from ${step.causation.rootEventId} is ${depth} events deep (limit ${MAX_EVENT_DEPTH}); a definition probably triggers itself`,
        'EventLoop',
      );
    }
    return deps.emitEvent({
      source: input.source,
      type: input.type,
      body: input.payload,
      idempotencyKey: input.idempotency_key ?? `${step.workflowId}.${step.stepId}`,
      causation: { rootEventId: step.causation.rootEventId, parentEventId: step.eventId, depth },
    });
  },
});
