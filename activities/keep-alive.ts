import { Context } from '@temporalio/activity';

/**
 * How often at most a running activity tells Temporal its worker is alive. Well under the 30 s heartbeat timeout the
 * workflows give steps and internal activities; the SDK throttles what reaches the server to 80% of the timeout.
 */
export const KEEP_ALIVE_MAX_INTERVAL_MS = 5_000;

/** The activity's own heartbeat, with the keep-alive remembering what it sent. */
export type Heartbeat = (details?: unknown) => void;

/**
 * Runs `work` in the current activity and, while it runs, heartbeats every few seconds, so that the heartbeat timeout
 * notices a worker that died (SIGKILL, OOM, a lost node) within seconds instead of the attempt's start-to-close timeout.
 *
 * Each beat repeats the last details the activity heartbeated itself through the `heartbeat` it is given, or, until
 * it does, the details of the previous attempt: Temporal keeps the last details recorded across attempts, and a beat
 * without them would erase what the next attempt resumes from (`info.heartbeatDetails`).
 *
 * It beats only when the activity has a heartbeat timeout (the SDK says to heartbeat only then) and never in a local
 * activity, which cannot heartbeat. The timer stops when `work` settles.
 */
export async function withKeepAlive<T>(work: (heartbeat: Heartbeat) => Promise<T>): Promise<T> {
  const context = Context.current();
  const { isLocal, heartbeatTimeoutMs } = context.info;
  if (isLocal || !heartbeatTimeoutMs) return work((details) => context.heartbeat(details));
  let last: unknown = context.info.heartbeatDetails;
  const heartbeat: Heartbeat = (details) => {
    last = details;
    context.heartbeat(details);
  };
  const timer = setInterval(() => context.heartbeat(last), keepAliveInterval(heartbeatTimeoutMs));
  try {
    return await work(heartbeat);
  } finally {
    clearInterval(timer);
  }
}

/**
 * The same activity with a keep-alive ({@link withKeepAlive}): for activities that send no heartbeat details of their
 * own, such as Flow's internal ones, wrapped where they are registered.
 */
export function keptAlive<Args extends unknown[], Result>(
  activity: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  return (...args) => withKeepAlive(() => activity(...args));
}

/** A third of the heartbeat timeout, at most {@link KEEP_ALIVE_MAX_INTERVAL_MS}: three beats per timeout at least. */
export function keepAliveInterval(heartbeatTimeoutMs: number): number {
  return Math.max(1, Math.min(KEEP_ALIVE_MAX_INTERVAL_MS, Math.floor(heartbeatTimeoutMs / 3)));
}
