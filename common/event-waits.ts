/**
 * Steps that wait for a later event (`flow.wait_for_event`): the types shared by the interpreter, the dispatcher, the
 * waits store and the activities that register, deliver and look back, plus the matching they all apply. Pure and
 * deterministic, so it runs inside the workflow sandbox; see docs/engine.md, "Waiting for a later event".
 */
import type { ExpressionEngine } from './expressions';
import type { LifecycleType } from './run-control';
import type { DefinitionSnapshot, DispatchResult } from './run-types';
import type { SubscriptionsDispatched, SubscriptionSnapshot } from './subscriptions';

/** A field path of the incoming event in `where`: dot-separated names or list indexes, such as `parameters.TICKET`. */
export const WHERE_PATH = /^[A-Za-z0-9_-]{1,64}(?:\.[A-Za-z0-9_-]{1,64}){0,9}$/;
/** Most fields one wait may compare. */
export const MAX_WHERE_FIELDS = 10;
/** Longest string value a `where` field may compare. */
export const MAX_WHERE_STRING = 500;

/** A value a `where` field compares with equality: what a JSON field of an event can equal. */
export type WhereValue = string | number | boolean;

/** The signal that delivers a matching event to a waiting run. */
export const EVENT_DELIVERED_SIGNAL = 'flowEventDelivered';

/** Failure type of a wait that timed out with `on_timeout: fail`. */
export const WAIT_TIMED_OUT = 'WaitForEventTimedOut';

/** An event as a wait receives it: its id (the dedupe key), where it came from, and its body. */
export interface WaitedEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The `flowEventDelivered` signal's payload: an event for one wait step of the run. */
export interface WaitDelivery {
  /** The wait step the event is for. */
  readonly stepId: string;
  readonly event: WaitedEvent;
  /**
   * When the event's dispatcher started (ISO 8601, the server's clock). A run takes only events whose dispatcher
   * started after the run did, which is also the look-back's window.
   */
  readonly dispatchedAt: string;
}

/** What a run registers when one of its steps starts waiting. */
export interface WaitRegistration {
  readonly workflowId: string;
  readonly stepId: string;
  readonly source: string;
  readonly type: string;
  /** The rendered `where`: field path → value. */
  readonly where: Readonly<Record<string, WhereValue>>;
  /** CEL over the incoming event alone (`event`). */
  readonly if?: string;
  /** When the wait times out (ISO 8601); the registration is worthless after it. */
  readonly until: string;
}

/** A registered wait, as the dispatcher's lookup finds it. */
export interface RegisteredWait {
  readonly workflowId: string;
  readonly stepId: string;
  readonly where: Readonly<Record<string, WhereValue>>;
  readonly if?: string;
}

/** What the dispatcher's lookup returns: the definitions bound to the event and the waits keyed by its fields. */
export interface EventLookup {
  readonly definitions: DefinitionSnapshot[];
  readonly waits: RegisteredWait[];
  /**
   * The run lifecycle types (source `flow`) some enabled definition is bound to, which the runs this event starts
   * emit; absent when none is, and in lookups recorded before lifecycle events, so absent means none.
   */
  readonly lifecycle?: LifecycleType[];
  /**
   * The subscriptions bound to the event's key (docs/subscriptions.md), as they were at dispatch; absent when none
   * is, and in lookups recorded before subscriptions, so absent means none.
   */
  readonly subscriptions?: SubscriptionSnapshot[];
}

/** A wait the dispatcher delivers to, or one it found by key whose `if` said no. */
export interface WaitTarget {
  readonly workflowId: string;
  readonly stepId: string;
}

/** What the dispatcher did about waits: the runs it signalled, and the waits it found but skipped, with why. */
export interface WaitsDispatched {
  readonly delivered: readonly WaitTarget[];
  readonly skipped: readonly (WaitTarget & { readonly reason: string })[];
}

/** The dispatcher's result since `deliver-to-waits`: with `waits` when its lookup found any keyed by the event. */
export interface EventDispatchResult extends DispatchResult {
  readonly waits?: WaitsDispatched;
  /**
   * The subscriptions the lookup found, since `notify-subscribers`: the notifications sent, skipped (with why) and
   * failed for good. Absent when no subscription is bound to the event.
   */
  readonly subscriptions?: SubscriptionsDispatched;
}

/** The `deliverToWaits` activity's input: one event for several waits. */
export interface DeliverToWaitsInput {
  readonly event: WaitedEvent;
  readonly dispatchedAt: string;
  readonly targets: readonly WaitTarget[];
}

