/**
 * The links every notification carries (docs/subscriptions.md, "Links that work without signing in"): unsubscribe
 * and mute for a day, signed with `buildSubscriptionLinks` (common/subscription-links.ts) for the notification's
 * delivery and the subscription's generation, to the gateway at `FLOW_PUBLIC_URL`, under
 * `FLOW_SUBSCRIPTION_LINK_SECRET`. Slack gets them as plain text lines, email in its body and as RFC 8058
 * `List-Unsubscribe` and `List-Unsubscribe-Post` headers. A worker without the secret (or with one the gateway would
 * refuse) sends notifications without links and says why once.
 */
import { buildSubscriptionLinks } from '../../common/subscription-links';
import { parseSubscriptionLinks } from '../../config/load-config';

/** A link a notification carries: what it does, and the URL that does it. */
export interface NotificationLink {
  readonly label: string;
  readonly url: string;
}

/** The links of one notification, and the URL email's `List-Unsubscribe` names. */
export interface NotificationLinks {
  readonly links: readonly NotificationLink[];
  readonly listUnsubscribe?: { readonly url: string };
}

/** The labels the links carry, in Slack's text and email's body. */
export const UNSUBSCRIBE_LABEL = 'Unsubscribe';
export const MUTE_LABEL = 'Mute for a day';

/** The environments (one per worker) that were told once why their notifications carry no links. */
const told = new WeakSet<object>();

/**
 * The unsubscribe and mute links of the notification `delivery` (`<subscription>/<event id>`) of a subscription with
 * `generation`; none (said once per environment through `warn`) without `FLOW_SUBSCRIPTION_LINK_SECRET`.
 */
export function notificationLinks(
  subscription: { readonly id: string; readonly generation?: string },
  delivery: string,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void = (message) => console.warn(`[worker] ${message}`),
): NotificationLinks {
  const once = (message: string): void => {
    if (told.has(env)) return;
    told.add(env);
    warn(message);
  };
  let settings;
  try {
    settings = parseSubscriptionLinks(env);
  } catch (error) {
    once(
      `notifications go out without unsubscribe and mute links: ${error instanceof Error ? error.message : String(error)}`,
    );
    return { links: [] };
  }
  if (!settings.secret) {
    once(
      'notifications go out without unsubscribe and mute links: FLOW_SUBSCRIPTION_LINK_SECRET is not set (set the gateway’s value on every worker)',
    );
    return { links: [] };
  }
  // The store gives every subscription a generation; a snapshot without one cannot be signed.
  if (!subscription.generation) return { links: [] };
  const { unsubscribe, mute } = buildSubscriptionLinks({
    publicUrl: settings.publicUrl,
    secret: settings.secret,
    subscription: subscription.id,
    deliveryId: delivery,
    generation: subscription.generation,
  });
  return {
    links: [
      { label: UNSUBSCRIBE_LABEL, url: unsubscribe },
      { label: MUTE_LABEL, url: mute },
    ],
    listUnsubscribe: { url: unsubscribe },
  };
}

/** The text of a notification with its links as plain lines after it (`Unsubscribe: <url>`). */
export function withLinks(text: string, links: readonly NotificationLink[], gap = '\n'): string {
  return links.length > 0 ? `${text}${gap}${links.map((link) => `${link.label}: ${link.url}`).join('\n')}` : text;
}
