import { spawn } from 'node:child_process';
import { OutputTail, TAIL_MAX_BYTES, TAIL_MAX_LINES, type OutputStream } from './output-tail';

/** PATH for a child whose environment does not name one. */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  readonly cwd?: string;
  /** The child's whole environment: nothing is inherited from the worker. Defaults to `PATH` only. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kills the process group after this long; the result then has `timed_out: true`. */
  readonly timeoutMs?: number;
  /** Aborting kills the process group, waits for it to exit, then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Receives the output tail as soon as there is output, then every `progressIntervalMs` until the process exits,
   * silent or not, so callers can heartbeat from it.
   */
  readonly onProgress?: (outputTail: string) => void;
  readonly progressIntervalMs?: number;
  /** Receives every complete line, including those that have already left the tail. */
  readonly onLine?: (line: string, stream: OutputStream) => void;
  /** How long a process may take to exit after SIGTERM before its group gets SIGKILL. */
  readonly killGraceMs?: number;
  readonly maxTailLines?: number;
  readonly maxTailBytes?: number;
}

/** How a command ended. */
export interface CommandResult {
  /** Null when the process was ended by a signal. */
  readonly exit_code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr, merged. */
  readonly output_tail: string;
  readonly duration_ms: number;
  readonly timed_out: boolean;
}

/** The process could not be started at all: the tool does not exist, is not executable, or cwd is missing. */
export class CommandStartError extends Error {
  constructor(
    readonly command: string,
    readonly code: string | undefined,
    cause: Error,
  ) {
    super(`could not start ${command}: ${cause.message}`, { cause });
    this.name = 'CommandStartError';
  }
}

const DEFAULT_PROGRESS_INTERVAL_MS = 2_000;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** How long pipes may stay open after the process exited: a background child it left behind may hold them. */
const PIPE_DRAIN_MS = 2_000;

/**
 * Runs `argv[0]` with the arguments `argv[1..]` and no shell, so no argument is ever parsed by one. The process leads
 * its own process group, so a timeout or an abort ends everything it started, not only the process itself. The
 * promise resolves however the process ends (look at `exit_code`, `signal` and `timed_out`), except on abort, and
 * rejects with {@link CommandStartError} when the process cannot start.
 */
export async function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new TypeError('runCommand needs at least the command');
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);

  const started = Date.now();
  // A callback that throws (a heartbeat after cancellation) must not surface as an uncaught exception in a pipe
  // handler: it stops the command instead and becomes the outcome.
  let callbackError: { error: unknown } | undefined;
  let stopForCallbackError = (): void => {};
  const guarded =
    <A extends unknown[]>(callback: (...a: A) => void) =>
    (...a: A): void => {
      if (callbackError) return;
      try {
        callback(...a);
      } catch (error) {
        callbackError = { error };
        stopForCallbackError();
      }
    };
  const onLine = options.onLine;
  const tail = new OutputTail(
    options.maxTailLines ?? TAIL_MAX_LINES,
    options.maxTailBytes ?? TAIL_MAX_BYTES,
    onLine && guarded(onLine),
  );
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? { PATH: DEFAULT_PATH },
    shell: false,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  return new Promise<CommandResult>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let openPipes = 2;
    let terminating = false;
    let timedOut = false;
    let settled = false;
    let lastProgress = 0;

    const killGroup = (killSignal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, killSignal);
      } catch {
        // ESRCH: every process of the group has exited already.
      }
    };
    const terminate = (): void => {
      if (terminating) return;
      terminating = true;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
    };
    const onProgress = options.onProgress && guarded(options.onProgress);
    const progress = (): void => {
      if (!onProgress || settled) return;
      lastProgress = Date.now();
      onProgress(tail.toString());
    };
    stopForCallbackError = terminate;
    const interval = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    const onAbort = (): void => terminate();

    const finish = (): void => {
      if (settled || exit === undefined) return;
      // A process that was told to stop may have left others in its group that ignore SIGTERM.
      if (terminating) killGroup('SIGKILL');
      tail.end();
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (callbackError) {
        reject(asError(callbackError.error));
        return;
      }
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      resolve({
        exit_code: exit.code,
        signal: exit.signal,
        output_tail: tail.toString(),
        duration_ms: Date.now() - started,
        timed_out: timedOut,
      });
    };

    for (const [stream, pipe] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      pipe.on('data', (chunk: Buffer) => {
        tail.write(stream, chunk);
        if (Date.now() - lastProgress >= interval) progress();
      });
      pipe.on('close', () => {
        openPipes -= 1;
        if (openPipes === 0) finish();
      });
    }

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Without a pid the process never started; later errors (a failed kill) change nothing about the outcome.
      if (child.pid !== undefined || settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(new CommandStartError(command, error.code, error));
    });

    child.on('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      if (openPipes === 0) {
        finish();
        return;
      }
      timers.push(
        setTimeout(() => {
          // Whatever still holds the pipes was started by this command and outlived it: end it and stop reading.
          killGroup('SIGKILL');
          child.stdout.destroy();
          child.stderr.destroy();
          finish();
        }, PIPE_DRAIN_MS),
      );
    });

    if (child.pid === undefined) return;
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          terminate();
        }, options.timeoutMs),
      );
    }
    if (onProgress) {
      // Half the interval absorbs timer jitter, so a silent process still reports once per interval.
      const ticker = setInterval(() => {
        if (Date.now() - lastProgress >= interval / 2) progress();
      }, interval);
      timers.push(ticker);
    }
  });
}

/** The signal's reason as given (Temporal's CancelledFailure on cancellation), wrapped only if it is no Error. */
function abortReason(signal: AbortSignal): Error {
  return asError(signal.reason ?? new Error('aborted'));
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
