import { temporalConnection } from '../intake/temporal-connection';

/** A probe resolves when its service answers and rejects otherwise. */
export type HealthProbe = () => Promise<void>;

/** Each service's state as `/healthz` reports it. */
export type HealthReport = Record<string, 'up' | 'down'>;

/** Runs every probe in parallel, each bounded by `timeoutMs`, and reports which services are up. */
export async function checkHealth(
  probes: Readonly<Record<string, HealthProbe>>,
  timeoutMs = 3_000,
): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(probes).map(
      async ([name, probe]) => [name, (await withTimeout(probe(), timeoutMs)) ? 'up' : 'down'] as const,
    ),
  );
  return Object.fromEntries(entries);
}

async function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A probe of the Temporal frontend over its own connection, without the client's retry interceptor: a health check
 * must answer within its deadline instead of retrying in the background after it has given up. Its channel reconnects
 * as fast as the intake's, so /healthz reports a restarted Temporal up within about a second.
 */
export function temporalProbe(address: string, timeoutMs = 2_000): { probe: HealthProbe; close: () => Promise<void> } {
  const connection = temporalConnection({ address, interceptors: [], connectTimeout: timeoutMs });
  return {
    probe: () =>
      connection.withDeadline(Date.now() + timeoutMs, async () => {
        await connection.workflowService.getSystemInfo({});
      }),
    close: () => connection.close(),
  };
}
