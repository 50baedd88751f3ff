/**
 * Subscriptions (issue 18; design in docs/subscriptions.md): anyone asks to be told, by Slack or email, when an event
 * arrives or a run of a definition reaches an outcome, without editing a workflow. This module is the contract the
 * registry, the gateway, the dispatcher and the notify activity share. Pure and deterministic: the dispatcher runs
 * {@link decideSubscription} inside the workflow sandbox, and the plan API runs the same code.
 */
import type { ExpressionEngine } from './expressions';
import { LIFECYCLE_SOURCE, type LifecycleType } from './run-control';
import { runContext, type FlowEvent } from './run-types';

/** The run outcomes one may subscribe to, each carried by one run lifecycle event (`flow/<type>`). */
export const SUBSCRIPTION_OUTCOMES = {
  started: 'run_started',
  completed: 'run_completed',
  failed: 'run_failed',
  cancelled: 'run_cancelled',
  rejected: 'run_rejected',
  queued: 'run_queued',
  superseded: 'run_superseded',
  approval_requested: 'approval_requested',
} as const satisfies Record<string, LifecycleType>;

/** A name of {@link SUBSCRIPTION_OUTCOMES}. */
export type SubscriptionOutcome = keyof typeof SUBSCRIPTION_OUTCOMES;

/** What a subscription listens to: an event (with an optional CEL condition on its body)… */
export interface EventTrigger {
  readonly source: string;
  readonly type: string;
  readonly if?: string;
}

/** …or outcomes of one definition's runs. */
export interface OutcomeTrigger {
  readonly definition: string;
  readonly outcomes: readonly SubscriptionOutcome[];
}

/** Where notifications go: a Slack user (`@U123` or `@name`, a direct message) or channel (`#releases`), an email. */
export interface SubscriptionDelivery {
  readonly slack?: string;
  readonly email?: string;
}

/** A subscription as stored and served by `/api/subscriptions`. */
export interface Subscription {
  /** `[a-z0-9][a-z0-9._-]{0,127}`; generated from the owner and trigger when a save omits it. */
  readonly id: string;
  /** The actor who owns it (a token's name or a console user); a read-scope caller may manage only its own. */
  readonly owner: string;
  readonly on: EventTrigger | OutcomeTrigger;
  readonly deliver: SubscriptionDelivery;
  /** A `${{ }}` template over `event` (and `run` for outcomes); a default names the event or the run otherwise. */
  readonly message?: string;
  /** ISO time until which nothing is sent (the mute link sets it a day ahead); null or absent: not muted. */
  readonly muted_until?: string | null;
  /** Notifications a minute before the rest collapse into one digest (default {@link DEFAULT_RATE_PER_MINUTE}). */
  readonly rate_per_minute?: number;
}

/** The default of {@link Subscription.rate_per_minute}. */
export const DEFAULT_RATE_PER_MINUTE = 10;

/** True when the trigger is an outcome trigger. */
export function isOutcomeTrigger(on: EventTrigger | OutcomeTrigger): on is OutcomeTrigger {
  return 'definition' in on;
}

/**
 * The registry keys (`source/type`) a subscription is found by, as definitions are: its event, or the lifecycle event
 * of each of its outcomes.
 */
export function subscriptionKeys(on: EventTrigger | OutcomeTrigger): { source: string; type: string }[] {
  if (!isOutcomeTrigger(on)) return [{ source: on.source, type: on.type }];
  return [...new Set(on.outcomes)].map((outcome) => ({
    source: LIFECYCLE_SOURCE,
    type: SUBSCRIPTION_OUTCOMES[outcome],
  }));
}

/**
 * What the dispatcher's lookup returns for each subscription found by the event's key: enough to decide and to
 * deliver, taken when the event is dispatched (a change afterwards does not reach this event).
 */
export interface SubscriptionSnapshot {
  readonly id: string;
  readonly owner: string;
  /** The stored subscription's revision: a delivery names it. */
  readonly revision: number;
  /**
   * Set when the subscription was created and kept by every change (the store always fills it in): the signed
   * unsubscribe and mute links name it (`buildSubscriptionLinks`), so they cannot act on a subscription created
   * again under the same id.
   */
  readonly generation?: string;
  /** The event trigger's condition. */
  readonly if?: string;
  /** The outcome trigger's definition: a lifecycle event about another definition's run does not match. */
  readonly definition?: string;
  readonly deliver: SubscriptionDelivery;
  readonly message?: string;
  readonly mutedUntil?: string;
  readonly ratePerMinute: number;
}

