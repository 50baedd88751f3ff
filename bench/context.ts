import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Db, MongoClient } from 'mongodb';
import type { AnyAction } from '../activities';
import { loadConfig, redactUri, toolsDir } from '../config';
import { findFreePort } from '../devstack/ports';
import { startServices, type RunningServices } from '../devstack/services';
import {
  DefinitionStore,
  openMongo,
  parseDefinitionText,
  SubscriptionStore,
  validateDefinition,
  validateSubscription,
} from '../registry';
import { FakeSlack } from '../test/support/fake-slack';
import { ReleaseWorld } from '../test/support/release-world';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { bundleFlowWorkflows } from '../workers/create-worker';
import { cpuMsByProcess } from './cpu';
import { nowMs } from './load';
import { benchCatalog } from './noop-action';
import { ServiceProcess, WorkerProcess, type SpawnSettings } from './processes';
import type { WorkerProcessOptions } from './worker-process';

/** The bot token of the bench's own fake Slack. */
const BENCH_SLACK_TOKEN = 'xoxb-bench';

/** Prints a progress line on stderr, so a long run visibly moves. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Where the benchmarks run and what they talk to. */
export interface BenchEnvironment {
  readonly temporal: { readonly address: string; readonly namespace: string; readonly origin: string };
  readonly mongodb: { readonly uri: string; readonly database: string; readonly origin: string };
}

/** An answer of the gateway. */
export interface GatewayAnswer {
  readonly status: number;
  readonly body: { workflowId?: string; eventId?: string; duplicate?: boolean; detail?: string };
}

/** The hand-written receiver (`bench/baseline/receiver.ts`), running in its own process; see {@link BenchContext}. */
export interface Receiver {
  /** POSTs an event to the receiver's `/events/:source/:type` with its bearer token. */
  postEvent(source: string, type: string, body: object, idempotencyKey?: string): Promise<GatewayAnswer>;
  /**
   * POSTs an event to the receiver's `/runs/:mode`, which starts the hand-written three-POST workflow on the baseline
   * task queue (`remote`: activities; `local`: local activities).
   */
  postRun(mode: 'remote' | 'local', body: object, idempotencyKey: string): Promise<GatewayAnswer>;
}

/** Everything a scenario uses: one Flow stack and one baseline worker on the same Temporal server. */
export interface BenchContext {
  readonly env: BenchEnvironment;
  readonly client: Client;
  readonly store: DefinitionStore;
  readonly catalog: ReadonlyMap<string, AnyAction>;
  /** Flow's task queue: the gateway starts dispatchers on it and the Flow worker process polls it. */
  readonly flowTaskQueue: string;
  /** The baseline worker process polls this one. */
  readonly baselineTaskQueue: string;
  /** The baseline worker's process id, for reading its CPU time (`cpuMs()` reads Flow's processes only). */
  readonly baselineWorkerPid: number | undefined;
  /** The Temporal dev server's database file, when this run started one file-backed (`FLOW_BENCH_TEMPORAL_DB=file`). */
  readonly temporalDbFile?: string;
  /** A short tag unique to this bench run, for workflow ids and event keys. */
  readonly tag: string;
  /** The release use case's local peers, when the end-to-end scenario runs. */
  readonly world?: ReleaseWorld;
  /**
   * The Slack Web API the Flow workers talk to (`SLACK_API_URL`, `SLACK_TOKEN`): the release world's when it runs, else
   * one of the bench's own. Both have the channel `#releases`, which the app is a member of.
   */
  readonly slack: FakeSlack;
  /** The subscriptions of the benchmark's database (the Flow worker's dispatchers look them up). */
  readonly subscriptions: SubscriptionStore;
  /** POSTs an event to the gateway's `/events/:source/:type`. */
  postEvent(source: string, type: string, body: object, idempotencyKey?: string): Promise<GatewayAnswer>;
  /** POSTs a signed Jira webhook delivery to `/webhooks/jira`. */
  postJiraWebhook(body: object, deliveryId: string): Promise<GatewayAnswer>;
  /** The gateway's own timing of its start calls for `source` (`flow_dispatch_latency_seconds` from `/metrics`). */
  gatewayStartCalls(source: string): Promise<{ count: number; seconds: number }>;
  /** Validates a definition against the benchmark catalog and saves it. */
  saveDefinition(raw: unknown): Promise<void>;
  /** Validates a subscription (`validateSubscription`, owned by its `owner`) and saves it, as the gateway's API does. */
  saveSubscription(raw: { readonly owner: string } & Record<string, unknown>): Promise<void>;
  /** Empties the registry (drops the benchmark database), so a large registry does not slow later scenarios. */
  resetRegistry(): Promise<void>;
  /**
   * CPU milliseconds used so far by the runner, the gateway, the Flow worker, and the Temporal and MongoDB-wire servers
   * when this run started them (see `bench/cpu.ts`).
   */
  cpuMs(): Record<string, number>;
  /** Starts an extra worker process (Flow or baseline) on its own task queue, such as for a memory measurement. */
  startWorker(name: string, options: Omit<WorkerProcessOptions, 'bundlePath'>): Promise<WorkerProcess>;
  /**
   * Starts the hand-written receiver in its own process, starting dispatchers on Flow's task queue, or returns the one
   * already started. From then on `cpuMs()` reads its CPU time too, as `receiver`.
   */
  receiver(): Promise<Receiver>;
}

