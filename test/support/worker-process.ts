import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { startEntryPoint } from './entry-points';
import { withDatabase } from './global-fixture';
import type { Harness } from './harness';
import { testConfig } from './stack';

/**
 * Starts a real worker process (`npm run start:worker`) on a harness's task queue and database, and resolves once it
 * polls; `started` collects it, so the test can stop (or SIGKILL) every worker it started.
 */
export async function startWorkerProcess(
  harness: Pick<Harness, 'db' | 'taskQueue'>,
  started: ManagedProcess[],
): Promise<ManagedProcess> {
  const worker = startEntryPoint(
    'workers/main.ts',
    {
      MONGODB_URI: withDatabase(testConfig().mongodb.uri, harness.db.databaseName),
      FLOW_TASK_QUEUE: harness.taskQueue,
    },
    { prefix: '    ' },
  );
  started.push(worker);
  await worker.waitForMessage(isReadyMessage, 120_000);
  return worker;
}
