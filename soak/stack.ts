import { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot, toolsDir } from '../config';
import { isReadyMessage, ManagedProcess } from '../devstack/managed-process';
import { startFerretDb, waitForMongo } from '../devstack/mongodb-server';
import { findFreePort } from '../devstack/ports';
import { silentProgress } from '../devstack/progress';
import { startTemporalDevServer, waitForTemporal } from '../devstack/temporal-server';
import { ensureFerretDb, ensureTemporalCli } from '../devstack/tools';
import { HttpReceiver } from '../test/support/http-receiver';
import { ReleaseWorld } from '../test/support/release-world';

/** Prints a progress line on stderr, so a long soak visibly moves. */
export function progress(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const NAMESPACE = 'default';
const TASK_QUEUE = 'soak';

/** The Jenkins job the soak's release runs trigger; it declares `FLOW_DELIVERY`, so a retry finds its build. */
export const SOAK_JOB = 'soak-build';

/** One service process the soak may kill and start again on the same port and data. */
class Restartable {
  private current: ManagedProcess | undefined;

  constructor(
    readonly name: string,
    private readonly launch: () => ManagedProcess,
    private readonly waitReady: (process: ManagedProcess) => Promise<void>,
  ) {}

  get running(): boolean {
    return this.current?.running ?? false;
  }

  /** Starts the process and waits until it answers. */
  async start(): Promise<void> {
    if (this.running) return;
    this.current = this.launch();
    await this.waitReady(this.current);
  }

  /** Kills the process at once (SIGKILL: no shutdown, as a crash or an OOM kill would). */
  async kill(): Promise<void> {
    const child = this.current;
    this.current = undefined;
    if (!child?.running) return;
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await child.stop(1_000);
  }

  async stop(): Promise<void> {
    const child = this.current;
    this.current = undefined;
    await child?.stop();
  }
}

/** A Flow process (gateway or worker) the soak started, as `npm start` runs it. */
export class FlowProcess {
  /** Set once the process reported ready (a gateway listens, a worker polls). */
  ready = false;

  constructor(
    readonly name: string,
    readonly child: ManagedProcess,
    /** Where a gateway answers; undefined for a worker. */
    readonly url?: string,
  ) {}

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    if (this.child.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    await this.child.stop(1_000);
  }
}

/**
 * Everything the soak drives, all real and on this machine: a Temporal dev server with its history in a file (so it
 * can be killed and restarted with its data), FerretDB (killable the same way), the release peers (git, Jira,
 * Jenkins, Slack, SMTP) and an HTTP receiver that counts what the runs send it, and Flow's own gateway and worker
 * entry points as separate processes.
 */
export class SoakStack {
  readonly flowProcesses: FlowProcess[] = [];
  private workerCount = 0;
  private gatewayCount = 0;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly scratch: string,
    readonly temporal: Restartable,
    readonly temporalAddress: string,
    readonly mongo: Restartable,
    readonly mongoUri: string,
    readonly connection: Connection,
    readonly client: Client,
    readonly world: ReleaseWorld,
    readonly receiver: HttpReceiver,
    readonly token: string,
  ) {}

  static async start(): Promise<SoakStack> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-soak-'));
    const tools = { toolsDir: toolsDir(), env: process.env, progress: silentProgress };
    const [cli, ferret] = await Promise.all([ensureTemporalCli(tools), ensureFerretDb(tools)]);
    const [temporalPort, mongoPort] = [await findFreePort(), await findFreePort()];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const temporal = new Restartable(
      'temporal',
      () =>
        startTemporalDevServer({
          cli: cli.path,
          port: temporalPort,
          uiPort: null,
          namespace: NAMESPACE,
          logFile: path.join(scratch, 'temporal.log'),
          dbFile: path.join(scratch, 'temporal.db'),
        }),
      (process) => waitForTemporal(temporalAddress, NAMESPACE, { process, timeoutMs: 120_000 }),
    );
    const mongoUri = `mongodb://127.0.0.1:${mongoPort}/flow`;
    const mongo = new Restartable(
      'ferretdb',
      () =>
        startFerretDb({
          binary: ferret.path,
          port: mongoPort,
          dataDir: path.join(scratch, 'ferretdb'),
          logFile: path.join(scratch, 'ferretdb.log'),
        }),
      (process) => waitForMongo(mongoUri, { process, timeoutMs: 60_000 }),
    );
    let world: ReleaseWorld | undefined;
    try {
      await Promise.all([temporal.start(), mongo.start()]);
      world = await ReleaseWorld.start();
    } catch (error) {
      await Promise.all([temporal.stop(), mongo.stop(), world?.stop()]);
      throw error;
    }
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: NAMESPACE });
    world.jenkins.addJob(SOAK_JOB, 1, { parameters: ['FLOW_DELIVERY', 'TICKET'] });
    const receiver = await HttpReceiver.start();
    const token = randomBytes(24).toString('hex');
    progress(`Temporal ${temporalAddress}, FerretDB ${mongoUri}, logs in ${scratch}`);
    return new SoakStack(
      scratch,
      temporal,
      temporalAddress,
      mongo,
      mongoUri,
      connection,
      client,
      world,
      receiver,
      token,
    );
  }

  get taskQueue(): string {
    return TASK_QUEUE;
  }

  /** The gateways running now. */
  get gateways(): FlowProcess[] {
    return this.flowProcesses.filter((p) => p.url !== undefined && p.child.running);
  }

  /** The workers running now, polling or still starting. */
  get workers(): FlowProcess[] {
    return this.flowProcesses.filter((p) => p.url === undefined && p.child.running);
  }

  private spawn(
    entry: 'gateway/main.ts' | 'workers/main.ts',
    name: string,
    env: Record<string, string>,
  ): ManagedProcess {
    const child = ManagedProcess.start(
      name,
      process.execPath,
      ['--require', 'tsx/cjs', path.join(projectRoot, entry)],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: this.temporalAddress,
          TEMPORAL_NAMESPACE: NAMESPACE,
          MONGODB_URI: this.mongoUri,
          FLOW_TASK_QUEUE: TASK_QUEUE,
          FLOW_API_TOKEN: this.token,
          FLOW_DATA_DIR: this.scratch,
          FLOW_LOG_LEVEL: 'WARN',
          FLOW_HTTP_LOG_LEVEL: 'warn',
          FLOW_WORKER_METRICS_PORT: 'off',
          FLOW_WORKSPACE_SWEEP_MINUTES: 'off',
          ...env,
        },
        output: { logFile: path.join(this.scratch, `${name}.log`) },
        ipc: true,
      },
    );
    return child;
  }

  /** Starts a gateway on a free port and waits until it listens. */
  async startGateway(): Promise<FlowProcess> {
    this.gatewayCount += 1;
    const name = `gateway-${this.gatewayCount}`;
    const port = await findFreePort();
    // The soak sends thousands of events a minute from one source.
    const child = this.spawn('gateway/main.ts', name, { PORT: String(port), FLOW_RATE_LIMIT_PER_MINUTE: '10000000' });
    await waitReady(child, 120_000);
    const gateway = new FlowProcess(name, child, `http://127.0.0.1:${port}`);
    gateway.ready = true;
    this.flowProcesses.push(gateway);
    return gateway;
  }

  /**
   * Starts a worker and, unless `wait` is false, waits until it polls. A worker started while Temporal or MongoDB is
   * down reports ready only once it reaches them.
   */
  async startWorker(wait = true): Promise<FlowProcess> {
    this.workerCount += 1;
    const name = `worker-${this.workerCount}`;
    // Each worker has a name and a git workspace of its own, as two workers on one host must.
    const child = this.spawn('workers/main.ts', name, {
      ...this.world.workerEnv(),
      FLOW_WORKER_ID: name,
      FLOW_WORKSPACE_DIR: path.join(this.scratch, 'workspaces', name),
    });
    const worker = new FlowProcess(name, child);
    this.flowProcesses.push(worker);
    if (wait) {
      await waitReady(child, 180_000);
      worker.ready = true;
    } else
      void child.waitForMessage(isReadyMessage, 180_000).then(
        () => (worker.ready = true),
        () => undefined,
      );
    return worker;
  }

  /** Stops everything the soak started (once: a signal or a crash during the soak's own stop waits for it). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.flowProcesses.map((p) => p.child.stop(15_000)));
      await this.connection.close().catch(() => undefined);
      await Promise.all([this.temporal.stop(), this.mongo.stop(), this.world.stop(), this.receiver.stop()]);
      if (process.env['FLOW_SOAK_KEEP'] !== '1') fs.rmSync(this.scratch, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

async function waitReady(child: ManagedProcess, timeoutMs: number): Promise<void> {
  try {
    await child.waitForMessage(isReadyMessage, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- ${child.logPath ?? ''} (tail) ---\n${child.logTail(30)}`, {
      cause: error,
    });
  }
}
