import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { createWorkerMetrics, metricsWorkerOptions, type WorkerMetrics } from './metrics';

/** What a Flow worker needs: a connection to Temporal and the activities' dependencies. */
export interface WorkerDeps {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly activityDeps: ActivityDeps;
  /** Where runs and step attempts are counted; by default a registry nobody serves. */
  readonly metrics?: WorkerMetrics;
  /** Overrides for tests, such as a prebuilt `workflowBundle`. */
  readonly options?: Partial<WorkerOptions>;
}

/** Creates a worker that runs Flow's workflows and every registered action as activities. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(deps.activityDeps),
    ...metricsWorkerOptions(deps.metrics ?? createWorkerMetrics()),
    ...deps.options,
  });
}
