import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { toolsDir } from '../../config';
import { findFreePort } from '../../devstack/ports';
import { consoleProgress } from '../../devstack/progress';
import { startServices, type RunningServices } from '../../devstack/services';

let services: RunningServices | undefined;
let scratch: string | undefined;
let externalMongoDatabase: { uri: string; name: string } | undefined;

/**
 * Starts the real services once for the whole run: a headless, in-memory Temporal dev server and a MongoDB-wire
 * server (mongod or FerretDB) on free ports under a scratch directory. When `TEMPORAL_ADDRESS` or `MONGODB_URI` is
 * set, those services are reused instead; tests then use their own database (`flow_test_<pid>`), dropped at the end.
 * The addresses are handed to the tests through the same variables.
 */
export async function mochaGlobalSetup(): Promise<void> {
  // Tests provoke failing workflows on purpose; the SDK's warnings about them would drown the report.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-test-'));
  const [temporalPort, mongoPort] = await Promise.all([findFreePort(), findFreePort()]);
  services = await startServices({
    env: process.env,
    dataDir: scratch,
    toolsDir: toolsDir(),
    progress: consoleProgress,
    namespace: process.env['TEMPORAL_NAMESPACE']?.trim() || 'default',
    temporal: { port: temporalPort, uiPort: null, persistent: false },
    mongodb: { port: mongoPort, database: 'flow_test' },
  });
  process.env['TEMPORAL_ADDRESS'] = services.temporal.address;
  let mongoUri = services.mongodb.uri;
  if (services.mongodb.origin === 'MONGODB_URI') {
    const name = `flow_test_${process.pid}`;
    mongoUri = withDatabase(mongoUri, name);
    externalMongoDatabase = { uri: mongoUri, name };
  }
  process.env['MONGODB_URI'] = mongoUri;
  consoleProgress.step(`Tests use Temporal at ${services.temporal.address} and MongoDB (${services.mongodb.origin})`);
}

/** Stops what the setup started and removes the scratch directory. */
export async function mochaGlobalTeardown(): Promise<void> {
  if (externalMongoDatabase) {
    const client = new MongoClient(externalMongoDatabase.uri);
    try {
      await client.db(externalMongoDatabase.name).dropDatabase();
    } finally {
      await client.close();
    }
  }
  await services?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
}

/** Replaces the database path of a MongoDB URI, keeping its query string. */
export function withDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) throw new Error(`cannot parse MONGODB_URI ${uri}`);
  return `${match[1]}/${database}${match[2] ?? ''}`;
}
