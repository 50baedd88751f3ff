import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../../config';
import type { ManagedProcess } from '../../devstack/managed-process';
import { findFreePort } from '../../devstack/ports';
import { silentProgress } from '../../devstack/progress';
import { startTemporalDevServer, waitForTemporal } from '../../devstack/temporal-server';
import { ensureTemporalCli } from '../../devstack/tools';

/**
 * A Temporal dev server of a test's own, for what the shared one cannot do: dynamic config (a small history limit),
 * a restart on the same database file, or a server that starts after the process that needs it.
 */
export class PrivateTemporal {
  private process: ManagedProcess | undefined;

  private constructor(
    private readonly cli: string,
    readonly port: number,
    private readonly scratch: string,
    private readonly options: PrivateTemporalOptions,
  ) {}

  /** Picks a port and prepares the server; `start()` starts it (tests that need it late start it late). */
  static async prepare(options: PrivateTemporalOptions = {}): Promise<PrivateTemporal> {
    const cli = await ensureTemporalCli({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-temporal-'));
    return new PrivateTemporal(cli.path, await findFreePort(), scratch, options);
  }

  /** Prepares and starts a server, waiting until it answers. */
  static async start(options: PrivateTemporalOptions = {}): Promise<PrivateTemporal> {
    const server = await PrivateTemporal.prepare(options);
    await server.start();
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts (or starts again, on the same database file when `persistent`) and waits until it answers. */
  async start(): Promise<void> {
    this.process = startTemporalDevServer({
      cli: this.cli,
      port: this.port,
      uiPort: null,
      namespace: 'default',
      logFile: path.join(this.scratch, 'temporal.log'),
      ...(this.options.persistent ? { dbFile: path.join(this.scratch, 'temporal.db') } : {}),
      ...(this.options.dynamicConfig ? { dynamicConfig: this.options.dynamicConfig } : {}),
    });
    await waitForTemporal(this.address, 'default', { process: this.process });
  }

  /** Stops the server; with `persistent`, `start()` brings it back with its data. */
  async halt(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  async stop(): Promise<void> {
    await this.halt();
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** How a private server runs. */
export interface PrivateTemporalOptions {
  /** Keep history in a database file, so the server can be restarted with its data. */
  readonly persistent?: boolean;
  /** `--dynamic-config-value` settings, such as `{ 'limit.historyCount.suggestContinueAsNew': 40 }`. */
  readonly dynamicConfig?: Readonly<Record<string, unknown>>;
}
