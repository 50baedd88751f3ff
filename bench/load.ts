import { performance } from 'node:perf_hooks';

/** The current time as epoch milliseconds with sub-millisecond precision, comparable with server event times. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The outcome of a closed-loop load run. */
export interface LoadResult {
  /** Latency of each call, in milliseconds, in completion order. */
  readonly latencies: number[];
  readonly wallMs: number;
  /** Completed calls per second over the whole run. */
  readonly throughput: number;
}

/**
 * Calls `fn` `total` times with `concurrency` callers, each starting its next call as soon as the previous one
 * returns (a closed loop, as a sender that waits for each answer). Any failure stops the run and is thrown.
 */
export async function runLoad(
  total: number,
  concurrency: number,
  fn: (index: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const caller = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      const t0 = performance.now();
      await fn(index);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, caller));
  const wallMs = performance.now() - started;
  return { latencies, wallMs, throughput: (total / wallMs) * 1000 };
}

/** Polls `check` until it returns true, or throws `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
