import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createWorker } from './create-worker';
import { ensureSearchAttributes } from './search-attributes';

/** Worker entry point: `npm run start:worker`. Runs until SIGINT/SIGTERM, then drains in-flight tasks. */
async function main(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger(config.worker.logLevel) });
  const { address, namespace, taskQueue } = config.temporal;
  const client = await Connection.connect({ address });
  try {
    const added = await ensureSearchAttributes(client, namespace);
    if (added.length > 0) console.log(`[worker] registered search attributes in ${namespace}: ${added.join(', ')}`);
  } finally {
    await client.close();
  }
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({ connection, namespace, taskQueue });
  console.log(`[worker] polling task queue "${taskQueue}" in namespace "${namespace}" at ${address}`);
  process.send?.({ ready: 'worker' });
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(`[worker] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