/** How to set the stack up. */
export interface ContextOptions {
  /** Start the release use case's peers and point the Flow worker at them. */
  readonly releaseWorld: boolean;
  /** Where the gateway and worker processes write their logs. */
  readonly logDir: string;
  /** Write CPU profiles of the gateway and worker processes here. */
  readonly profileDir?: string;
}

/** A context plus what tears it down. */
export interface OpenContext {
  readonly ctx: BenchContext;
  readonly close: () => Promise<void>;
}

/**
 * Sets up the benchmark stack: the services (`TEMPORAL_ADDRESS` and `MONGODB_URI` when set, else a local Temporal dev
 * server and MongoDB-wire server on free ports, as the test fixture starts them), a database of its own, both workflow
 * bundles (built once), the real gateway process and the Flow and baseline worker processes.
 */
export async function openContext(options: ContextOptions): Promise<OpenContext> {
  const tag = randomUUID().slice(0, 8);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-bench-'));
  const cleanups: (() => Promise<void>)[] = [async () => fs.rmSync(scratch, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  };
  const starting: Promise<unknown>[] = [];
  try {
    const fileBacked = process.env['FLOW_BENCH_TEMPORAL_DB']?.trim() === 'file';
    const services = await startBenchServices(scratch, fileBacked);
    cleanups.push(() => services.stop());
    const namespace = loadConfig().temporal.namespace;
    const database = `flow_bench_${tag}`;
    const env: BenchEnvironment = {
      temporal: { address: services.temporal.address, namespace, origin: services.temporal.origin },
      mongodb: { uri: withDatabase(services.mongodb.uri, database), database, origin: services.mongodb.origin },
    };
    progress(
      `Temporal ${env.temporal.address} (${env.temporal.origin}), MongoDB ${redactUri(env.mongodb.uri)} (${env.mongodb.origin})`,
    );

    const connection = await Connection.connect({ address: env.temporal.address });
    cleanups.push(() => connection.close());
    const added = await ensureSearchAttributes(connection, namespace);
    if (added.length > 0) progress(`registered search attributes ${added.join(', ')} in ${namespace}`);
    const client = new Client({ connection, namespace });

    const mongo = openMongo({ uri: env.mongodb.uri, database });
    cleanups.push(() => dropAndClose(mongo.client, mongo.db));
    const catalog = benchCatalog();
    const store = new DefinitionStore(mongo, catalog);
    const subscriptions = new SubscriptionStore(mongo);

    let world: ReleaseWorld | undefined;
    if (options.releaseWorld) {
      progress('starting the release use case peers (git repository, Jira, Jenkins, Slack, SMTP)');
      world = await ReleaseWorld.start();
      const started = world;
      cleanups.push(() => started.stop());
    }
    let slack: FakeSlack;
    if (world) slack = world.slack;
    else {
      const own = await new FakeSlack({ token: BENCH_SLACK_TOKEN }).start();
      cleanups.push(() => own.stop());
      slack = own;
    }

    const flowTaskQueue = `bench-flow-${tag}`;
    const baselineTaskQueue = `bench-baseline-${tag}`;
    const settings: SpawnSettings = {
      logDir: options.logDir,
      ...(options.profileDir ? { profileDir: options.profileDir } : {}),
    };
    const processEnv: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: env.temporal.address,
      TEMPORAL_NAMESPACE: namespace,
      MONGODB_URI: env.mongodb.uri,
      FLOW_TASK_QUEUE: flowTaskQueue,
      FLOW_DATA_DIR: scratch,
      FLOW_WORKER_METRICS_PORT: 'off',
    };
    // Subscriptions notify through Slack, so the Flow workers always have one to talk to.
    const workerEnv = {
      ...processEnv,
      SLACK_TOKEN: BENCH_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      ...world?.workerEnv(),
    };

    const token = `bench_${randomBytes(18).toString('base64url')}`;
    const webhookSecret = randomBytes(18).toString('hex');
    const port = await findFreePort();
    progress('starting the gateway; bundling the Flow and baseline workflow code');
    const gatewayStarted = ServiceProcess.start(
      'gateway',
      {
        ...processEnv,
        PORT: String(port),
        FLOW_API_TOKEN: token,
        // The benchmarks send thousands of events a minute from one source; the default limit is 600.
        FLOW_RATE_LIMIT_PER_MINUTE: '100000000',
        FLOW_WEBHOOK_SECRET_JIRA: webhookSecret,
      },
      port,
      settings,
    ).then((started) => {
      cleanups.push(() => started.stop());
      return started;
    });
    // Awaited below, or before cleaning up after a failure, so the gateway never outlives the run.
    starting.push(gatewayStarted.catch(() => undefined));
    const bundles = await writeBundles(scratch);
    const startWorker = async (
      name: string,
      workerOptions: Omit<WorkerProcessOptions, 'bundlePath'>,
    ): Promise<WorkerProcess> => {
      const bundlePath = workerOptions.kind === 'flow' ? bundles.flow : bundles.baseline;
      const worker = await WorkerProcess.start(name, { ...workerOptions, bundlePath }, workerEnv, settings);
      cleanups.push(() => worker.stop());
      return worker;
    };
    progress('starting the Flow and baseline workers');
    const [gateway, flowWorker, baselineWorker] = await Promise.all([
      gatewayStarted,
      startWorker('flow-worker', { kind: 'flow', taskQueue: flowTaskQueue }),
      startWorker('baseline-worker', { kind: 'baseline', taskQueue: baselineTaskQueue }),
    ]);
    const cpuPids: Record<string, number | undefined> = {
      gateway: gateway.pid,
      'flow worker': flowWorker.pid,
      'Temporal server': services.temporal.pid,
      'MongoDB server': services.mongodb.pid,
    };

    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    cleanups.push(async () => agent.destroy());
    // Both HTTP services take events the same way: a bearer token and an optional Idempotency-Key.
    const eventPoster =
      (url: string, bearer: string) =>
      (source: string, type: string, body: object, idempotencyKey?: string): Promise<GatewayAnswer> =>
        postJson(agent, `${url}/events/${source}/${type}`, JSON.stringify(body), {
          authorization: `Bearer ${bearer}`,
          ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        });
    let receiverStarted: Promise<Receiver> | undefined;
    const startReceiver = async (): Promise<Receiver> => {
      const receiverToken = `bench_${randomBytes(18).toString('base64url')}`;
      const receiverPort = await findFreePort();
      progress('starting the hand-written receiver');
      const started = await ServiceProcess.start(
        'receiver',
        {
          ...processEnv,
          PORT: String(receiverPort),
          BENCH_RECEIVER_TOKEN: receiverToken,
          BENCH_BASELINE_TASK_QUEUE: baselineTaskQueue,
        },
        receiverPort,
        settings,
      );
      cleanups.push(() => started.stop());
      cpuPids['receiver'] = started.pid;
      return {
        postEvent: eventPoster(started.url, receiverToken),
        postRun: (mode, body, idempotencyKey) =>
          postJson(agent, `${started.url}/runs/${mode}`, JSON.stringify(body), {
            authorization: `Bearer ${receiverToken}`,
            'idempotency-key': idempotencyKey,
          }),
      };
    };

    const ctx: BenchContext = {
      env,
      client,
      store,
      catalog,
      flowTaskQueue,
      baselineTaskQueue,
      baselineWorkerPid: baselineWorker.pid,
      tag,
      ...(fileBacked && services.temporal.origin === 'temporal dev server'
        ? { temporalDbFile: path.join(scratch, 'temporal.db') }
        : {}),
      ...(world ? { world } : {}),
      slack,
      subscriptions,
      postEvent: eventPoster(gateway.url, token),
      gatewayStartCalls: async (source) => {
        const text = await getText(agent, `${gateway.url}/metrics`);
        const read = (name: string): number => {
          const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{source="${source}"}`));
          return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
        };
        return {
          count: read('flow_dispatch_latency_seconds_count'),
          seconds: read('flow_dispatch_latency_seconds_sum'),
        };
      },
      postJiraWebhook: (body, deliveryId) => {
        const text = JSON.stringify(body);
        const signature = createHmac('sha256', webhookSecret).update(text).digest('hex');
        return postJson(agent, `${gateway.url}/webhooks/jira`, text, {
          'x-hub-signature': `sha256=${signature}`,
          'x-atlassian-webhook-identifier': deliveryId,
        });
      },
      saveDefinition: async (raw) => {
        const checked = validateDefinition(raw, catalog);
        if (!checked.ok) throw new Error(`invalid benchmark definition: ${JSON.stringify(checked.errors)}`);
        await store.save(checked.definition, { format: 'json' });
      },
      saveSubscription: async (raw) => {
        const checked = await validateSubscription(raw, { owner: raw.owner, definitions: store });
        if (!checked.ok) throw new Error(`invalid benchmark subscription: ${JSON.stringify(checked.errors)}`);
        await subscriptions.save(checked.subscription, raw.owner);
      },
      resetRegistry: async () => {
        await mongo.db.dropDatabase();
      },
      cpuMs: () => cpuMsByProcess(cpuPids),
      startWorker,
      receiver: () => (receiverStarted ??= startReceiver()),
    };
    return { ctx, close };
  } catch (error) {
    await Promise.allSettled(starting);
    await close();
    throw error;
  }
}

/** Parses and saves a YAML definition (the shipped examples) through the same validation. */
export function parseYamlDefinition(text: string): unknown {
  return parseDefinitionText(text, 'yaml');
}

async function startBenchServices(scratch: string, fileBacked: boolean): Promise<RunningServices> {
  const [temporalPort, mongoPort] = await Promise.all([findFreePort(), findFreePort()]);
  return startServices({
    env: process.env,
    dataDir: scratch,
    toolsDir: toolsDir(),
    progress: { step: (message) => progress(message), warn: (message) => progress(`warning: ${message}`) },
    namespace: loadConfig().temporal.namespace,
    // Local services are throwaway: a headless dev server, in-memory unless FLOW_BENCH_TEMPORAL_DB=file (then
    // `<scratch>/temporal.db`, as npm start keeps it), and a store under the scratch directory.
    temporal: { port: temporalPort, uiPort: null, persistent: fileBacked },
    mongodb: { port: mongoPort, database: 'flow_bench' },
  });
}

async function writeBundles(scratch: string): Promise<{ flow: string; baseline: string }> {
  const quiet = {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => progress(`webpack: ${message}`),
    error: (message: string) => progress(`webpack: ${message}`),
  };
  const paths = {
    flow: path.join(scratch, 'flow-workflows.js'),
    baseline: path.join(scratch, 'baseline-workflows.js'),
  };
  const [flow, baseline] = await Promise.all([
    bundleFlowWorkflows(quiet),
    bundleWorkflowCode({ workflowsPath: require.resolve('./baseline/workflows'), logger: quiet }),
  ]);
  fs.writeFileSync(paths.flow, flow.code);
  fs.writeFileSync(paths.baseline, baseline.code);
  return paths;
}

/**
 * POSTs JSON over a keep-alive connection. A request on a reused connection that the server closed at that moment
 * (its keep-alive timeout) is sent once more, as Node's documentation advises; the events carry an Idempotency-Key
 * or a delivery id, so a repeat is never a second event.
 */
async function postJson(
  agent: http.Agent,
  url: string,
  text: string,
  headers: Record<string, string>,
): Promise<GatewayAnswer> {
  try {
    return await postJsonOnce(agent, url, text, headers);
  } catch (error) {
    if ((error as { reusedSocket?: boolean }).reusedSocket !== true) throw error;
    return postJsonOnce(agent, url, text, headers);
  }
}

function postJsonOnce(
  agent: http.Agent,
  url: string,
  text: string,
  headers: Record<string, string>,
): Promise<GatewayAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let body: GatewayAnswer['body'];
          try {
            body = JSON.parse(raw) as GatewayAnswer['body'];
          } catch {
            body = { detail: raw.slice(0, 200) };
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
        response.on('error', reject);
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      const closedByServer = error.code === 'ECONNRESET' || error.message === 'socket hang up';
      reject(Object.assign(error, { reusedSocket: request.reusedSocket && closedByServer }));
    });
    request.end(text);
  });
}

function getText(agent: http.Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

async function dropAndClose(client: MongoClient, db: Db): Promise<void> {
  try {
    await db.dropDatabase();
  } finally {
    await client.close();
  }
}

/** Replaces the database path of a MongoDB URI, keeping its query string. */
export function withDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) throw new Error(`cannot parse MONGODB_URI ${redactUri(uri)}`);
  return `${match[1]}/${database}${match[2] ?? ''}`;
}

/** Sends an event and returns when the gateway answered, with the client-side send time. */
export async function timedPost(
  ctx: BenchContext,
  source: string,
  type: string,
  body: object,
  idempotencyKey: string,
): Promise<{ sentAt: number; workflowId: string }> {
  const sentAt = nowMs();
  const answer = await ctx.postEvent(source, type, body, idempotencyKey);
  if (answer.status !== 202 || !answer.body.workflowId)
    throw new Error(`the gateway answered ${answer.status}: ${answer.body.detail ?? JSON.stringify(answer.body)}`);
  return { sentAt, workflowId: answer.body.workflowId };
}
