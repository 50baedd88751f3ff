import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { actionActivity, type ActionDeps, type AnyAction, type StepMeta } from '../../activities';

/** Options for {@link runAction}. */
export interface RunActionOptions {
  /** The worker environment the action sees (credentials, peer URLs). */
  readonly env?: Record<string, string | undefined>;
  readonly step?: Partial<StepMeta>;
  /** Heartbeat details of a previous attempt, as after a worker restart. */
  readonly heartbeatDetails?: unknown;
  /** Receives every heartbeat the action records. */
  readonly onHeartbeat?: (details: unknown) => void;
  readonly deps?: Partial<ActionDeps>;
}

/**
 * Runs one action exactly as the worker does (input and output validated by its schemas, inside an activity context)
 * without a Temporal server: for action-level tests against local peers.
 */
export async function runAction(action: AnyAction, input: unknown, options: RunActionOptions = {}): Promise<unknown> {
  const deps: ActionDeps = {
    env: options.env ?? {},
    fetch: globalThis.fetch,
    emitEvent: () => Promise.reject(new Error('emitEvent is not available in runAction')),
    ...options.deps,
  };
  const step: StepMeta = {
    eventId: 'test-event',
    definition: 'test-definition',
    revision: 1,
    stepId: 'step',
    workflowId: 'test-definition-test-event',
    causation: { rootEventId: 'test-event', depth: 0 },
    ...options.step,
  };
  const environment = new MockActivityEnvironment(
    { heartbeatDetails: options.heartbeatDetails, activityType: action.id },
    // Failures are what many action tests check; the environment's own failure log would only repeat them.
    { logger: new DefaultLogger('ERROR') },
  );
  if (options.onHeartbeat) environment.on('heartbeat', options.onHeartbeat);
  return environment.run(actionActivity(action, deps), input, step);
}
