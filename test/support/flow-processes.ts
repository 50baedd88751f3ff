import path from 'node:path';
import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { findFreePort } from '../../devstack/ports';
import { startEntryPoint } from './entry-points';
import { withDatabase } from './global-fixture';
import type { Harness } from './harness';
import { testConfig } from './stack';

/**
 * Starts Flow's real entry points (`workers/main.ts`, `gateway/main.ts`) on a harness's database and task queue, each
 * logging to its own file under `scratch`, and keeps every process it started so the test can stop them all.
 */
export class FlowProcesses {
  readonly started: ManagedProcess[] = [];
  private count = 0;

  constructor(
    private readonly harness: Pick<Harness, 'db' | 'taskQueue' | 'token'>,
    private readonly scratch: string,
  ) {}

  /** Starts a process without waiting for it: for one expected to refuse to start. */
  spawn(entry: 'workers/main.ts' | 'gateway/main.ts', env: Readonly<Record<string, string>> = {}): ManagedProcess {
    this.count += 1;
    const child = startEntryPoint(
      entry,
      {
        MONGODB_URI: withDatabase(testConfig().mongodb.uri, this.harness.db.databaseName),
        FLOW_TASK_QUEUE: this.harness.taskQueue,
        FLOW_API_TOKEN: this.harness.token,
        FLOW_DATA_DIR: this.scratch,
        FLOW_HTTP_LOG_LEVEL: 'warn',
        ...env,
      },
      { logFile: path.join(this.scratch, `${path.dirname(entry)}-${this.count}.log`) },
    );
    this.started.push(child);
    return child;
  }

  /** A worker process, once it polls. */
  async worker(env: Readonly<Record<string, string>> = {}): Promise<ManagedProcess> {
    const child = this.spawn('workers/main.ts', env);
    await child.waitForMessage(isReadyMessage, 120_000);
    return child;
  }

  /** A gateway process on a free port, once it listens; `url` is where it answers. */
  async gateway(env: Readonly<Record<string, string>> = {}): Promise<{ process: ManagedProcess; url: string }> {
    const port = await findFreePort();
    const child = this.spawn('gateway/main.ts', { PORT: String(port), ...env });
    await child.waitForMessage(isReadyMessage, 60_000);
    return { process: child, url: `http://127.0.0.1:${port}` };
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((child) => child.stop()));
  }
}
