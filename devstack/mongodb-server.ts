import fs from 'node:fs';
import { MongoClient } from 'mongodb';
import { redactUri } from '../config';
import { ManagedProcess } from './managed-process';
import { waitUntilHealthy } from './wait-healthy';

/** Options shared by the two local MongoDB-wire servers. */
export interface MongoServerOptions {
  readonly binary: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
}

/** Starts FerretDB with its SQLite backend under `dataDir`, telemetry disabled and the debug listener off. */
export function startFerretDb(options: MongoServerOptions): ManagedProcess {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${options.dataDir}/`,
    `--listen-addr=127.0.0.1:${options.port}`,
    `--state-dir=${options.dataDir}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ];
  return ManagedProcess.start('ferretdb', options.binary, args, { output: { logFile: options.logFile } });
}

/** Starts a real `mongod` with its files under `dataDir`, listening on loopback only. */
export function startMongod(options: MongoServerOptions): ManagedProcess {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const args = ['--dbpath', options.dataDir, '--port', String(options.port), '--bind_ip', '127.0.0.1'];
  return ManagedProcess.start('mongod', options.binary, args, { output: { logFile: options.logFile } });
}

/** Waits until a MongoDB-wire server at `uri` answers `ping`. */
export function waitForMongo(
  uri: string,
  options: { timeoutMs?: number; process?: ManagedProcess } = {},
): Promise<void> {
  return waitUntilHealthy(
    `MongoDB at ${redactUri(uri)}`,
    async () => {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
      try {
        await client.db('admin').command({ ping: 1 });
      } finally {
        await client.close();
      }
    },
    options,
  );
}
