/**
 * The contract between the request message's buttons and the gateway's `POST /webhooks/slack/interactions`: the
 * action ids of Approve and Reject, and the compact JSON each button carries (`{"w": workflowId, "s": stepId}`). The
 * gateway reads it back with {@link parseButtonValue}, which treats it as hostile input.
 */
import { STEP_ID } from '../../common/definition';

/** The `action_id` of each button, and the decision a click on it stands for. */
export const APPROVAL_BUTTONS = { flow_approve: 'approved', flow_reject: 'rejected' } as const;

/** One of the {@link APPROVAL_BUTTONS} action ids. */
export type ApprovalButton = keyof typeof APPROVAL_BUTTONS;

/**
 * The workflow ids a button may carry: what Flow's run ids are made of (`<definition>-<event id>`, where an event id
 * may hold the `~` of a hashed idempotency key), short enough for a button's value.
 */
export const BUTTON_WORKFLOW_ID = /^[A-Za-z0-9._:@~-]{1,300}$/;

/** A Slack user id (`U0123ABCD`, or `W…` on Enterprise Grid): who clicked, and how approvers are named for Slack. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,30}$/;

/** What a button carries: the run's workflow id and the approval step's id. */
export interface ButtonValue {
  readonly w: string;
  readonly s: string;
}

/** The value of a button for this run and step; undefined when the ids cannot ride a button (the gateway refuses them). */
export function buttonValue(workflowId: string, stepId: string): string | undefined {
  if (!BUTTON_WORKFLOW_ID.test(workflowId) || !STEP_ID.test(stepId)) return undefined;
  const value: ButtonValue = { w: workflowId, s: stepId };
  return JSON.stringify(value);
}

/** Whether an `action_id` is one of the approval buttons. */
export function isApprovalButton(actionId: unknown): actionId is ApprovalButton {
  return typeof actionId === 'string' && Object.hasOwn(APPROVAL_BUTTONS, actionId);
}

/** Reads a button's value back: the ids when it is exactly what {@link buttonValue} writes, undefined otherwise. */
export function parseButtonValue(value: unknown): ButtonValue | undefined {
  if (typeof value !== 'string' || value.length > 2000) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { w, s } = parsed as Record<string, unknown>;
  if (typeof w !== 'string' || typeof s !== 'string') return undefined;
  return BUTTON_WORKFLOW_ID.test(w) && STEP_ID.test(s) ? { w, s } : undefined;
}
