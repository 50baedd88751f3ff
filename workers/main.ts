import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { RECONNECT_CHANNEL_ARGS, retryWithinDeadline } from '../intake/temporal-connection';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { actions as builtInActions, actionsById } from '../activities';
import { lockWorkspace, removeEndedWorkspaces, sweepWorkspace } from '../activities/git';
import { SubscriptionDeliveries } from '../activities/subscriptions';
import { ConfigError, defaultWorkspaceBase, loadConfig, redactUri, type FlowConfig } from '../config';
import { workerEnvironmentProblems } from '../activities/worker-environment';
import {
  ActionCatalog,
  ActionCatalogStore,
  DefinitionStore,
  GroupStore,
  SubscriptionStore,
  openMongo,
  WaitStore,
  type MongoHandle,
} from '../registry';
import {
  actionQueues,
  describeActionPacks,
  loadActionPacks,
  workerActions,
  type LoadedActionPack,
} from './action-packs';
import { createWorker, workerOptions } from './create-worker';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { publishActionPacks } from './publish-action-packs';
import { ensureSearchAttributes } from './search-attributes';
import { waitForService } from './wait-for-service';
import { openRunIds, startWorkspaceSweeper } from './workspace-sweeper';

/** Worker entry point: `npm run start:worker`. Runs until SIGINT/SIGTERM, then drains in-flight tasks. */
async function main(): Promise<void> {
  const config = loadConfig();
  const problems = workerEnvironmentProblems(process.env);
  if (problems.length > 0) throw new Error(`the worker environment is not usable:\n  - ${problems.join('\n  - ')}`);
  Runtime.install({ logger: new DefaultLogger(config.worker.logLevel) });
  const { address, namespace, taskQueue } = config.temporal;
  // Before any connection: a pack that cannot be loaded is a mistake to fix, not an outage to wait out.
  const actionPacks = loadActionPacks(config.worker.actionPacks ?? [], { cwd: process.cwd() });
  for (const line of describeActionPacks(actionPacks, taskQueue)) console.log(`[worker] ${line}`);
  // Waits for Temporal rather than exiting, so the worker may start before the server or during its restart.
  const waiting = { what: `Temporal at ${address}`, log: (line: string) => console.log(`[worker] ${line}`) };
  // Until the worker runs, nothing is in flight to drain: Ctrl-C or SIGTERM while it waits ends it at once. (The
  // Temporal runtime installed above takes those signals over for draining, so without this they did nothing.)
  const stopWhileWaiting = (signal: NodeJS.Signals): void => {
    console.log(`[worker] ${signal} while waiting for Temporal; stopping`);
    process.exit(0);
  };
  process.once('SIGINT', stopWhileWaiting).once('SIGTERM', stopWhileWaiting);
  // Not connected here: the first operation connects, and one that meets an outage is retried until MongoDB answers.
  const mongo = openMongo(config.mongodb);
  const catalogStore = new ActionCatalogStore(mongo);
  // Before polling: the gateway validates definitions against what the workers published, and a pack whose ids
  // another pack holds must not run (a conflict ends the start here, with the message).
  await publishActionPacks(catalogStore, actionPacks, {
    what: `MongoDB at ${redactUri(config.mongodb.uri)} (to publish the action packs)`,
    log: waiting.log,
  });
  // Before connecting: a workspace another worker holds is a mistake to fix, so the start ends here with the message.
  if (config.worker.workflows) {
    lockWorkspace(config.worker.workspaceDir, config.worker.identity);
    // A worker named by its pid gets a new workspace each start: remove those of this host's ended workers.
    if (!process.env['FLOW_WORKSPACE_DIR']?.trim() && !process.env['FLOW_WORKER_ID']?.trim()) {
      void removeEndedWorkspaces(defaultWorkspaceBase()).then(
        (removed) => {
          if (removed.length > 0)
            console.log(`[worker] removed the git workspaces of ended workers: ${removed.join(', ')}`);
        },
        (error: unknown) =>
          console.log(`[worker] could not remove ended workers' git workspaces: ${(error as Error).message}`),
      );
    }
  }
  // Starting runs and emitting events from activities: reconnect to a restarted Temporal as promptly as the gateway.
  const clientConnection = await waitForService(
    () => Connection.connect({ address, channelArgs: RECONNECT_CHANNEL_ARGS, interceptors: [retryWithinDeadline()] }),
    waiting,
  );
  if (!config.worker.workflows) {
    const running = (): void => void process.off('SIGINT', stopWhileWaiting).off('SIGTERM', stopWhileWaiting);
    await runActivityWorker({ config, actionPacks, clientConnection, waiting, running, mongo });
    return;
  }
  const added = await ensureSearchAttributes(clientConnection, namespace);
  if (added.length > 0) console.log(`[worker] registered search attributes in ${namespace}: ${added.join(', ')}`);
  const client = new Client({ connection: clientConnection, namespace });
  // The packs' actions too, so their defaults reach the runs this worker's dispatchers start.
  // Their queues too: each run's snapshot names the queue of every action it uses (built-ins on this worker's).
  const local = actionsById(workerActions(builtInActions, actionPacks));
  const store = new DefinitionStore(mongo, local, {
    actionQueues: actionQueues(builtInActions, actionPacks, taskQueue),
    // An action of a pack this worker did not load: its defaults and queue as its own workers published them.
    publishedActions: new ActionCatalog(local, catalogStore, { taskQueue }),
  });

  const metrics = createWorkerMetrics({ defaultMetrics: true });
  const metricsServer = await startMetricsServer(metrics.registry, config.worker.metricsPort);

  const connection = await waitForService(() => NativeConnection.connect({ address }), waiting);
  const worker = await createWorker({
    metrics,
    connection,
    namespace,
    taskQueue,
    client,
    registry: store,
    waits: new WaitStore(mongo, store),
    groups: new GroupStore(mongo),
    subscriptions: { store: new SubscriptionStore(mongo), deliveries: new SubscriptionDeliveries(mongo) },
    env: process.env,
    actionPacks,
    options: workerOptions(config),
  });
  const sweepMinutes = config.worker.workspaceSweepMinutes;
  const sweeper =
    sweepMinutes === null
      ? undefined
      : startWorkspaceSweeper({
          sweep: () => sweepWorkspace({ env: process.env, openWorkflowIds: openRunIds(client) }),
          intervalMs: sweepMinutes * 60_000,
          log: (line) => console.log(line),
        });
  console.log(
    `[worker] polling task queue "${taskQueue}" in namespace "${namespace}" at ${address} as ${config.worker.identity}; git workspace ${config.worker.workspaceDir}`,
  );
  if (sweepMinutes !== null)
    console.log(
      `[worker] removing ended runs' git worktrees from ${config.worker.workspaceDir} every ${sweepMinutes} min (FLOW_WORKSPACE_SWEEP_MINUTES)`,
    );
  process.off('SIGINT', stopWhileWaiting).off('SIGTERM', stopWhileWaiting);
  announceShutdown(config);
  process.send?.({ ready: 'worker' });
  try {
    await worker.run();
  } finally {
    await sweeper?.stop();
    metricsServer?.close();
    await Promise.allSettled([connection.close(), clientConnection.close(), mongo.close()]);
  }
}

