import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { actionsById } from '../activities';
import { loadConfig } from '../config';
import { acceptEvent } from '../intake';
import { DefinitionStore, openMongo } from '../registry';
import { createWorker } from './create-worker';
import { ensureSearchAttributes } from './search-attributes';

/** Worker entry point: `npm run start:worker`. Runs until SIGINT/SIGTERM, then drains in-flight tasks. */
async function main(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger(config.worker.logLevel) });
  const { address, namespace, taskQueue } = config.temporal;
  const clientConnection = await Connection.connect({ address });
  const added = await ensureSearchAttributes(clientConnection, namespace);
  if (added.length > 0) console.log(`[worker] registered search attributes in ${namespace}: ${added.join(', ')}`);
  const client = new Client({ connection: clientConnection, namespace });
  const mongo = openMongo(config.mongodb);
  const store = new DefinitionStore(mongo.db, actionsById());

  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    namespace,
    taskQueue,
    activityDeps: {
      env: process.env,
      fetch: globalThis.fetch,
      emitEvent: (submission) => acceptEvent({ client, taskQueue }, submission),
      findDefinitionsForEvent: (source, type) => store.findForEvent(source, type),
    },
  });
  console.log(`[worker] polling task queue "${taskQueue}" in namespace "${namespace}" at ${address}`);
  process.send?.({ ready: 'worker' });
  try {
    await worker.run();
  } finally {
    await Promise.allSettled([connection.close(), clientConnection.close(), mongo.client.close()]);
  }
}

main().catch((error: unknown) => {
  console.error(`[worker] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
