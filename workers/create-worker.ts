import {
  bundleWorkflowCode,
  type BundleOptions,
  type NativeConnection,
  Worker,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
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

/**
 * How Flow's workflow code is bundled, wherever it is: the worker, the tests' prebuilt bundle, the bench.
 *
 * The worker keeps one V8 context and gives each cached workflow its own instance of every bundled module, so a
 * module costs memory per waiting run. The CEL library is large (its parser, type checker and function registry)
 * and holds nothing about a run: it is loaded once and shared by all of them. Everything of Flow's own, which may
 * keep per-run state, stays per workflow.
 */
const flowBundleOptions = {
  workflowsPath: require.resolve('../workflows'),
  preloadModules: ['@marcbachmann/cel-js'],
};

/** Bundles Flow's workflows ahead of time (tests and the bench reuse one bundle across workers). */
export function bundleFlowWorkflows(logger?: BundleOptions['logger']): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ ...flowBundleOptions, logger });
}

/** Creates a worker that runs Flow's workflows and every registered action as activities. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: flowBundleOptions.workflowsPath,
    bundlerOptions: { preloadModules: flowBundleOptions.preloadModules },
    activities: createActivities(deps.activityDeps),
    ...metricsWorkerOptions(deps.metrics ?? createWorkerMetrics()),
    ...deps.options,
  });
}
