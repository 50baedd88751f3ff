/**
 * What the flowctl tests share: a real gateway listening on 127.0.0.1 (the harness's app with a worker, on the test
 * services), and the real `bin/flowctl` run as a child process against it. Every run is checked for the token: it
 * must never appear on stdout or stderr.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../config';
import type { ApiToken } from '../../gateway/auth';
import { startHarness, type Harness } from '../support/harness';

/** The flowctl binary, as `npx flowctl` runs it. */
export const FLOWCTL = path.join(projectRoot, 'bin', 'flowctl');

/** A write token with a name of its own, which approval steps list as an approver. */
export const ALICE: ApiToken = { token: 'alice-cli-write-token-0123456789abcdef', scope: 'write', name: 'alice' };
/** A read token. */
export const READER: ApiToken = { token: 'reader-cli-read-token-0123456789abcdef', scope: 'read', name: 'reader' };

/** What one flowctl run printed and how it exited. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of one run. */
export interface RunOptions {
  /** Extra environment (FLOW_TOKEN, FLOW_URL, …); `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  readonly cwd?: string;
}

/** A gateway for flowctl to talk to, and a way to run flowctl against it. */
export interface CliWorld {
  readonly harness: Harness;
  readonly url: string;
  /** A scratch folder, removed by {@link CliWorld.stop}; HOME and XDG_CONFIG_HOME of every run point into it. */
  readonly dir: string;
  /** Runs `flowctl args…` with FLOW_URL and FLOW_TOKEN set to this gateway and the harness token. */
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  stop(): Promise<void>;
}

/** Starts a gateway with a worker, listening on a free port. */
export async function startCliWorld(): Promise<CliWorld> {
  const harness = await startHarness({ gateway: { extraTokens: [ALICE, READER] } });
  const server: Server = harness.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowctl-test-'));
  const secrets = [harness.token, ALICE.token, READER.token];
  return {
    harness,
    url,
    dir,
    async run(args, options = {}) {
      const result = await runFlowctl(args, {
        ...options,
        env: {
          FLOW_URL: url,
          FLOW_TOKEN: harness.token,
          HOME: path.join(dir, 'home'),
          XDG_CONFIG_HOME: path.join(dir, 'config'),
          ...options.env,
        },
      });
      for (const secret of secrets) {
        assert.ok(!result.stdout.includes(secret), `flowctl ${args.join(' ')} printed a token on stdout`);
        assert.ok(!result.stderr.includes(secret), `flowctl ${args.join(' ')} printed a token on stderr`);
      }
      return result;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await harness.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the real flowctl binary; the environment is the test's minus any FLOW_* and NO_COLOR set, plus `env`. */
export async function runFlowctl(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('FLOW_')) env[key] = value;
  env['NO_COLOR'] = '1';
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [FLOWCTL, ...args],
      { env, cwd: options.cwd ?? projectRoot, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`flowctl ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Asserts an exit code, showing what flowctl printed when it differs. */
export function assertExit(result: CliResult, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
}
