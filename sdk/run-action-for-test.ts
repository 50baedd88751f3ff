import { CancelledFailure } from '@temporalio/common';
import type { z } from 'zod';
import { actionAttempt } from '../activities/action-attempt';
import type { ActionDefinition, StepMeta } from '../activities/define-action';
import type { ActionDeps } from '../activities/deps';

/** Options of {@link runActionForTest}; every one may be left out. */
export interface RunActionForTestOptions {
  /** The worker environment the action sees (credentials, peer URLs); its secrets are scrubbed from what comes out. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the step runs; the rest of the step meta is a fixed test value. */
  readonly step?: Partial<StepMeta>;
  /** Which attempt to run as (`context.attempt`): 2 or more is a retry, as after a lost answer. Default 1. */
  readonly attempt?: number;
  /** The last heartbeat of a previous attempt, as after a worker restart (`context.lastHeartbeat`). */
  readonly lastHeartbeat?: unknown;
  /** Receives every heartbeat the action records, scrubbed as the worker records it. */
  readonly onHeartbeat?: (details: unknown) => void;
  /** Aborting it cancels the attempt: the action's `context.signal` aborts with a `CancelledFailure`, as in the worker. */
  readonly signal?: AbortSignal;
  /** Replaces the worker's other dependencies: `fetch` (default the global one) and `emitEvent` (default: refused). */
  readonly deps?: Partial<Omit<ActionDeps, 'env'>>;
}

/** The step meta a test run gets unless `options.step` says otherwise. */
const TEST_STEP: StepMeta = {
  eventId: 'test-event',
  definition: 'test-definition',
  revision: 1,
  stepId: 'step',
  workflowId: 'test-definition-test-event',
  causation: { rootEventId: 'test-event', depth: 0 },
};

/**
 * Runs one attempt of an action the way a Flow worker does, without Temporal: the input is validated by the action's
 * schema (a mismatch throws the worker's non-retryable `InvalidActionInput`), `run` gets the step meta, heartbeats and
 * a cancellation signal, the output is validated (`InvalidActionOutput`), and the worker environment's secrets are
 * scrubbed from the result, the heartbeats and any failure. Resolves with the output as the workflow would record it;
 * rejects with what the action threw (the worker records a plain `Error` as a retryable failure of the error's name).
 *
 * @example
 * const output = await runActionForTest(postSigned, { url: `${receiver.url}/hook`, body: {} }, { env });
 */
export async function runActionForTest<Input extends z.ZodType, Output extends z.ZodType>(
  action: ActionDefinition<Input, Output>,
  input: unknown,
  options: RunActionForTestOptions = {},
): Promise<z.output<Output>> {
  const deps: ActionDeps = {
    fetch: globalThis.fetch,
    emitEvent: () => Promise.reject(new Error('emitEvent is not available in runActionForTest; pass deps.emitEvent')),
    ...options.deps,
    env: options.env ?? {},
  };
  const attempt = actionAttempt(action, deps);
  const cancellation = new AbortController();
  // The worker aborts an attempt's signal with a CancelledFailure; actions may rethrow the reason.
  const cancel = (): void => cancellation.abort(new CancelledFailure('CANCELLED'));
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    const output = await attempt(
      input,
      { ...TEST_STEP, ...options.step },
      {
        heartbeat: (details) => options.onHeartbeat?.(details),
        lastHeartbeat: options.lastHeartbeat,
        signal: cancellation.signal,
        attempt: options.attempt ?? 1,
      },
    );
    return output as z.output<Output>;
  } finally {
    options.signal?.removeEventListener('abort', cancel);
  }
}
