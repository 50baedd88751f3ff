import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { AnyAction, StepMeta } from './define-action';
import type { ActionDeps } from './deps';
import { SecretScrubber } from './secrets';

/**
 * What one attempt of an action takes from where it runs: the worker's activity context (`actionActivity`), or the
 * stand-in of the SDK's `runActionForTest`. Heartbeat details go out scrubbed.
 */
export interface AttemptControl {
  /**
   * Sends the (scrubbed) details. In the worker the attempt is also kept alive between the action's own heartbeats
   * (`activities/keep-alive.ts`), and those beats repeat the last details sent here.
   */
  heartbeat(details?: unknown): void;
  /** The last heartbeat of a previous attempt. */
  readonly lastHeartbeat: unknown;
  /** Aborted when the attempt is cancelled or times out. */
  readonly signal: AbortSignal;
  /** Which attempt this is (Temporal's `info.attempt`), 1 for the first; 1 when absent. */
  readonly attempt?: number;
}

/** One attempt of an action: the rendered `with`, where the step runs, and the control of its attempt. */
export type ActionAttempt = (rawInput: unknown, step: StepMeta, control: AttemptControl) => Promise<unknown>;

/**
 * How an action runs, in the worker and in the SDK's test helper alike: validates the input, runs the action with its
 * context, validates the output, and scrubs the worker's secrets from the result, the heartbeats and any failure.
 */
export function actionAttempt(action: AnyAction, deps: ActionDeps): ActionAttempt {
  const run = action.run?.bind(action);
  if (!run) throw new Error(`action ${action.id} has kind "activity" but no run()`);
  const scrubber = new SecretScrubber(deps.env);
  return async (rawInput, step, control) => {
    try {
      const input = parseOrFail(action.input, rawInput, `input of ${action.id}`, 'InvalidActionInput');
      const result = await run(input, {
        deps,
        step,
        attempt: control.attempt ?? 1,
        heartbeat: (details) => control.heartbeat(scrubber.scrub(details)),
        lastHeartbeat: control.lastHeartbeat,
        signal: control.signal,
      });
      return scrubber.scrub(parseOrFail(action.output, result, `output of ${action.id}`, 'InvalidActionOutput'));
    } catch (error) {
      throw scrubber.scrubError(error);
    }
  };
}

/** Validates with zod; a mismatch fails the step without retrying, naming every offending field. */
function parseOrFail(schema: z.ZodType, value: unknown, what: string, type: string): unknown {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`,
  );
  throw ApplicationFailure.nonRetryable(`invalid ${what}: ${problems.join('; ')}`, type, { errors: problems });
}
