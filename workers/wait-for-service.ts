/** How to wait for a service that is not answering yet; see {@link waitForService}. */
export interface WaitOptions {
  /** What is being reached, for the log: `Temporal at localhost:7233`. */
  readonly what: string;
  readonly log: (line: string) => void;
  /** Pause between attempts (default 2 s). */
  readonly intervalMs?: number;
  /** How often a still-failing wait says so again (default every 30 s). */
  readonly remindEveryMs?: number;
}

/**
 * Calls `connect` until it succeeds, so a process started before its service (or during the service's restart)
 * waits for it instead of exiting: `npm start`, a container restart or a host reboot may start the worker first.
 * The first failure is logged with its reason and what is being retried, then a reminder every 30 s, then the
 * moment it connects.
 */
export async function waitForService<T>(connect: () => Promise<T>, options: WaitOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? 2_000;
  const remindEveryMs = options.remindEveryMs ?? 30_000;
  const started = Date.now();
  let lastSaid = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const connected = await connect();
      if (attempt > 1) options.log(`connected to ${options.what} after ${Math.round((Date.now() - started) / 1000)}s`);
      return connected;
    } catch (error) {
      const now = Date.now();
      if (attempt === 1 || now - lastSaid >= remindEveryMs) {
        lastSaid = now;
        const reason = error instanceof Error ? error.message : String(error);
        options.log(
          attempt === 1
            ? `${options.what} is not answering (${reason}); waiting for it, retrying every ${intervalMs / 1000}s`
            : `still waiting for ${options.what} (${Math.round((now - started) / 1000)}s so far): ${reason}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
