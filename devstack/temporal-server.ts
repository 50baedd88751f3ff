import { Connection } from '@temporalio/client';
import { msToNumber, msToTs } from '@temporalio/common/lib/time';
import { searchAttributeCliSpecs } from '../common';
import { ConfigError, parseFlag } from '../config';
import { ManagedProcess } from './managed-process';
import { waitUntilHealthy } from './wait-healthy';

/** SQLite pragmas as `--sqlite-pragma NAME=VALUE` takes them. */
export type SqlitePragmas = Readonly<Record<string, string>>;

/**
 * The pragmas of a file-backed dev server (`npm start`, the soak): a write-ahead log synced at checkpoints rather than
 * at every commit. A power loss may lose the last transactions, never the file (docs/operations.md, "The local
 * Temporal server's store", has the measurements and what each setting risks).
 */
export const FILE_SQLITE_PRAGMAS: SqlitePragmas = { journal_mode: 'wal', synchronous: 'normal' };

/**
 * The pragmas of an in-memory dev server (tests, the bench): none. Nothing reaches a disk, so `synchronous` changes
 * nothing measurable, and `journal_mode` can only be SQLite's `memory`.
 */
export const MEMORY_SQLITE_PRAGMAS: SqlitePragmas = {};

/**
 * Dynamic config every dev server gets: eager activity dispatch, so an activity scheduled by a workflow task comes
 * back in that task's completion response to the worker that has a free slot, skipping the matching service's round
 * trip (the TS SDK asks for it by default, `allowEagerDispatch`); and the history service's internal task queue read
 * up to 2000 times a second instead of 20, so a workflow task or activity that goes through matching is dispatched
 * within a few ms instead of waiting up to 50 ms for the next read (docs/operations.md, "Dispatch latency"). Caller
 * settings override these.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'system.enableActivityEagerExecution': true,
  'history.transferProcessorMaxPollRPS': 2000,
};

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
  /**
   * SQLite pragmas; `{}` keeps SQLite's own defaults. Omitted: `FLOW_TEMPORAL_SQLITE_PRAGMAS` when set, else
   * {@link FILE_SQLITE_PRAGMAS} or {@link MEMORY_SQLITE_PRAGMAS}.
   */
  readonly sqlitePragmas?: SqlitePragmas;
  /** Where `FLOW_TEMPORAL_SQLITE_PRAGMAS` and `FLOW_TEMPORAL_EAGER_ACTIVITIES` are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Starts `temporal server start-dev` on loopback with Flow's search attributes registered, the store's pragmas
 * ({@link devServerSqlitePragmas}) and eager activity dispatch ({@link devServerDynamicConfig}).
 */
export function startTemporalDevServer(options: TemporalDevServerOptions): ManagedProcess {
  const env = options.env ?? process.env;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const spec of searchAttributeCliSpecs()) args.push('--search-attribute', spec);
  const pragmas = options.sqlitePragmas ?? devServerSqlitePragmas(env, options.dbFile !== undefined);
  for (const [name, value] of Object.entries(pragmas)) args.push('--sqlite-pragma', `${name}=${value}`);
  for (const [key, value] of Object.entries({ ...devServerDynamicConfig(env), ...options.dynamicConfig }))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return ManagedProcess.start('temporal', options.cli, args, { output: { logFile: options.logFile } });
}

/**
 * The SQLite pragmas of a dev server: `FLOW_TEMPORAL_SQLITE_PRAGMAS` when set (`journal_mode=wal,synchronous=normal`,
 * or `default` for SQLite's own), else Flow's choice for a file-backed or an in-memory store.
 */
export function devServerSqlitePragmas(
  env: Readonly<Record<string, string | undefined>>,
  fileBacked: boolean,
): SqlitePragmas {
  const name = 'FLOW_TEMPORAL_SQLITE_PRAGMAS';
  const raw = env[name]?.trim();
  if (!raw) return fileBacked ? FILE_SQLITE_PRAGMAS : MEMORY_SQLITE_PRAGMAS;
  if (raw.toLowerCase() === 'default') return {};
  const pragmas: Record<string, string> = {};
  for (const entry of raw.split(',')) {
    // The only pragmas the dev server applies; it ignores any other without a word.
    const match = /^\s*(journal_mode|synchronous)\s*=\s*([a-z0-9]+)\s*$/i.exec(entry);
    if (!match)
      throw new ConfigError(
        name,
        `${name}=${JSON.stringify(raw)} must be comma-separated journal_mode=… and synchronous=… pragmas (the ` +
          `only ones the dev server applies), such as journal_mode=wal,synchronous=normal, or "default" for SQLite's ` +
          `own settings.`,
      );
    pragmas[match[1]!.toLowerCase()] = match[2]!.toLowerCase();
  }
  return pragmas;
}

/** {@link DEV_SERVER_DYNAMIC_CONFIG}, without eager activities when `FLOW_TEMPORAL_EAGER_ACTIVITIES` is off. */
export function devServerDynamicConfig(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const name = 'FLOW_TEMPORAL_EAGER_ACTIVITIES';
  const eager = env[name]?.trim() ? parseFlag(env, name) : true;
  return { ...DEV_SERVER_DYNAMIC_CONFIG, 'system.enableActivityEagerExecution': eager };
}

/**
 * How long the local dev server keeps closed runs: the dev server's own default, made explicit and applied at every
 * start, so a database created with another value (or by hand) comes back to it. Closed runs, their histories and
 * visibility rows are deleted a day after they close, which bounds the database by a day's traffic
 * (docs/operations.md, "The local Temporal server's store").
 */
export const LOCAL_RETENTION = '24h';

/**
 * `FLOW_LOCAL_TEMPORAL_RETENTION`: how long `npm start`'s dev server keeps closed runs, a whole number of hours or
 * days (`24h`, `7d`), at least one hour; default {@link LOCAL_RETENTION}. Returns milliseconds.
 */
export function parseLocalRetention(env: Readonly<Record<string, string | undefined>>): number {
  const name = 'FLOW_LOCAL_TEMPORAL_RETENTION';
  const raw = env[name]?.trim() || LOCAL_RETENTION;
  const match = /^([1-9]\d{0,4})([hd])$/.exec(raw);
  if (!match)
    throw new ConfigError(
      name,
      `${name}=${JSON.stringify(raw)} must be a whole number of hours or days, such as 24h or 7d (default ${LOCAL_RETENTION}).`,
    );
  return msToNumber(`${match[1]} ${match[2] === 'h' ? 'hours' : 'days'}`);
}

/** Sets the retention of closed workflows in `namespace`, unless it already has that value. */
export async function applyNamespaceRetention(address: string, namespace: string, retentionMs: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 });
  try {
    const described = await connection.workflowService.describeNamespace({ namespace });
    const ttl = described.config?.workflowExecutionRetentionTtl;
    const currentMs = Number(ttl?.seconds ?? 0) * 1000 + Math.round((ttl?.nanos ?? 0) / 1e6);
    if (currentMs === retentionMs) return;
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msToTs(retentionMs) },
    });
  } finally {
    await connection.close();
  }
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
