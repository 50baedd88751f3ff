import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Parameters as FuzzParameters } from 'fast-check';

/**
 * How the bad-input fuzzers run. Every property runs `FLOW_FUZZ_RUNS` cases (10,000 unless set lower for a quick
 * local loop); `FLOW_FUZZ_SEED` replays the seed fast-check printed for a failure.
 */
export const RUNS = Number(process.env['FLOW_FUZZ_RUNS'] ?? 10_000);

/** fast-check parameters shared by every fuzz property. */
export function fuzzParameters<T>(extra: FuzzParameters<T> = {}): FuzzParameters<T> {
  const seed = process.env['FLOW_FUZZ_SEED'];
  return { numRuns: RUNS, ...(seed === undefined ? {} : { seed: Number(seed) }), ...extra };
}

/** Mocha timeout for one fuzz property: generous, since the point is that every case returns, not how fast. */
export const FUZZ_TIMEOUT_MS = 180_000;

/** Keys a hostile payload uses to reach prototypes. */
export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

const builtinPrototypes: readonly object[] = [
  Object.prototype,
  Array.prototype,
  Function.prototype,
  String.prototype,
  Number.prototype,
];
const ownNamesBefore = builtinPrototypes.map((proto) => Object.getOwnPropertyNames(proto).length);

/** Fails when anything added a property to a built-in prototype, such as `({}).polluted`. */
export function assertPrototypesIntact(): void {
  const probe: Record<string, unknown> = {};
  for (const key in probe) assert.fail(`Object.prototype gained an enumerable property ${JSON.stringify(key)}`);
  assert.equal(probe['polluted'], undefined, 'Object.prototype.polluted is set');
  assert.equal(([] as unknown as Record<string, unknown>)['polluted'], undefined, 'Array.prototype.polluted is set');
  builtinPrototypes.forEach((proto, index) => {
    assert.equal(Object.getOwnPropertyNames(proto).length, ownNamesBefore[index], 'a built-in prototype gained a key');
  });
  assert.equal(typeof Object.prototype.toString, 'function', 'Object.prototype.toString was replaced');
}

/** What one isolated child process did. */
export interface IsolatedOutcome {
  /** The last line the child printed to stdout, parsed as JSON, if it got that far. */
  readonly result?: unknown;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly ms: number;
  /** The last lines of stderr, for the failure message. */
  readonly stderr: string;
}

const REPO = path.resolve(__dirname, '..', '..');

/**
 * Runs `script` (CommonJS, with TypeScript loadable through tsx and the repository as working directory) in a child
 * process with a small heap and a deadline. Cases that could hang or exhaust memory run here, so a product bug fails
 * one test with a clear message instead of freezing or killing the whole mocha run. The script reports by printing
 * one line of JSON to stdout.
 */
export function runIsolated(
  script: string,
  { timeoutMs = 10_000, heapMb = 256 }: { timeoutMs?: number; heapMb?: number } = {},
): Promise<IsolatedOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--require', 'tsx/cjs', '-e', script], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1);
      let result: unknown;
      try {
        result = last ? (JSON.parse(last) as unknown) : undefined;
      } catch {
        result = undefined;
      }
      resolve({
        ...(result === undefined ? {} : { result }),
        exitCode,
        signal,
        timedOut,
        ms: Date.now() - started,
        stderr: stderr.split('\n').slice(-6).join('\n'),
      });
    });
  });
}

/** A one-line account of an isolated run that did not finish normally, for assertion messages. */
export function describeOutcome(outcome: IsolatedOutcome): string {
  if (outcome.timedOut) return `did not finish within the deadline (killed after ${outcome.ms} ms)`;
  if (outcome.signal !== null || outcome.exitCode !== 0) {
    const fatal = /FATAL ERROR[^\n]*/.exec(outcome.stderr)?.[0];
    return `the process died (exit ${String(outcome.exitCode)}, signal ${String(outcome.signal)}) after ${outcome.ms} ms${fatal ? `: ${fatal}` : ''}`;
  }
  return `finished after ${outcome.ms} ms with ${JSON.stringify(outcome.result)}`;
}