/** Whether a subscription is notified of an event, and if not, why. */
export type SubscriptionDecision = { readonly notify: true } | { readonly notify: false; readonly reason: string };

/** Decides whether `subscription` is notified of `event` (muting is the notify activity's concern, by its clock). */
export function decideSubscription(
  engine: ExpressionEngine,
  subscription: SubscriptionSnapshot,
  event: FlowEvent,
): SubscriptionDecision {
  if (subscription.definition !== undefined) {
    const about = event.body['definition'];
    if (about !== subscription.definition) {
      return { notify: false, reason: `the run is of ${JSON.stringify(about)}, not ${subscription.definition}` };
    }
    return { notify: true };
  }
  if (subscription.if === undefined) return { notify: true };
  const context = { event: event.body, steps: {}, vars: {}, run: runContext(event, '', 0) };
  try {
    return engine.evaluateCondition(subscription.if, context)
      ? { notify: true }
      : { notify: false, reason: `if ${JSON.stringify(subscription.if)} is false` };
  } catch (error) {
    return {
      notify: false,
      reason: `if could not be evaluated: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** The notify activity's input: one dispatched event and the subscriptions it notifies. */
export interface NotifyInput {
  readonly event: FlowEvent;
  readonly subscriptions: readonly SubscriptionSnapshot[];
}

/** What the notify activity did for each subscription. */
export interface NotifyResult {
  readonly sent: readonly { readonly id: string; readonly channels: readonly ('slack' | 'email')[] }[];
  /** Not sent, with why: muted, already delivered (a retry), held back for the minute's digest. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  /**
   * Not sent, and never will be for this event: a target that refused for good (a Slack channel that does not exist,
   * an SMTP server that refuses the address or the worker's credentials), with why. A subscription with two channels
   * may be in `sent` (the one that worked) and here (the one that did not). Absent when nothing failed.
   */
  readonly failed?: readonly { readonly id: string; readonly reason: string }[];
}

/** The id of one notification: a subscription's for one event, the `_id` of its delivery record. */
export function deliveryId(subscriptionId: string, eventId: string): string {
  return `${subscriptionId}/${eventId}`;
}

/** The dispatcher's decisions for the subscriptions its lookup found: which to notify, and which not, with why. */
export interface SubscriptionsPlan {
  readonly notify: readonly SubscriptionSnapshot[];
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/** Decides every subscription found for `event` with {@link decideSubscription}, in the lookup's order. */
export function planSubscriptions(
  engine: ExpressionEngine,
  event: FlowEvent,
  subscriptions: readonly SubscriptionSnapshot[],
): SubscriptionsPlan {
  const notify: SubscriptionSnapshot[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const subscription of subscriptions) {
    const decision = decideSubscription(engine, subscription, event);
    if (decision.notify) notify.push(subscription);
    else skipped.push({ id: subscription.id, reason: decision.reason });
  }
  return { notify, skipped };
}

/**
 * What a dispatcher's result says about subscriptions (`subscriptions`, present when its lookup found any): the
 * notifications sent, those skipped (the dispatcher's decision, then the activity's: muted, already delivered), and
 * those that failed for good.
 */
export interface SubscriptionsDispatched {
  readonly sent: NotifyResult['sent'];
  readonly skipped: NotifyResult['skipped'];
  readonly failed?: NotifyResult['failed'];
}

/** The dispatcher's `subscriptions` result from its plan and what the notify activity answered (none: not called). */
export function subscriptionsDispatched(plan: SubscriptionsPlan, notified?: NotifyResult): SubscriptionsDispatched {
  const failed = notified?.failed ?? [];
  return {
    sent: notified?.sent ?? [],
    skipped: [...plan.skipped, ...(notified?.skipped ?? [])],
    ...(failed.length > 0 ? { failed } : {}),
  };
}
