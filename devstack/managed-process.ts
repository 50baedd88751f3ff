import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** The IPC message Flow's entry points (`workers/main.ts`, `gateway/main.ts`) send once they are ready. */
export const isReadyMessage = (message: unknown): message is { ready: string } =>
  typeof message === 'object' && message !== null && 'ready' in message;

/**
 * How a managed process's output is handled: appended to a log file; echoed line by line after a prefix; or both,
 * where every line goes to the log file and `echo` picks (and may rewrite) the lines a person should see.
 */
export type OutputMode =
  { readonly logFile: string; readonly echo?: (line: string) => string | undefined } | { readonly prefix: string };

/** Options for {@link ManagedProcess.start}. */
export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly output: OutputMode;
  /** Opens an IPC channel so the child can report readiness with `process.send`. */
  readonly ipc?: boolean;
}

/** How a process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A child process started by the dev launcher or the test fixture. It is spawned without a shell and in the
 * launcher's process group, so Ctrl-C in a terminal reaches it too, and {@link stop} escalates from SIGTERM to
 * SIGKILL so nothing is left behind.
 */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly logFile: string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
      child.once('error', () => {
        this.status ??= { code: null, signal: null };
        resolve(this.status);
      });
    });
  }

  /** Spawns `command` with an argv array (never a shell string). */
  static start(name: string, command: string, args: readonly string[], options: StartOptions): ManagedProcess {
    const { output } = options;
    let stdio: ('ignore' | 'pipe' | 'ipc' | number)[];
    let logFile: string | undefined;
    let log: fs.WriteStream | undefined;
    if ('logFile' in output) {
      logFile = output.logFile;
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      if (output.echo) {
        log = fs.createWriteStream(logFile, { flags: 'a' });
        stdio = ['ignore', 'pipe', 'pipe'];
      } else {
        const fd = fs.openSync(logFile, 'a');
        stdio = ['ignore', fd, fd];
      }
    } else {
      stdio = ['ignore', 'pipe', 'pipe'];
    }
    if (options.ipc) stdio.push('ipc');
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio });
    for (const fd of new Set(stdio)) if (typeof fd === 'number') fs.closeSync(fd);
    const show = 'prefix' in output ? (line: string) => `${output.prefix}${line}` : output.echo;
    if (show) {
      let open = 0;
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        open++;
        readline
          .createInterface({ input: stream })
          .on('line', (line) => {
            log?.write(`${line}\n`);
            const shown = show(line);
            if (shown !== undefined) process.stdout.write(`${shown}\n`);
          })
          .on('close', () => {
            if (--open === 0) log?.end();
          });
      }
    }
    return new ManagedProcess(name, child, logFile);
  }

  /** The child's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.status === undefined;
  }

  /** Resolves with the first IPC message that satisfies `accept`, or rejects when the process exits first. */
  waitForMessage<T>(accept: (message: unknown) => message is T, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${this.name} did not report ready within ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
      const onMessage = (message: unknown): void => {
        if (accept(message)) finish(undefined, message);
      };
      const finish = (error?: Error, message?: T): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        if (error) reject(error);
        else resolve(message as T);
      };
      this.child.on('message', onMessage);
      void this.exited.then((status) =>
        finish(new Error(`${this.name} exited (${describeExit(status)}) before it was ready`)),
      );
    });
  }

  /** Asks the process to stop with SIGTERM and kills it when it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines of the process's log file, for error messages. */
  logTail(lines = 20): string {
    if (!this.logFile) return '';
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Where the process writes its output, when it writes to a file. */
  get logPath(): string | undefined {
    return this.logFile;
  }
}

/** A short human description of an exit status, such as `exit code 1` or `signal SIGKILL`. */
export function describeExit(status: ExitStatus): string {
  if (status.signal) return `signal ${status.signal}`;
  return status.code === null ? 'failed to start' : `exit code ${status.code}`;
}
