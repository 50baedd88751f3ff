import { MongoClient, type Db } from 'mongodb';
import type { FlowConfig } from '../config';

/** An open connection to Flow's database. */
export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
}

/**
 * Creates a client for Flow's database. The driver connects on first use, so a gateway can start (and report
 * `mongodb: down` on `/healthz`) while the database is unreachable.
 */
export function openMongo(config: FlowConfig['mongodb']): MongoHandle {
  const client = new MongoClient(config.uri, { serverSelectionTimeoutMS: 2_000, appName: 'flow' });
  return { client, db: client.db(config.database) };
}

/** Resolves when the database answers `ping`. */
export async function pingMongo(db: Db): Promise<void> {
  await db.command({ ping: 1 });
}
