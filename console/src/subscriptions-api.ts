/**
 * Subscriptions as the console reads and changes them (`/api/subscriptions`, docs/subscriptions.md): the shapes of
 * the answers, declared here as a client reads them, and the calls. A read session may create, mute and delete its
 * own subscriptions (the one change a read token may make); as writes from a session they carry the CSRF header
 * (`call`).
 */
import { call } from './api';

/** The run outcomes one may subscribe to, in the order the form offers them (`SUBSCRIPTION_OUTCOMES`). */
export const SUBSCRIPTION_OUTCOMES = [
  'started',
  'completed',
  'failed',
  'cancelled',
  'rejected',
  'queued',
  'superseded',
  'approval_requested',
] as const;

/** One of {@link SUBSCRIPTION_OUTCOMES}. */
export type SubscriptionOutcome = (typeof SUBSCRIPTION_OUTCOMES)[number];

/** The outcomes a new outcome subscription starts with: the ones that need someone. */
export const DEFAULT_OUTCOMES: readonly SubscriptionOutcome[] = ['failed', 'cancelled', 'rejected'];

/** An event trigger, with an optional CEL condition on the event's body. */
export interface EventTrigger {
  readonly source: string;
  readonly type: string;
  readonly if?: string;
}

/** Outcomes of one definition's runs. */
export interface OutcomeTrigger {
  readonly definition: string;
  readonly outcomes: readonly string[];
}

/** Where notifications go: `@user` or `#channel` in Slack, an email address; either or both. */
export interface SubscriptionDelivery {
  readonly slack?: string;
  readonly email?: string;
}

/** A subscription as the API sends it back (what a PUT sends). */
export interface Subscription {
  readonly id: string;
  readonly owner: string;
  readonly on: EventTrigger | OutcomeTrigger;
  readonly deliver: SubscriptionDelivery;
  readonly message?: string;
  /** ISO time until which nothing is sent; absent: not muted. */
  readonly muted_until?: string | null;
  readonly rate_per_minute?: number;
}

/** What a new subscription sends: no id (the gateway generates one) and no owner (the session's name). */
export interface NewSubscription {
  readonly on: EventTrigger | OutcomeTrigger;
  readonly deliver: SubscriptionDelivery;
  readonly message?: string;
}

/** `GET /api/subscriptions/:id`, each item of the list, and what a write answers. */
export interface StoredSubscription {
  readonly id: string;
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly author: string;
  readonly subscription: Subscription;
}

/** `GET /api/subscriptions`: a page in id order, and the API address of the next one (null: the last). */
export interface SubscriptionPage {
  readonly items: readonly StoredSubscription[];
  readonly next: string | null;
}

/** True when the trigger is an outcome trigger. */
export function isOutcomeTrigger(on: EventTrigger | OutcomeTrigger): on is OutcomeTrigger {
  return 'definition' in on;
}

/** A page of subscriptions: the session's own (`mine`), or everyone's; after the id `after`. */
export function listSubscriptions(options: {
  readonly mine: boolean;
  readonly after?: string;
  readonly limit?: number;
}): Promise<SubscriptionPage> {
  const query = new URLSearchParams();
  if (options.mine) query.set('owner', 'me');
  if (options.after !== undefined) query.set('after', options.after);
  query.set('limit', String(options.limit ?? 20));
  return call<SubscriptionPage>('GET', `/api/subscriptions?${query.toString()}`);
}

/** Creates a subscription owned by the session, with a generated id (`POST /api/subscriptions`); 422 lists paths. */
export function createSubscription(subscription: NewSubscription): Promise<StoredSubscription> {
  return call<StoredSubscription>('POST', '/api/subscriptions', subscription);
}

/** Replaces a subscription with `subscription` (`PUT /api/subscriptions/:id`). */
export function replaceSubscription(subscription: Subscription): Promise<StoredSubscription> {
  return call<StoredSubscription>('PUT', `/api/subscriptions/${encodeURIComponent(subscription.id)}`, subscription);
}

/** Nothing sent until `until` (an ISO time), or muted no more with null. */
export function muteSubscription(subscription: Subscription, until: string | null): Promise<StoredSubscription> {
  const { muted_until: _previous, ...rest } = subscription;
  return replaceSubscription(until === null ? rest : { ...rest, muted_until: until });
}

/** Deletes a subscription (`DELETE /api/subscriptions/:id`). */
export function deleteSubscription(id: string): Promise<{ id: string; deleted: true; lastRevision: number }> {
  return call('DELETE', `/api/subscriptions/${encodeURIComponent(id)}`);
}
