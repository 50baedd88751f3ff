import { MongoClient, type Db } from 'mongodb';
import type { FlowConfig } from '../config';

/** How long an operation (or a connect) waits for the server before it fails; the health probe's deadline is 3 s. */
const SERVER_SELECTION_TIMEOUT_MS = 2_000;

/**
 * Flow's database, connected explicitly. Every Flow operation goes through {@link MongoHandle.connected}, never
 * through the driver's connect-on-first-use: with the mongodb 7 driver, a client whose automatic first connect fails
 * (the database is down when the process first needs it) keeps a closed topology, and every later operation fails
 * with `Topology is closed` even after the database is back. An explicit `connect()` that failed can be retried on
 * the same client, which builds a new topology; so a failed attempt is forgotten and the next operation tries again.
 * Once connected, the driver itself rides out later outages.
 */
export class MongoHandle {
  readonly client: MongoClient;
  /**
   * The database. Its operations need a connected client: Flow's code awaits {@link connected} first (the store and
   * the health probe do); tests may use it directly once something has connected.
   */
  readonly db: Db;
  private connecting: Promise<Db> | undefined;

  constructor(config: FlowConfig['mongodb']) {
    this.client = new MongoClient(config.uri, {
      serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
      appName: 'flow',
    });
    this.db = this.client.db(config.database);
  }

  /**
   * The database once the client is connected. Concurrent callers share one attempt; an attempt that fails rejects
   * all of them and is forgotten, so the next call (a retried activity, the next health check) connects afresh.
   */
  connected(): Promise<Db> {
    this.connecting ??= this.client.connect().then(
      () => this.db,
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  /** Closes the client; pending and later operations fail. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Creates a handle on Flow's database. Nothing is sent until the first operation, so a process can start (and a
 * gateway report `mongodb: down` on `/healthz`) while the database is unreachable, and recovers once it answers.
 */
export function openMongo(config: FlowConfig['mongodb']): MongoHandle {
  return new MongoHandle(config);
}

/** Resolves when the database answers `ping`; connects first if no connect has succeeded yet. */
export async function pingMongo(mongo: MongoHandle): Promise<void> {
  const db = await mongo.connected();
  await db.command({ ping: 1 });
}
