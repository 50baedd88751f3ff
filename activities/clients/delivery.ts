/**
 * The delivery id of a step's side effect: `<workflowId>/<stepId>`, the same in every attempt of the step and
 * different for every other step and run. Actions that deduplicate attach it to what they create (a Jira comment
 * property, Slack message metadata, a Jenkins build parameter, an email's Message-ID) and a retry looks for it.
 */
import type { StepMeta } from '../define-action';

/** `<workflowId>/<stepId>` of the step. */
export function stepDelivery(step: Pick<StepMeta, 'workflowId' | 'stepId'>): string {
  return `${step.workflowId}/${step.stepId}`;
}
