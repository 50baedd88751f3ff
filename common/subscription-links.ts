/**
 * The signed one-click links every notification carries (issue 18, docs/subscriptions.md "Links"): unsubscribe, and
 * mute for a day. The notify activity builds them with {@link buildSubscriptionLinks}; the gateway's
 * `/subscriptions/links/:token` checks them with {@link verifySubscriptionLink}. Both sides hold the same
 * `FLOW_SUBSCRIPTION_LINK_SECRET`.
 *
 * A token is `<payload>.<signature>`, both base64url: the payload is the JSON array
 * `[1, action, subscription id, event id, generation, expiry in Unix seconds]` and the signature the first 128 bits of
 * HMAC-SHA256 over the payload's base64url text, under a key derived from the secret for this one purpose. It names
 * the delivery (subscription and event: one notification) so each notification's links are distinct and each acts
 * once, and the subscription's generation (not its revision, which a mute moves) so it cannot act on a subscription
 * created again under the same id.
 *
 * Not for the workflow sandbox: it uses `node:crypto`. The notify activity and the gateway import it; workflows never
 * do (they need nothing from it).
 */
// eslint-disable-next-line no-restricted-imports -- activities and the gateway only; see above.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What a link does. */
export type SubscriptionLinkAction = 'unsubscribe' | 'mute';

/** How long a link works after the notification that carries it was built (90 days). */
export const SUBSCRIPTION_LINK_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** The path of a link on the gateway, before the token. */
export const SUBSCRIPTION_LINK_PATH = '/subscriptions/links/';

/** The purpose the link key is derived for: another purpose (sessions, page tokens) gets another key. */
const KEY_PURPOSE = 'flow subscription links v1';
const VERSION = 1;
const SIGNATURE_BYTES = 16;
const ACTION_CODES: Record<SubscriptionLinkAction, string> = { unsubscribe: 'u', mute: 'm' };
/** Bounds what the gateway decodes from a URL: the ids in a token are far shorter. */
const MAX_TOKEN_LENGTH = 2048;

/** What a valid link says. */
export interface SubscriptionLink {
  readonly action: SubscriptionLinkAction;
  readonly subscription: string;
  readonly eventId: string;
  /** `<subscription>/<event id>`: the notification the link came with. */
  readonly deliveryId: string;
  readonly generation: string;
  readonly expiresAt: Date;
}

/** The answer of {@link verifySubscriptionLink}: the link, or why it is refused. */
export type SubscriptionLinkCheck =
  | { readonly ok: true; readonly link: SubscriptionLink; readonly useId: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'signature' | 'expired' };

/** Input of {@link buildSubscriptionLinks}. */
export interface SubscriptionLinksInput {
  /** The gateway's external URL (`FLOW_PUBLIC_URL`), such as `https://flow.example.com`; a trailing slash is fine. */
  readonly publicUrl: string;
  /** `FLOW_SUBSCRIPTION_LINK_SECRET`. */
  readonly secret: string;
  /** The subscription's id (`SubscriptionSnapshot.id`). */
  readonly subscription: string;
  /** The notification's delivery id, `deliveryId(subscription, event.id)` of common/subscriptions.ts. */
  readonly deliveryId: string;
  /** The subscription's generation (`SubscriptionSnapshot.generation`). */
  readonly generation: string;
  /** When the links stop working; {@link SUBSCRIPTION_LINK_LIFETIME_MS} after now when omitted. */
  readonly expiresAt?: Date;
}

/**
 * The unsubscribe and mute-for-a-day URLs of one notification. Deterministic for the same input (and `expiresAt`),
 * so a retried activity may build them again; without `expiresAt` a retry's links expire a little later, which is
 * harmless.
 */
export function buildSubscriptionLinks(input: SubscriptionLinksInput): { unsubscribe: string; mute: string } {
  const prefix = `${input.subscription}/`;
  if (!input.deliveryId.startsWith(prefix) || input.subscription.includes('/')) {
    throw new Error(
      `delivery ${JSON.stringify(input.deliveryId)} is not one of subscription ${JSON.stringify(input.subscription)}`,
    );
  }
  if (!input.generation) throw new Error(`subscription ${input.subscription} has no generation to sign`);
  const eventId = input.deliveryId.slice(prefix.length);
  const expiresAt = input.expiresAt ?? new Date(Date.now() + SUBSCRIPTION_LINK_LIFETIME_MS);
  const base = `${input.publicUrl.replace(/\/+$/, '')}${SUBSCRIPTION_LINK_PATH}`;
  const link = (action: SubscriptionLinkAction): string =>
    base +
    signSubscriptionLink(
      { action, subscription: input.subscription, eventId, generation: input.generation, expiresAt },
      input.secret,
    );
  return { unsubscribe: link('unsubscribe'), mute: link('mute') };
}

/** Signs one link's token (the part of the URL after {@link SUBSCRIPTION_LINK_PATH}). */
export function signSubscriptionLink(link: Omit<SubscriptionLink, 'deliveryId'>, secret: string): string {
  const payload = Buffer.from(
    JSON.stringify([
      VERSION,
      ACTION_CODES[link.action],
      link.subscription,
      link.eventId,
      link.generation,
      Math.floor(link.expiresAt.getTime() / 1000),
    ]),
  ).toString('base64url');
  return `${payload}.${signature(payload, secret)}`;
}

/**
 * Checks a token: its signature (compared in constant time), its shape and its expiry at `now`. A valid token also
 * answers its `useId`, the same for every spelling of the same link: the `_id` under which its one use is recorded.
 */
export function verifySubscriptionLink(token: string, secret: string, now: Date = new Date()): SubscriptionLinkCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const [, payload = '', given = ''] = match;
  // Compared as text, so only the one canonical spelling of the signature passes (base64url decoders accept others).
  const expected = Buffer.from(signature(payload, secret));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { ok: false, reason: 'signature' };

  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!Array.isArray(fields) || fields.length !== 6 || fields[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, code, subscription, eventId, generation, expires] = fields as unknown[];
  const action = (Object.keys(ACTION_CODES) as SubscriptionLinkAction[]).find((name) => ACTION_CODES[name] === code);
  if (
    action === undefined ||
    typeof subscription !== 'string' ||
    subscription === '' ||
    subscription.includes('/') ||
    typeof eventId !== 'string' ||
    typeof generation !== 'string' ||
    generation === '' ||
    typeof expires !== 'number' ||
    !Number.isSafeInteger(expires)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const expiresAt = new Date(expires * 1000);
  if (expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    link: { action, subscription, eventId, deliveryId: `${subscription}/${eventId}`, generation, expiresAt },
    useId: createHash('sha256').update(`${payload}.${given}`).digest('base64url'),
  };
}

function signature(payload: string, secret: string): string {
  return createHmac('sha256', linkKey(secret))
    .update(payload)
    .digest()
    .subarray(0, SIGNATURE_BYTES)
    .toString('base64url');
}

/** The link key: HMAC-SHA256 of the purpose under the secret, as gateway/auth.ts `deriveKey` derives its keys. */
function linkKey(secret: string): Buffer {
  return createHmac('sha256', secret).update(KEY_PURPOSE).digest();
}
