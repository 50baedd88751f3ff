import {
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type BackoffOptions,
  type ConnectionOptions,
} from '@temporalio/client';

/** A gRPC client interceptor, as `ConnectionOptions.interceptors` takes them. */
type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * gRPC channel arguments that keep the reconnect backoff short. By default grpc-js waits 1 s, then 1.6 times longer
 * after each failed attempt, up to 120 s, and fails every call at once while it waits: after a 40 s outage its next
 * attempt could be 20 s away, so the gateway answered 503 though Temporal (and the worker) were back. Capped at 1 s,
 * the channel finds a restarted server within about a second (plus up to 20% jitter); the cost during an outage is
 * one refused TCP connect a second.
 */
export const RECONNECT_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
} as const;

/** How long before a call's deadline its last retry starts, so that the retry can still be answered in time. */
const LAST_TRY_MARGIN_MS = 250;

/**
 * The client's default retries (UNAVAILABLE and the other retryable codes, backing off 100 ms ×1.7 up to 5 s), kept
 * within each call's deadline: the default interceptor sleeps past it (a 10 s deadline was answered after 14.7 s),
 * and then fails with DEADLINE_EXCEEDED instead of the UNAVAILABLE that says why. Calls without a deadline retry as
 * by default.
 */
export function retryWithinDeadline(backoff: Partial<BackoffOptions> = {}): GrpcInterceptor {
  const retry = defaultGrpcRetryOptions(backoff);
  return (options, nextCall) => {
    const deadline =
      options.deadline === undefined
        ? Infinity
        : options.deadline instanceof Date
          ? options.deadline.getTime()
          : options.deadline;
    const lastTryBy = deadline - LAST_TRY_MARGIN_MS;
    return makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => Date.now() < lastTryBy && retry.retryableDecider(attempt, status),
      delayFunction: (attempt, status) =>
        Math.max(0, Math.min(retry.delayFunction(attempt, status), lastTryBy - Date.now())),
    })(options, nextCall);
  };
}

/**
 * A lazy Temporal connection that reconnects within about a second once a restarted server answers, and retries
 * within each call's deadline. A request that arrives while the channel reconnects waits for it, for as long as its
 * deadline allows (the intake's is 10 s), instead of failing at once. `interceptors: []` turns the retries off (a
 * health probe must answer by its own deadline); caller channel args win over these.
 */
export function temporalConnection(options: ConnectionOptions & { readonly address: string }): Connection {
  return Connection.lazy({
    ...options,
    channelArgs: { ...RECONNECT_CHANNEL_ARGS, ...options.channelArgs },
    interceptors: options.interceptors ?? [retryWithinDeadline()],
  });
}
