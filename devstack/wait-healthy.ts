import { describeExit, type ManagedProcess } from './managed-process';

/** A service did not become healthy; says why and quotes its log. */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceStartError';
  }
}

/**
 * Calls `probe` every 250 ms until it resolves. Fails with a {@link ServiceStartError} when `timeoutMs` passes or
 * when the process being waited for exits first, quoting the end of its log.
 */
export async function waitUntilHealthy(
  description: string,
  probe: () => Promise<void>,
  options: { timeoutMs?: number; process?: ManagedProcess } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const child = options.process;
    if (child && !child.running) {
      const status = await child.exited;
      throw new ServiceStartError(
        child.name,
        `${description} exited (${describeExit(status)}) while starting. Its log (${child.logPath}) ends with:\n${child.logTail()}`,
      );
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new ServiceStartError(
    description,
    `${description} was not healthy within ${Math.round(timeoutMs / 1000)}s: ${reason}`,
  );
}
