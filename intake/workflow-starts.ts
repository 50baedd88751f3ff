import type { Client, WorkflowHandleWithFirstExecutionRunId, WorkflowStartOptions } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../common/run-types';
import type * as workflows from '../workflows';

/** The workflows clients start, by type name. Each name must be a workflow that `workflows/index.ts` exports. */
export type StartableWorkflows = { readonly [Type in keyof typeof WORKFLOW_TYPES]: (typeof workflows)[Type] };

/** Each key of `WORKFLOW_TYPES` names the function it starts: a type name is a function name, checked here. */
const typeNames: { readonly [Type in keyof StartableWorkflows]: Type } = WORKFLOW_TYPES;

/**
 * Starts one of Flow's workflows by its type name, with `args` checked against that workflow's parameters, so a
 * change to `RunInput` or `FlowEvent` fails the typecheck at every caller rather than at run time.
 */
export function startFlowWorkflow<Type extends keyof StartableWorkflows>(
  client: Client,
  type: Type,
  options: WorkflowStartOptions<StartableWorkflows[Type]>,
): Promise<WorkflowHandleWithFirstExecutionRunId<StartableWorkflows[Type]>> {
  return client.workflow.start<StartableWorkflows[Type]>(typeNames[type], options);
}
