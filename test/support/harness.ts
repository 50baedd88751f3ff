import type { Client } from '@temporalio/client';
import type { WorkerOptions, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import request from 'supertest';
import { actionsById, type ActivityDeps } from '../../activities';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { createApp, type GatewayDeps } from '../../gateway/app';
import { webhookAdapters } from '../../gateway/webhooks/adapters';
import type { HealthProbe } from '../../gateway/health';
import { SubscriptionDeliveries } from '../../activities/subscriptions';
import { DefinitionStore, GroupStore, openMongo, SubscriptionStore, WaitStore, type MongoHandle } from '../../registry';
import { createWorker, type FlowWorker } from '../../workers/create-worker';
import type { WorkerMetrics } from '../../workers/metrics';
import { bundleFlow, connectClient, connectWorker, testConfig, uniqueName } from './stack';

let workflowBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Flow's real workflow code, bundled once per test process. */
export function flowBundle(): Promise<WorkflowBundleWithSourceMap> {
  workflowBundle ??= bundleFlow();
  return workflowBundle;
}

/** A complete Flow on the test services: gateway app, store, client and (optionally) a worker, isolated per test. */
export interface Harness {
  readonly app: Express;
  readonly token: string;
  readonly client: Client;
  readonly store: DefinitionStore;
  /** The subscriptions the in-process worker's dispatchers find (docs/subscriptions.md). */
  readonly subscriptions: SubscriptionStore;
  readonly db: Db;
  readonly taskQueue: string;
  readonly worker?: FlowWorker;
  /** Authorization header value for the gateway. */
  readonly auth: string;
  /** Waits for an event's dispatcher and its first started run; resolves with both results. */
  finished(dispatcherWorkflowId: string): Promise<{ dispatch: DispatchResult; run: RunResult }>;
  /** POSTs an event to `/events/<source>/<type>` (with a new Idempotency-Key), waits for its dispatcher, and returns
   * the workflow id of the first run it started. */
  startRun(source: string, type: string, body: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Options for {@link startHarness}. */
export interface HarnessOptions {
  /** Start an in-process worker on the harness's task queue (default true). */
  readonly worker?: boolean;
  /** Overrides of the activities' dependencies, such as the environment. */
  readonly deps?: Partial<ActivityDeps>;
  /** Use this MongoDB instead of the fixture's, such as one the test stops and starts. */
  readonly mongo?: MongoHandle;
  readonly health?: Readonly<Record<string, HealthProbe>>;
  /** The gateway environment for webhooks (`FLOW_WEBHOOK_SECRET_*`, `FLOW_ALLOW_UNSIGNED`). */
  readonly webhookEnv?: Readonly<Record<string, string | undefined>>;
  /** Options of the in-process worker, such as a small number of activity slots. */
  readonly workerOptions?: Partial<WorkerOptions>;
  /** Count runs and step attempts of the in-process worker here. */
  readonly workerMetrics?: WorkerMetrics;
  /** Gateway options passed through to `createApp`. */
  readonly gateway?: Pick<
    GatewayDeps,
    'logger' | 'rateLimitPerMinute' | 'metrics' | 'extraTokens' | 'subscriptionLinks'
  >;
}

/** Starts a harness with its own database and task queue. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = testConfig();
  const taskQueue = uniqueName('tq');
  const ownMongo = options.mongo === undefined;
  const mongo =
    options.mongo ??
    openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('h').replace(/-/g, '_')}`,
    });
  const catalog = actionsById();
  const store = new DefinitionStore(mongo, catalog);
  const subscriptions = new SubscriptionStore(mongo);
  const { client, connection } = await connectClient();
  const intake = { client, taskQueue };
  const token = uniqueName('token');
  const app = createApp({
    health: options.health ?? {},
    apiToken: token,
    store,
    groups: new GroupStore(mongo),
    subscriptions,
    catalog,
    intake,
    webhooks: { adapters: webhookAdapters, env: options.webhookEnv ?? {} },
    ...options.gateway,
  });

  let worker: FlowWorker | undefined;
  let running: Promise<void> | undefined;
  const workerConnection = options.worker === false ? undefined : await connectWorker();
  if (workerConnection) {
    worker = await createWorker({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      client,
      registry: store,
      waits: new WaitStore(mongo, store),
      groups: new GroupStore(mongo),
      subscriptions: { store: subscriptions, deliveries: new SubscriptionDeliveries(mongo) },
      env: {},
      workflowBundle: await flowBundle(),
      ...(options.deps ? { activityOverrides: options.deps } : {}),
      ...(options.workerMetrics ? { metrics: options.workerMetrics } : {}),
      ...(options.workerOptions ? { options: options.workerOptions } : {}),
    });
    running = worker.run();
  }
  const auth = `Bearer ${token}`;
  /** Waits for a dispatcher and returns its result with the workflow id of the first run it started. */
  const firstRun = async (dispatcherWorkflowId: string): Promise<{ dispatch: DispatchResult; runId: string }> => {
    const dispatch = (await client.workflow.getHandle(dispatcherWorkflowId).result()) as DispatchResult;
    const first = dispatch.matched[0];
    if (!first) throw new Error(`event ${dispatch.eventId} started no run: ${JSON.stringify(dispatch.skipped)}`);
    return { dispatch, runId: first.workflowId };
  };
  return {
    app,
    token,
    client,
    store,
    subscriptions,
    db: mongo.db,
    taskQueue,
    ...(worker ? { worker } : {}),
    auth,
    async finished(dispatcherWorkflowId) {
      const { dispatch, runId } = await firstRun(dispatcherWorkflowId);
      const run = (await client.workflow.getHandle(runId).result()) as RunResult;
      return { dispatch, run };
    },
    async startRun(source, type, body) {
      const posted = await request(app)
        .post(`/events/${source}/${type}`)
        .set('Authorization', auth)
        .set('Idempotency-Key', uniqueName(type))
        .send(body);
      if (posted.status !== 202)
        throw new Error(`POST /events/${source}/${type}: ${posted.status} ${JSON.stringify(posted.body)}`);
      return (await firstRun(posted.body.workflowId as string)).runId;
    },
    async stop() {
      if (worker && running) {
        worker.shutdown();
        await running;
      }
      await workerConnection?.close();
      await connection.close();
      if (ownMongo) {
        await mongo.db.dropDatabase().catch(() => undefined);
        await mongo.close();
      }
    },
  };
}
