/**
 * The plan API as the definition page's dry run uses it: `POST /api/plan/:source/:type` with an event body answers
 * which definitions such an event would start, which it would not and why, and what each first step would receive.
 * Nothing is started. It needs only the read scope; as a POST from a session it carries the CSRF header (`call`).
 */
import { call } from './api';

/** What a matched definition's first step would do: its input, or why it would be skipped, or its error. */
export interface PlannedFirstStep {
  readonly id: string;
  readonly action: string;
  readonly input?: unknown;
  readonly skipped?: string;
  readonly error?: string;
}

/** A definition the event would start. */
export interface PlannedRun {
  readonly definition: string;
  readonly revision: number;
  readonly workflowId: string;
  readonly firstStep?: PlannedFirstStep;
  /** A line per step whose task queue no worker polls now (the step would wait for one). */
  readonly notes?: readonly string[];
}

/** A definition bound to the event that it would not start, and why. */
export interface SkippedPlan {
  readonly definition: string;
  readonly revision: number;
  readonly reason: string;
}

/** A subscription the event would notify: whose, and where. */
export interface PlannedNotification {
  readonly id: string;
  readonly owner: string;
  readonly deliver: { readonly slack?: string; readonly email?: string };
  /** Set when it is muted until then: it would be skipped when sent. */
  readonly mutedUntil?: string;
}

/** `POST /api/plan/:source/:type`. */
export interface Plan {
  readonly source: string;
  readonly type: string;
  readonly matched: readonly PlannedRun[];
  readonly skipped: readonly SkippedPlan[];
  /** The subscriptions bound to the event: those it would notify, and those it would not, with why. */
  readonly subscriptions?: {
    readonly notify: readonly PlannedNotification[];
    readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  };
}

/** The dry run of an event with this body. */
export function planEvent(source: string, type: string, body: Readonly<Record<string, unknown>>): Promise<Plan> {
  return call<Plan>('POST', `/api/plan/${encodeURIComponent(source)}/${encodeURIComponent(type)}`, body);
}
