/** Defaults for every setting; the local services listen on exactly these addresses. */
export const DEFAULTS = {
  temporalAddress: 'localhost:7233',
  temporalNamespace: 'default',
  taskQueue: 'flow',
  mongodbUri: 'mongodb://127.0.0.1:27017/flow',
  port: 3000,
  temporalUiPort: 8233,
  workerMetricsPort: 9464,
} as const;

/** Settings shared by the worker, the gateway and the dev launcher. */
export interface FlowConfig {
  readonly temporal: {
    readonly address: string;
    readonly namespace: string;
    readonly taskQueue: string;
  };
  readonly mongodb: {
    readonly uri: string;
    /** The database named in the URI path, `flow` when the URI names none. */
    readonly database: string;
  };
  readonly gateway: {
    readonly port: number;
    /** Requests a minute accepted from one event source before 429 (`FLOW_RATE_LIMIT_PER_MINUTE`). */
    readonly rateLimitPerMinute: number;
  };
  readonly worker: {
    /** Temporal SDK log level; WARN by default because INFO logs every workflow bundle build. */
    readonly logLevel: WorkerLogLevel;
    /** Port of the worker's Prometheus `/metrics` (`FLOW_WORKER_METRICS_PORT`); null when set to `off`. */
    readonly metricsPort: number | null;
    /**
     * Minutes between sweeps that remove the git worktrees of ended runs (`FLOW_WORKSPACE_SWEEP_MINUTES`, default
     * 60); null when set to `off`.
     */
    readonly workspaceSweepMinutes: number | null;
  };
}

/** Log levels the Temporal SDK understands. */
export type WorkerLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const WORKER_LOG_LEVELS: readonly WorkerLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** A configuration value that cannot be used; the message says which variable and what to set instead. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads Flow's configuration from environment variables, applying the documented defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlowConfig {
  const mongodbUri = nonEmpty(env, 'MONGODB_URI') ?? DEFAULTS.mongodbUri;
  return {
    temporal: {
      address: nonEmpty(env, 'TEMPORAL_ADDRESS') ?? DEFAULTS.temporalAddress,
      namespace: nonEmpty(env, 'TEMPORAL_NAMESPACE') ?? DEFAULTS.temporalNamespace,
      taskQueue: nonEmpty(env, 'FLOW_TASK_QUEUE') ?? DEFAULTS.taskQueue,
    },
    mongodb: { uri: mongodbUri, database: databaseFromUri(mongodbUri) },
    gateway: {
      port: parsePort(env, 'PORT', DEFAULTS.port),
      rateLimitPerMinute: parsePositiveInt(env, 'FLOW_RATE_LIMIT_PER_MINUTE', 600),
    },
    worker: {
      logLevel: parseLogLevel(env),
      metricsPort: parseOrOff(env, 'FLOW_WORKER_METRICS_PORT', DEFAULTS.workerMetricsPort, parsePort),
      workspaceSweepMinutes: parseOrOff(env, 'FLOW_WORKSPACE_SWEEP_MINUTES', 60, parsePositiveInt),
    },
  };
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Reads a TCP port from `env[name]`, or `fallback` when unset; anything else is a {@link ConfigError}. */
export function parsePort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a TCP port; use a number from 1 to 65535.`);
  }
  return port;
}

/** Reads `env[name]` with `parse`, except that `off` turns the setting off (null); errors then mention `off`. */
function parseOrOff(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  parse: (env: NodeJS.ProcessEnv, name: string, fallback: number) => number,
): number | null {
  if (nonEmpty(env, name)?.toLowerCase() === 'off') return null;
  try {
    return parse(env, name, fallback);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(name, error.message.replace(/\.$/, ', or "off".'));
    throw error;
  }
}

function parsePositiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^[1-9]\d{0,8}$/.test(raw))
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} must be a positive whole number.`);
  return Number(raw);
}

function parseLogLevel(env: NodeJS.ProcessEnv): WorkerLogLevel {
  const raw = nonEmpty(env, 'FLOW_LOG_LEVEL')?.toUpperCase() ?? 'WARN';
  const level = WORKER_LOG_LEVELS.find((candidate) => candidate === raw);
  if (!level)
    throw new ConfigError(
      'FLOW_LOG_LEVEL',
      `FLOW_LOG_LEVEL=${JSON.stringify(raw)} is not a log level; use one of ${WORKER_LOG_LEVELS.join(', ')}.`,
    );
  return level;
}

function databaseFromUri(uri: string): string {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new ConfigError(
      'MONGODB_URI',
      `MONGODB_URI must start with mongodb:// or mongodb+srv://, got ${redactUri(uri)}.`,
    );
  }
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(uri);
  const name = decodeURIComponent(match?.[1] ?? '');
  return name || 'flow';
}

/** Hides the password of a connection string so it can be printed. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]*)@/, '//$1:***@');
}
