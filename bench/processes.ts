import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';
import type { WorkerProcessOptions, WorkerRequest, WorkerStatusReply } from './worker-process';

/** How child processes are started: Node flags shared by all of them, and where their logs and profiles go. */
export interface SpawnSettings {
  readonly logDir: string;
  /** Write a `--cpu-prof` profile of every child into this directory when it exits. */
  readonly profileDir?: string;
}

/** A child process that announced it is ready over IPC. */
class ReadyChild {
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }

  /** Resolves when the child sends a message with `ready`; rejects with its log's tail when it exits first. */
  async ready(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.name} was not ready after ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      const onMessage = (message: unknown): void => {
        const m = message as { ready?: unknown; type?: unknown };
        if (m.ready !== undefined || m.type === 'ready') done();
      };
      const onExit = (code: number | null): void =>
        fail(new Error(`${this.name} exited with code ${code} before it was ready`));
      const cleanup = (): void => {
        clearTimeout(timer);
        this.process.off('message', onMessage);
        this.process.off('exit', onExit);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const fail = (error: Error): void => {
        cleanup();
        if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
        reject(new Error(`${error.message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`));
      };
      this.process.on('message', onMessage);
      this.process.once('exit', onExit);
    });
  }

  /** Asks the child to stop (`ask`), then SIGTERM, then SIGKILL; resolves once it has exited. */
  async stop(ask: () => void, graceMs = 15_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    try {
      ask();
    } catch {
      this.process.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function spawnTs(name: string, script: string, env: NodeJS.ProcessEnv, settings: SpawnSettings): ReadyChild {
  fs.mkdirSync(settings.logDir, { recursive: true });
  const logFile = path.join(settings.logDir, `${name}.log`);
  const log = fs.openSync(logFile, 'w');
  const flags = ['--expose-gc'];
  if (settings.profileDir)
    flags.push('--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`);
  const child = spawn(process.execPath, [...flags, '--require', 'tsx/cjs', script], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', log, log, 'ipc'],
  });
  fs.closeSync(log);
  return new ReadyChild(name, child, logFile);
}

/** The real gateway (`gateway/main.ts`) in its own process, as deployed. */
export class GatewayProcess {
  private constructor(
    private readonly child: ReadyChild,
    readonly url: string,
  ) {}

  /** Starts `gateway/main.ts` with `env` and waits until it listens. */
  static async start(env: NodeJS.ProcessEnv, port: number, settings: SpawnSettings): Promise<GatewayProcess> {
    const child = spawnTs('gateway', 'gateway/main.ts', env, settings);
    await child.ready(120_000);
    return new GatewayProcess(child, `http://127.0.0.1:${port}`);
  }

  get logFile(): string {
    return this.child.logFile;
  }

  async stop(): Promise<void> {
    await this.child.stop(() => this.child.process.kill('SIGTERM'));
  }
}

/** A benchmark worker process (`bench/worker-process.ts`). */
export class WorkerProcess {
  private nextId = 1;

  private constructor(
    private readonly child: ReadyChild,
    readonly options: WorkerProcessOptions,
  ) {}

  /** Starts a worker process and waits until it polls its task queue. */
  static async start(
    name: string,
    options: WorkerProcessOptions,
    env: NodeJS.ProcessEnv,
    settings: SpawnSettings,
  ): Promise<WorkerProcess> {
    const child = spawnTs(name, 'bench/worker-process.ts', { ...env, BENCH_WORKER: JSON.stringify(options) }, settings);
    await child.ready(180_000);
    return new WorkerProcess(child, options);
  }

  get pid(): number | undefined {
    return this.child.process.pid;
  }

  /** The worker's cache and in-flight counts and its memory, after a full GC when `gc` is set. */
  status(gc = false): Promise<WorkerStatusReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        const reply = message as Partial<WorkerStatusReply>;
        if (reply.type === 'status' && reply.id === id) {
          this.child.process.off('message', onMessage);
          this.child.process.off('exit', onExit);
          resolve(reply as WorkerStatusReply);
        }
      };
      const onExit = (): void => reject(new Error(`${this.child.name} exited\n${tail(this.child.logFile)}`));
      this.child.process.on('message', onMessage);
      this.child.process.once('exit', onExit);
      this.child.process.send({ id, type: 'status', gc } satisfies WorkerRequest);
    });
  }

  async stop(): Promise<void> {
    await this.child.stop(() => this.child.process.send({ type: 'stop' } satisfies WorkerRequest));
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
