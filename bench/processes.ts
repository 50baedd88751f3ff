import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';
import { isReadyMessage, ManagedProcess } from '../devstack/managed-process';
import type { WorkerProcessOptions, WorkerRequest, WorkerStatusReply } from './worker-process';

/** How child processes are started: Node flags shared by all of them, and where their logs and profiles go. */
export interface SpawnSettings {
  readonly logDir: string;
  /** Write `--cpu-prof` profiles of every child (one per thread) into `<profileDir>/<child>/` when it exits. */
  readonly profileDir?: string;
}

/** How long a child may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000;

/** Starts a TypeScript entry point with its output in `<logDir>/<name>.log`, and waits until it reports ready. */
async function startTs(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  settings: SpawnSettings,
  timeoutMs: number,
): Promise<ManagedProcess> {
  const logFile = path.join(settings.logDir, `${name}.log`);
  fs.rmSync(logFile, { force: true });
  const flags = ['--expose-gc'];
  // A folder per process and Node's own file names (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`): a worker's
  // workflow threads write profiles of their own (thread 0 is the main thread), which one fixed name would overwrite.
  if (settings.profileDir) flags.push('--cpu-prof', `--cpu-prof-dir=${path.join(settings.profileDir, name)}`);
  const child = ManagedProcess.start(name, process.execPath, [...flags, '--require', 'tsx/cjs', script], {
    cwd: projectRoot,
    env,
    output: { logFile },
    ipc: true,
  });
  try {
    await child.waitForMessage(isReadyMessage, timeoutMs);
  } catch (error) {
    await child.stop(0);
    throw new Error(`${(error as Error).message}\n--- ${logFile} (tail) ---\n${child.logTail(30)}`, { cause: error });
  }
  return child;
}

/** The entry point of each HTTP service the bench runs in a process of its own. */
const SERVICE_SCRIPTS = {
  /** The real gateway, as deployed. */
  gateway: 'gateway/main.ts',
  /** The hand-written receiver that the intake scenario compares the gateway with (`bench/baseline/receiver.ts`). */
  receiver: 'bench/receiver-process.ts',
} as const;

/** An HTTP service in its own process: the real gateway (`gateway/main.ts`) or the hand-written receiver. */
export class ServiceProcess {
  private constructor(
    private readonly child: ManagedProcess,
    readonly url: string,
  ) {}

  /** Starts the service with `env` and waits until it listens on `port`. */
  static async start(
    service: keyof typeof SERVICE_SCRIPTS,
    env: NodeJS.ProcessEnv,
    port: number,
    settings: SpawnSettings,
  ): Promise<ServiceProcess> {
    const child = await startTs(service, SERVICE_SCRIPTS[service], env, settings, 120_000);
    return new ServiceProcess(child, `http://127.0.0.1:${port}`);
  }

  get logFile(): string {
    return this.child.logPath!;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    await this.child.stop(STOP_GRACE_MS);
  }
}

/** A benchmark worker process (`bench/worker-process.ts`); SIGTERM makes it drain and exit. */
export class WorkerProcess {
  private nextId = 1;

  private constructor(
    private readonly child: ManagedProcess,
    readonly options: WorkerProcessOptions,
  ) {}

  /** Starts a worker process and waits until it polls its task queue. */
  static async start(
    name: string,
    options: WorkerProcessOptions,
    env: NodeJS.ProcessEnv,
    settings: SpawnSettings,
  ): Promise<WorkerProcess> {
    const workerEnv = { ...env, BENCH_WORKER: JSON.stringify(options) };
    const child = await startTs(name, 'bench/worker-process.ts', workerEnv, settings, 180_000);
    return new WorkerProcess(child, options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The worker's cache and in-flight counts and its memory, after a full GC when `gc` is set. */
  async status(gc = false): Promise<WorkerStatusReply> {
    const id = this.nextId++;
    const isReply = (message: unknown): message is WorkerStatusReply =>
      (message as Partial<WorkerStatusReply>).type === 'status' && (message as WorkerStatusReply).id === id;
    const reply = this.child.waitForMessage(isReply, 120_000);
    this.child.child.send({ id, type: 'status', gc } satisfies WorkerRequest);
    try {
      return await reply;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.child.logTail(30)}`, { cause: error });
    }
  }

  async stop(): Promise<void> {
    await this.child.stop(STOP_GRACE_MS);
  }
}
