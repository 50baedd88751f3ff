import { temporal as proto } from '@temporalio/proto';

const ExecutionStatus = proto.api.enums.v1.WorkflowExecutionStatus;

/** The execution statuses of a run, as the runs API names them, with their names in Temporal. */
export const RUN_STATUSES = [
  { status: 'running', visibility: 'Running', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING },
  { status: 'completed', visibility: 'Completed', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED },
  { status: 'failed', visibility: 'Failed', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED },
  { status: 'cancelled', visibility: 'Canceled', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED },
  { status: 'terminated', visibility: 'Terminated', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED },
  { status: 'timed_out', visibility: 'TimedOut', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT },
  {
    status: 'continued_as_new',
    visibility: 'ContinuedAsNew',
    code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
  },
] as const;

/** A run's execution status: one of {@link RUN_STATUSES}, or `unknown` for one this API does not name. */
export type RunExecutionStatus = (typeof RUN_STATUSES)[number]['status'] | 'unknown';

/** The API's name of a Temporal execution status. */
export function statusOf(code: proto.api.enums.v1.WorkflowExecutionStatus | null | undefined): RunExecutionStatus {
  return RUN_STATUSES.find((entry) => entry.code === code)?.status ?? 'unknown';
}
