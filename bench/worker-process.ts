/**
 * A benchmark worker, run as its own process so the load generator never shares its event loop and its memory can
 * be read on its own: `kind: flow` is Flow's worker (every catalog action plus `bench.noop`, metrics sinks and
 * interceptors, and subscriptions' lookup and delivery, as `workers/main.ts` wires them); `kind: baseline` runs the hand-written workflows. Both load a
 * workflow bundle that the runner built once. The parent talks to it over IPC (see `WorkerRequest`).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { actions } from '../activities';
import { SubscriptionDeliveries } from '../activities/subscriptions';
import { loadConfig } from '../config';
import { DefinitionStore, openMongo, SubscriptionStore, WaitStore } from '../registry';
import { createWorker } from '../workers/create-worker';
import { createWorkerMetrics } from '../workers/metrics';
import { baselineActivities } from './baseline/activities';
import { benchCatalog, benchNoop } from './noop-action';

/** How the runner configures a worker process (JSON in `BENCH_WORKER`). */
export interface WorkerProcessOptions {
  readonly kind: 'flow' | 'baseline';
  readonly taskQueue: string;
  /** The prebuilt workflow bundle (`bundleWorkflowCode`'s code, written to a file). */
  readonly bundlePath: string;
  readonly maxCachedWorkflows?: number;
}

/** What the parent may ask. */
export type WorkerRequest = { readonly id: number; readonly type: 'status'; readonly gc?: boolean };

/** The answer to a `status` request. */
export interface WorkerStatusReply {
  readonly id: number;
  readonly type: 'status';
  readonly cachedWorkflows: number;
  readonly inFlightActivations: number;
  readonly inFlightActivities: number;
  /** `process.memoryUsage()`; after a full garbage collection when the request asked for one (`--expose-gc`). */
  readonly memory: NodeJS.MemoryUsage;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env['BENCH_WORKER'] ?? '') as WorkerProcessOptions;
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger(config.worker.logLevel) });
  const { address, namespace } = config.temporal;
  const connection = await NativeConnection.connect({ address });
  const closers: (() => Promise<void>)[] = [() => connection.close()];
  const common = {
    workflowBundle: { codePath: options.bundlePath },
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  };

  let worker: Worker;
  /** Runs the worker (both of Flow's: the main one and the trains' watchers) until shutdown. */
  let run: () => Promise<void>;
  let shutdown: () => void;
  if (options.kind === 'flow') {
    const clientConnection = Connection.lazy({ address });
    const client = new Client({ connection: clientConnection, namespace });
    const mongo = openMongo(config.mongodb);
    const store = new DefinitionStore(mongo, benchCatalog());
    closers.push(
      () => clientConnection.close(),
      () => mongo.close(),
    );
    const flow = await createWorker({
      connection,
      namespace,
      taskQueue: options.taskQueue,
      client,
      registry: store,
      waits: new WaitStore(mongo, store),
      // As workers/main.ts: dispatchers find the subscriptions bound to their event and notify them.
      subscriptions: { store: new SubscriptionStore(mongo), deliveries: new SubscriptionDeliveries(mongo) },
      env: process.env,
      actions: [...actions, benchNoop],
      metrics: createWorkerMetrics({ defaultMetrics: true }),
      workflowBundle: common.workflowBundle,
      ...(options.maxCachedWorkflows === undefined
        ? {}
        : { options: { maxCachedWorkflows: options.maxCachedWorkflows } }),
    });
    worker = flow.worker;
    run = () => flow.run();
    shutdown = () => flow.shutdown();
  } else {
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue: options.taskQueue,
      activities: baselineActivities,
      ...common,
    });
    const baseline = worker;
    run = () => baseline.run();
    shutdown = () => baseline.shutdown();
  }

  process.on('message', (message: WorkerRequest) => {
    if (message.type === 'status') process.send?.(status(worker, message.id, message.gc === true));
  });
  // The runner is gone (crashed or killed): stop rather than poll forever.
  process.on('disconnect', () => {
    if (worker.getState() === 'RUNNING') shutdown();
  });
  process.once('SIGTERM', () => shutdown());
  process.once('SIGINT', () => shutdown());

  const running = run();
  process.send?.({ ready: 'bench-worker' });
  try {
    await running;
  } finally {
    await Promise.allSettled(closers.map((close) => close()));
  }
}

function status(worker: Worker, id: number, gc: boolean): WorkerStatusReply {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const current = worker.getStatus();
  return {
    id,
    type: 'status',
    cachedWorkflows: current.numCachedWorkflows,
    inFlightActivations: current.numInFlightWorkflowActivations,
    inFlightActivities: current.numInFlightActivities,
    memory: process.memoryUsage(),
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`[bench worker] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
