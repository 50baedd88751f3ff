/**
 * The hand-written event receiver (`bench/baseline/receiver.ts`) as its own process, as the gateway runs, for the
 * intake and throughput benchmarks. Configured by `PORT`, `BENCH_RECEIVER_TOKEN`, `TEMPORAL_ADDRESS`,
 * `TEMPORAL_NAMESPACE`, `FLOW_TASK_QUEUE` and `BENCH_BASELINE_TASK_QUEUE`; it reports `{ready}` over IPC once it listens, and SIGTERM stops it.
 */
import { Client, Connection } from '@temporalio/client';
import http from 'node:http';
import { loadConfig } from '../config';
import { createReceiver } from './baseline/receiver';

async function main(): Promise<void> {
  const config = loadConfig();
  const token = process.env['BENCH_RECEIVER_TOKEN'];
  if (!token) throw new Error('BENCH_RECEIVER_TOKEN is not set');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const baselineTaskQueue = process.env['BENCH_BASELINE_TASK_QUEUE'];
  if (!baselineTaskQueue) throw new Error('BENCH_BASELINE_TASK_QUEUE is not set');
  const server = http.createServer(
    createReceiver({ client, token, taskQueue: config.temporal.taskQueue, baselineTaskQueue }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.gateway.port, '127.0.0.1', resolve);
  });
  process.send?.({ ready: 'bench-receiver' });
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => void connection.close().finally(() => process.exit(0)));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The runner is gone (crashed or killed): stop rather than listen forever.
  process.once('disconnect', stop);
}

main().catch((error: unknown) => {
  console.error(`[bench receiver] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