/**
 * `FLOW_WORKER_WORKFLOWS=off`: a worker on `FLOW_TASK_QUEUE` that runs only its packs' actions, with its own
 * environment. It needs MongoDB only at start, to publish its packs; it registers no search attribute and sweeps no
 * git workspace (it runs no git action).
 */
async function runActivityWorker(setup: {
  readonly config: FlowConfig;
  readonly actionPacks: readonly LoadedActionPack[];
  readonly clientConnection: Connection;
  readonly waiting: { readonly what: string; readonly log: (line: string) => void };
  /** Called once the worker is made: signals then drain it rather than end the process. */
  readonly running: () => void;
  /** The registry its packs were published to; closed here, as this worker reads nothing from it. */
  readonly mongo: MongoHandle;
}): Promise<void> {
  const { config, actionPacks, clientConnection, waiting, running } = setup;
  await setup.mongo.close();
  const { address, namespace, taskQueue } = config.temporal;
  if (actionPacks.length === 0) {
    throw new ConfigError(
      'FLOW_WORKER_WORKFLOWS',
      'FLOW_WORKER_WORKFLOWS=off starts a worker that runs only its packs, but FLOW_ACTION_PACKS names none; name the packs it runs',
    );
  }
  const metrics = createWorkerMetrics({ defaultMetrics: true });
  const metricsServer = await startMetricsServer(metrics.registry, config.worker.metricsPort);
  const connection = await waitForService(() => NativeConnection.connect({ address }), waiting);
  const worker = await createWorker({
    workflows: false,
    metrics,
    connection,
    namespace,
    taskQueue,
    client: new Client({ connection: clientConnection, namespace }),
    env: process.env,
    actionPacks,
    options: workerOptions(config, { workflows: false }),
  });
  const ids = actionPacks.flatMap(({ pack }) => pack.actions.map(({ id }) => id));
  console.log(
    `[worker] polling task queue "${taskQueue}" in namespace "${namespace}" at ${address} for activities only (FLOW_WORKER_WORKFLOWS=off): ${ids.join(', ')}`,
  );
  running();
  announceShutdown(config);
  process.send?.({ ready: 'worker' });
  try {
    await worker.run();
  } finally {
    metricsServer?.close();
    await Promise.allSettled([connection.close(), clientConnection.close()]);
  }
}

/** Says what a SIGINT or SIGTERM does to a running worker (the Temporal runtime does the shutdown itself). */
function announceShutdown(config: FlowConfig): void {
  const announce = (signal: NodeJS.Signals): void => {
    console.log(
      `[worker] ${signal}: no longer polling; letting running activities finish (up to ${config.shutdownGraceMs / 1000}s, FLOW_SHUTDOWN_GRACE)`,
    );
  };
  process.once('SIGINT', announce).once('SIGTERM', announce);
}

async function startMetricsServer(registry: Registry, port: number | null): Promise<Server | undefined> {
  if (port === null) return undefined;
  try {
    const server = await serveMetrics(registry, port);
    console.log(`[worker] metrics at http://localhost:${port}/metrics`);
    return server;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} for the worker's metrics is in use (another worker on this machine?); set FLOW_WORKER_METRICS_PORT to a free port, or to "off".`,
        { cause: error },
      );
    }
    throw error;
  }
}

main().then(
  () => {
    console.log('[worker] stopped');
    process.exit(0);
  },
  (error: unknown) => {
    console.error(`[worker] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
