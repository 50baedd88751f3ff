import type { WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../../config';
import type { ManagedProcess } from '../../devstack/managed-process';
import { startFerretDb, waitForMongo } from '../../devstack/mongodb-server';
import { findFreePort } from '../../devstack/ports';
import { silentProgress } from '../../devstack/progress';
import { ensureFerretDb } from '../../devstack/tools';
import { openMongo, type MongoHandle } from '../../registry';

/**
 * A MongoDB-wire server of a test's own (FerretDB on a free port, data in a scratch directory) that the test can stop
 * and start again, to simulate an outage of the registry. Its data survives a stop.
 */
export class StoppableMongo {
  private process: ManagedProcess | undefined;

  private constructor(
    private readonly binary: string,
    private readonly scratch: string,
    /** The server's URI (database `flow`), for processes the test starts. */
    readonly uri: string,
    /** A client of database `flow`, opened once; it recovers from outages before and after its first use. */
    readonly handle: MongoHandle,
  ) {}

  static async start(): Promise<StoppableMongo> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-outage-'));
    const binary = await ensureFerretDb({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
    const uri = `mongodb://127.0.0.1:${await findFreePort()}/flow`;
    const mongo = new StoppableMongo(binary.path, scratch, uri, openMongo({ uri, database: 'flow' }));
    await mongo.resume();
    return mongo;
  }

  /** Starts the server again after {@link outage}, and waits until it answers; does nothing while it runs. */
  async resume(): Promise<void> {
    if (this.process?.running) return;
    this.process = startFerretDb({
      binary: this.binary,
      port: Number(new URL(this.uri).port),
      dataDir: path.join(this.scratch, 'data'),
      logFile: path.join(this.scratch, 'ferretdb.log'),
    });
    await waitForMongo(this.uri, { process: this.process });
  }

  /** Stops the server: the registry is down until {@link resume}. */
  async outage(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  async stop(): Promise<void> {
    await this.handle.close();
    await this.process?.stop();
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** The dispatcher's registry lookups: definitions and waits together, or (dispatchers from before waits) definitions. */
const REGISTRY_LOOKUPS = new Set(['lookUpEvent', 'findDefinitionsForEvent']);

/**
 * How often a dispatcher scheduled its registry lookup as a durable activity: it does once its quick local lookup
 * failed, for example while MongoDB is down.
 */
export async function durableLookups(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((event) =>
    REGISTRY_LOOKUPS.has(event.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
  ).length;
}
