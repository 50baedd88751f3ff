import { ApplicationFailure } from '@temporalio/common';

/**
 * The failure types actions throw, so the Temporal UI, retry policies (`nonRetryableErrorTypes`) and tests can tell
 * them apart. Retryable means Temporal tries again with the step's retry policy.
 */
export const FailureType = {
  /** A worker environment variable the action needs is not set; fixing it needs an operator, not a retry. */
  MissingConfiguration: 'MissingConfiguration',
  /** The peer rejected the request (4xx other than 408/429): retrying the same request cannot help. */
  PeerRejected: 'PeerRejected',
  /** The peer failed or was unreachable (5xx, 408, 429, network): worth retrying. */
  PeerUnavailable: 'PeerUnavailable',
  /** A local command (git, rsync, a build tool) failed. */
  CommandFailed: 'CommandFailed',
} as const;

/** Fails the step without retrying, naming the worker environment variables to set. */
export function missingConfiguration(action: string, variables: readonly string[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${action} needs ${variables.join(', ')} in the worker's environment; set ${variables.length === 1 ? 'it' : 'them'} and retry the run`,
    FailureType.MissingConfiguration,
  );
}

/** Reads required variables from the worker's environment, or fails with {@link missingConfiguration}. */
export function requireEnv<K extends string>(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  names: readonly K[],
): Record<K, string> {
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) throw missingConfiguration(action, missing);
  return Object.fromEntries(names.map((name) => [name, env[name]!])) as Record<K, string>;
}

/** Classifies an HTTP status from a peer: 5xx, 408 and 429 are retryable, other 4xx are not. */
export function failureForStatus(status: number, message: string, details?: unknown): ApplicationFailure {
  const retryable = status >= 500 || status === 408 || status === 429;
  return ApplicationFailure.create({
    message,
    type: retryable ? FailureType.PeerUnavailable : FailureType.PeerRejected,
    nonRetryable: !retryable,
    ...(details === undefined ? {} : { details: [details] }),
  });
}

/** A network-level failure talking to a peer (connection refused, reset, timeout): retryable. */
export function peerUnreachable(message: string): ApplicationFailure {
  return ApplicationFailure.retryable(message, FailureType.PeerUnavailable);
}
