/**
 * The two places where later parts of issue 18 plug into delivery (docs/subscriptions.md). Neither is built: both are
 * no-ops that keep today's behaviour (every notification is sent at once, and carries no links), so that the rate
 * limit with its digests and the signed one-click links change these functions, not the notify activity.
 */
import type { FlowEvent } from '../../common/run-types';
import type { SubscriptionSnapshot } from '../../common/subscriptions';

/** Whether a notification goes out now or is held back for its subscription's digest of the minute. */
export type RateDecision = { readonly send: true } | { readonly send: false; readonly reason: string };

/**
 * Decides whether `subscription`'s notification of `event` is sent now or held back for the minute's digest.
 *
 * NOT BUILT: always "send now". The rate limit (`rate_per_minute`, a window document per subscription and minute, a
 * digest workflow per held-back minute) is a later part of issue 18; when it lands, a held-back notification is
 * reported as skipped with the reason this returns, and its delivery record is not sent.
 */
export function decideRate(
  subscription: SubscriptionSnapshot,
  event: FlowEvent,
  now: Date,
): Promise<RateDecision> | RateDecision {
  void subscription;
  void event;
  void now;
  return { send: true };
}

/** A link a notification carries: what it does, and the URL that does it. */
export interface NotificationLink {
  readonly label: string;
  readonly url: string;
}

/**
 * The links a notification carries: unsubscribe and mute for a day, signed for the subscription's revision.
 *
 * NOT BUILT: returns none, so notifications have no links yet. The signed links (`FLOW_PUBLIC_URL`,
 * `FLOW_SUBSCRIPTION_LINK_SECRET`) and email's `List-Unsubscribe` headers are a later part of issue 18; the Slack and
 * email senders already append what this returns (as plain text, and as headers for email when `listUnsubscribe`
 * is given).
 */
export function notificationLinks(
  subscription: SubscriptionSnapshot,
  env: Readonly<Record<string, string | undefined>>,
): { readonly links: readonly NotificationLink[]; readonly listUnsubscribe?: { readonly url: string } } {
  void subscription;
  void env;
  return { links: [] };
}
