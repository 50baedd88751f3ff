import { Connection } from '@temporalio/client';
import { searchAttributeCliSpecs } from '../common';
import { ManagedProcess } from './managed-process';
import { waitUntilHealthy } from './wait-healthy';

/** Options for {@link startTemporalDevServer}. */
export interface TemporalDevServerOptions {
  readonly cli: string;
  readonly port: number;
  /** Web UI port; `null` runs headless. */
  readonly uiPort: number | null;
  /** SQLite file that keeps runs across restarts; omitted means in-memory. */
  readonly dbFile?: string;
  readonly namespace: string;
  readonly logFile: string;
  /** Server dynamic config overrides, such as `limit.historyCount.suggestContinueAsNew: 40` in tests. */
  readonly dynamicConfig?: Readonly<Record<string, unknown>>;
}

/** Starts `temporal server start-dev` on loopback with Flow's search attributes registered. */
export function startTemporalDevServer(options: TemporalDevServerOptions): ManagedProcess {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const spec of searchAttributeCliSpecs()) args.push('--search-attribute', spec);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return ManagedProcess.start('temporal', options.cli, args, { output: { logFile: options.logFile } });
}

/** Waits until the Temporal frontend at `address` answers and `namespace` exists. */
export function waitForTemporal(
  address: string,
  namespace: string,
  options: { timeoutMs?: number; process?: ManagedProcess } = {},
): Promise<void> {
  return waitUntilHealthy(
    `Temporal at ${address}`,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } finally {
        await connection.close();
      }
    },
    options,
  );
}
