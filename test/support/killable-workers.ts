import type { ManagedProcess } from '../../devstack/managed-process';
import { startHarness, type Harness } from './harness';
import { HttpReceiver } from './http-receiver';

/** What a suite that kills workers works with; set once its `before` hook ran. */
export interface KillableWorkers {
  /** A harness without a worker of its own: the suite's workers are processes (`startWorkerProcess`). */
  readonly harness: Harness;
  /** The peer the suite's steps call. */
  readonly receiver: HttpReceiver;
  /** Every worker process the suite started, stopped after it (a killed one is already gone). */
  readonly workers: ManagedProcess[];
}

/**
 * The setup of a suite that SIGKILLs real worker processes: call it inside `describe`. It registers the hooks that
 * start the receiver and the harness before the suite and stop the workers, the harness and the receiver after it.
 */
export function killableWorkers(): KillableWorkers {
  const suite = { workers: [] as ManagedProcess[] } as {
    harness: Harness;
    receiver: HttpReceiver;
    workers: ManagedProcess[];
  };
  before(async () => {
    suite.receiver = await HttpReceiver.start();
    suite.harness = await startHarness({ worker: false });
  });
  after(async () => {
    await Promise.all(suite.workers.map((worker) => worker.stop()));
    await suite.harness?.stop();
    await suite.receiver?.stop();
  });
  return suite;
}
