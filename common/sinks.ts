import type { Sinks } from '@temporalio/workflow';

/**
 * What workflow code reports to the worker process, through Temporal sinks: fire-and-forget calls that leave nothing
 * in the workflow history and are not repeated when a history is replayed. The worker turns them into Prometheus
 * metrics (`workers/metrics.ts`).
 */
export interface FlowSinks extends Sinks {
  runs: {
    /** A run of `definition` began (its first execution; continue-as-new does not count again). */
    started(definition: string): void;
    /** A run finished all its steps. */
    completed(definition: string): void;
    /** A run failed or was cancelled; `failure` is the failure type, such as `StepFailed`. */
    failed(definition: string, failure: string): void;
  };
}