/** The look-back activity's input: the run's wait, and since when (the run's start) events count. */
export interface LookBackInput {
  readonly source: string;
  readonly type: string;
  readonly where: Readonly<Record<string, WhereValue>>;
  readonly if?: string;
  readonly since: string;
  readonly taskQueue: string;
  /** Events already taken by earlier waits of the run. */
  readonly exclude: readonly string[];
}

/** A delivery found by a look-back, with its dispatcher's start time. */
export interface LookedBackEvent {
  readonly event: WaitedEvent;
  readonly dispatchedAt: string;
}

/** The value at a dotted path of an event body; undefined when missing or not a string, number or boolean. */
export function fieldAt(body: unknown, path: string): WhereValue | undefined {
  let current: unknown = body;
  for (const part of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(part)) current = current[Number(part)];
    else if (typeof current === 'object' && current !== null && !Array.isArray(current) && Object.hasOwn(current, part))
      current = (current as Record<string, unknown>)[part];
    else return undefined;
  }
  return typeof current === 'string' ||
    typeof current === 'boolean' ||
    (typeof current === 'number' && isFinite(current))
    ? current
    : undefined;
}

/**
 * Why a rendered `where` cannot be waited on (too many fields, a path that is not one, a value that is not a short
 * string, a finite number or a boolean); undefined when it can. The declaration refines on it at save, and the run
 * checks the rendered value with it, since JSON Schema of the input cannot say it.
 */
export function whereProblem(where: Readonly<Record<string, unknown>>): string | undefined {
  const entries = Object.entries(where);
  if (entries.length > MAX_WHERE_FIELDS) return `compares ${entries.length} fields; at most ${MAX_WHERE_FIELDS}`;
  for (const [path, value] of entries) {
    if (!WHERE_PATH.test(path))
      return `"${path.slice(0, 80)}" is not a field path such as parameters.RELEASE_TICKET (names or indexes, separated by ".")`;
    if (typeof value === 'string' && value.length > MAX_WHERE_STRING)
      return `${path} is a string of ${value.length} characters; at most ${MAX_WHERE_STRING}`;
    if (!(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && isFinite(value))))
      return `${path} must be a string, a number or a boolean, not ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}`;
  }
  return undefined;
}

/** True when every `where` field of the body equals its value, with JSON equality (`"7"` is not `7`). */
export function whereMatches(where: Readonly<Record<string, WhereValue>>, body: unknown): boolean {
  return Object.entries(where).every(([path, value]) => fieldAt(body, path) === value);
}

/**
 * Whether a wait takes an event: its `where` fields are equal and its `if` (over the event alone) is true. Returns
 * the reason when it does not, such as an `if` that failed to evaluate.
 */
export function waitTakes(
  engine: ExpressionEngine,
  wait: { readonly where: Readonly<Record<string, WhereValue>>; readonly if?: string | undefined },
  body: Readonly<Record<string, unknown>>,
): { readonly takes: true } | { readonly takes: false; readonly reason: string } {
  if (!whereMatches(wait.where, body)) return { takes: false, reason: 'where does not match the event' };
  if (wait.if === undefined) return { takes: true };
  try {
    if (engine.evaluateCondition(wait.if, { event: body, steps: {}, vars: {}, run: {} })) return { takes: true };
    return { takes: false, reason: `if ${JSON.stringify(wait.if)} is false` };
  } catch (error) {
    return {
      takes: false,
      reason: `if could not be evaluated: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** The dispatcher's decision for the waits its lookup found: which to signal, and which it skipped with why. */
export function planWaits(
  engine: ExpressionEngine,
  body: Readonly<Record<string, unknown>>,
  waits: readonly RegisteredWait[],
): WaitsDispatched {
  const delivered: WaitTarget[] = [];
  const skipped: (WaitTarget & { reason: string })[] = [];
  for (const wait of waits) {
    const decision = waitTakes(engine, wait, body);
    const target = { workflowId: wait.workflowId, stepId: wait.stepId };
    if (decision.takes) delivered.push(target);
    else skipped.push({ ...target, reason: decision.reason });
  }
  return { delivered, skipped };
}

/** `parameters.RELEASE_TICKET = "REL-7" and ok = true`: a wait's `where` as the run's details show it. */
export function describeWhere(where: Readonly<Record<string, WhereValue>>): string {
  return Object.entries(where)
    .map(([path, value]) => `${path} = ${JSON.stringify(value)}`)
    .join(' and ');
}
