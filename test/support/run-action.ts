import type { AnyAction } from '../../activities';
import { runActionForTest, type RunActionForTestOptions } from '../../sdk';

/** Options for {@link runAction}: the SDK's, with the previous attempt's heartbeat named as Temporal names it. */
export interface RunActionOptions extends Omit<RunActionForTestOptions, 'lastHeartbeat'> {
  /** Heartbeat details of a previous attempt, as after a worker restart. */
  readonly heartbeatDetails?: unknown;
}

/**
 * Runs one action exactly as the worker does, without a Temporal server: the SDK's `runActionForTest`, which teams'
 * packs are tested with too. For action-level tests against local peers.
 */
export function runAction(action: AnyAction, input: unknown, options: RunActionOptions = {}): Promise<unknown> {
  const { heartbeatDetails, ...rest } = options;
  return runActionForTest(action, input, { ...rest, lastHeartbeat: heartbeatDetails });
}
