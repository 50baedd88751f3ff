import express, { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import {
  SUBSCRIPTION_LINK_PATH,
  verifySubscriptionLink,
  type SubscriptionLink,
  type SubscriptionLinkCheck,
} from '../common/subscription-links';
import { isOutcomeTrigger, type Subscription } from '../common/subscriptions';
import type { StoredSubscription, SubscriptionLinkUse, SubscriptionStore } from '../registry';

/** How long the mute link mutes. */
export const MUTE_FOR_MS = 24 * 60 * 60 * 1000;

/** What {@link subscriptionLinksRouter} needs. */
export interface SubscriptionLinksOptions {
  readonly subscriptions: SubscriptionStore;
  /** `FLOW_SUBSCRIPTION_LINK_SECRET`; without it every link is answered "not set up" (503). */
  readonly secret?: string;
  /** Requests a minute from one client address to the link pages, both methods together (default 60). */
  readonly ratePerMinute?: number;
  readonly now?: () => Date;
  /** Where an unexpected failure is logged. */
  readonly log?: (message: string, error: unknown) => void;
}

/**
 * The one-click links of subscription notifications (docs/subscriptions.md, "Links"), outside `/api` and without
 * sign-in: the signed token is the authorisation.
 *
 * - `GET /subscriptions/links/:token` changes nothing: it shows what the link would do, with one button that posts
 *   to the same URL (a link scanner that fetches every URL in a message unsubscribes no one).
 * - `POST /subscriptions/links/:token` acts, once: the form's post, and a mail provider's RFC 8058 one-click post
 *   (`List-Unsubscribe=One-Click`). The link's use is recorded before it acts; a second use says it was used.
 *
 * Unsubscribe deletes the subscription; mute sets `muted_until` a day ahead (never shortening a longer mute). A link
 * names its subscription's generation, so it does nothing to a subscription created again under the same id. Pages
 * are plain HTML with every value escaped, no scripts, and a CSP that allows nothing but posting the form here.
 */
export function subscriptionLinksRouter(options: SubscriptionLinksOptions): Router {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const store = options.subscriptions;
  const router = Router();
  const route = `${SUBSCRIPTION_LINK_PATH}:token`;
  const limit = options.ratePerMinute ?? 60;

  router.use(
    SUBSCRIPTION_LINK_PATH,
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      // By client address (the default key, which groups an IPv6 client's /56); its own store, apart from the events'.
      handler: (_req, res) => {
        page(res.set('Retry-After', '60'), 429, {
          title: 'Too many requests',
          lines: [`More than ${limit} requests a minute came from your address. Wait a minute and try again.`],
        });
      },
    }),
  );

  router.get(route, async (req, res) => {
    const check = checkLink(req, res, options.secret, now());
    if (!check) return;
    const { link, useId } = check;
    try {
      const used = await store.linkUse(useId);
      if (used) return void usedPage(res, link, used);
      const current = await liveSubscription(store, link);
      if (!current) return void gonePage(res, link);
      const { subscription } = current;
      const what = `${describeTrigger(subscription)} to ${describeTargets(subscription)}`;
      page(res, 200, {
        title: link.action === 'unsubscribe' ? 'Unsubscribe?' : 'Mute for a day?',
        lines:
          link.action === 'unsubscribe'
            ? [`Stop notifications of ${what}?`, 'This deletes the subscription.']
            : [
                `Pause notifications of ${what} for a day, until ${new Date(now().getTime() + MUTE_FOR_MS).toISOString()}?`,
                'Nothing is sent while it is muted; the subscription stays.',
              ],
        details: subscriptionDetails(subscription),
        button: link.action === 'unsubscribe' ? 'Unsubscribe' : 'Mute for a day',
        after: 'Nothing changes until you press the button.',
      });
    } catch (error) {
      log('a subscription link page failed', error);
      unavailable(res);
    }
  });

  // Any post acts, whatever its body: the form's (empty) and RFC 8058's `List-Unsubscribe=One-Click` alike.
  router.post(route, express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const check = checkLink(req, res, options.secret, now());
    if (!check) return;
    const { link, useId } = check;
    let claimed = false;
    try {
      // Whether the subscription is there to act on is asked first: a link for one that is gone records nothing.
      const before = await liveSubscription(store, link);
      if (!before) {
        const used = await store.linkUse(useId);
        return void (used ? usedPage(res, link, used) : gonePage(res, link));
      }
      const claim = await store.claimLinkUse({
        _id: useId,
        action: link.action,
        subscription: link.subscription,
        delivery: link.deliveryId,
        usedAt: now(),
      });
      if (!claim.claimed) return void usedPage(res, link, claim.use);
      claimed = true;
      const outcome = link.action === 'unsubscribe' ? await unsubscribe(store, link) : await mute(store, link, now());
      await store.settleLinkUse(useId, outcome);
      claimed = false;
      if (outcome.done === 'gone') return void gonePage(res, link);
      if (outcome.done === 'unsubscribed') {
        return void page(res, 200, {
          title: 'You are unsubscribed',
          lines: [`You will get no more notifications of ${describeTrigger(before.subscription)}.`],
          details: subscriptionDetails(before.subscription),
        });
      }
      page(res, 200, {
        title: 'Muted for a day',
        lines: [`Nothing is sent for ${before.subscription.id} until ${outcome.mutedUntil ?? ''}.`],
        details: subscriptionDetails(before.subscription),
      });
    } catch (error) {
      log('a subscription link failed to act', error);
      // The link did not act: forget its use, so that pressing the button again can.
      if (claimed) await store.releaseLinkUse(useId).catch((release: unknown) => log('releasing a link use', release));
      unavailable(res);
    }
  });

  return router;
}

/** Verifies the request's token; answers the refusal page and returns undefined when it is not valid. */
function checkLink(
  req: Request,
  res: Response,
  secret: string | undefined,
  now: Date,
): Extract<SubscriptionLinkCheck, { ok: true }> | undefined {
  if (!secret) {
    page(res, 503, {
      title: 'Links are not set up',
      lines: [
        'This Flow has no FLOW_SUBSCRIPTION_LINK_SECRET, so it cannot check links. Nothing was changed.',
        'Manage your subscriptions in the console instead.',
      ],
    });
    return undefined;
  }
  const check = verifySubscriptionLink(String(req.params['token'] ?? ''), secret, now);
  if (check.ok) return check;
  const [status, line] =
    check.reason === 'expired'
      ? [403, 'This link has expired. Nothing was changed. Use a link from a newer notification, or the console.']
      : check.reason === 'signature'
        ? [403, 'This link is not valid: it was not signed by this Flow, or it was changed. Nothing was changed.']
        : [400, 'This link is not valid: it is incomplete or damaged. Nothing was changed.'];
  page(res, status, { title: 'This link is not valid', lines: [line] });
  return undefined;
}

/** The subscription the link was made for: live, and of the link's generation (not one created again since). */
async function liveSubscription(store: SubscriptionStore, link: SubscriptionLink): Promise<StoredSubscription | null> {
  const current = await store.get(link.subscription);
  return current && current.generation === link.generation ? current : null;
}

/** Attempts of a guarded write whose revision moved in between (an edit or a mute at the same moment). */
const ATTEMPTS = 3;

async function unsubscribe(
  store: SubscriptionStore,
  link: SubscriptionLink,
): Promise<NonNullable<SubscriptionLinkUse['outcome']>> {
  for (let attempt = 1; ; attempt++) {
    const current = await liveSubscription(store, link);
    if (!current) return { done: 'gone' };
    const result = await store.deleteIfRevision(link.subscription, current.revision, 'unsubscribe link');
    if (result.status === 'done') return { done: 'unsubscribed' };
    if (result.status === 'missing') return { done: 'gone' };
    if (attempt >= ATTEMPTS) throw new Error(`subscription ${link.subscription} kept changing`);
  }
}

async function mute(
  store: SubscriptionStore,
  link: SubscriptionLink,
  now: Date,
): Promise<NonNullable<SubscriptionLinkUse['outcome']>> {
  const until = new Date(now.getTime() + MUTE_FOR_MS);
  for (let attempt = 1; ; attempt++) {
    const current = await liveSubscription(store, link);
    if (!current) return { done: 'gone' };
    const already = current.subscription.muted_until ? new Date(current.subscription.muted_until) : undefined;
    // Muting is idempotent in effect: a longer mute already set stays.
    if (already && already.getTime() >= until.getTime()) return { done: 'muted', mutedUntil: already.toISOString() };
    const result = await store.setMutedUntil(link.subscription, until, current.revision, 'mute link');
    if (result.status === 'done') return { done: 'muted', mutedUntil: until.toISOString() };
    if (result.status === 'missing') return { done: 'gone' };
    if (attempt >= ATTEMPTS) throw new Error(`subscription ${link.subscription} kept changing`);
  }
}

function usedPage(res: Response, link: SubscriptionLink, used: SubscriptionLinkUse): void {
  const lines = ['This link was already used.'];
  if (link.action === 'unsubscribe') lines.push('You are unsubscribed.');
  else if (used.outcome?.mutedUntil) lines.push(`It muted the subscription until ${used.outcome.mutedUntil}.`);
  page(res, 200, { title: 'This link was already used', lines });
}

function gonePage(res: Response, link: SubscriptionLink): void {
  if (link.action === 'unsubscribe') {
    page(res, 200, {
      title: 'You are unsubscribed',
      lines: [`The subscription ${link.subscription} this link was for no longer exists: nothing more is sent for it.`],
    });
    return;
  }
  page(res, 404, {
    title: 'This subscription no longer exists',
    lines: [`The subscription ${link.subscription} this link was for no longer exists, so there is nothing to mute.`],
  });
}

function unavailable(res: Response): void {
  page(res.set('Retry-After', '10'), 503, {
    title: 'Try again in a moment',
    lines: ['Flow could not reach its registry, so nothing was changed. Try again in a moment.'],
  });
}

/** `“jira/issue_transitioned” events where …` or `runs of “release” that are failed or cancelled`. */
function describeTrigger(subscription: Subscription): string {
  const on = subscription.on;
  if (isOutcomeTrigger(on)) {
    return `runs of “${on.definition}” that are ${joinWords(
      on.outcomes.map((outcome) => outcome.replace(/_/g, ' ')),
      'or',
    )}`;
  }
  return `“${on.source}/${on.type}” events${on.if === undefined ? '' : ` where ${on.if}`}`;
}

/** `Slack @alice and alice@example.com`. */
function describeTargets(subscription: Subscription): string {
  const targets: string[] = [];
  if (subscription.deliver.slack !== undefined) targets.push(`Slack ${subscription.deliver.slack}`);
  if (subscription.deliver.email !== undefined) targets.push(subscription.deliver.email);
  return joinWords(targets, 'and');
}

function joinWords(words: readonly string[], last: string): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} ${last} ${words[words.length - 1]}`;
}

function subscriptionDetails(subscription: Subscription): [string, string][] {
  return [
    ['Subscription', subscription.id],
    ['Owner', subscription.owner],
    ['On', describeTrigger(subscription)],
    ['To', describeTargets(subscription)],
    ...(subscription.message === undefined ? [] : [['Message', subscription.message] as [string, string]]),
    ...(subscription.muted_until ? [['Muted until', subscription.muted_until] as [string, string]] : []),
  ];
}

interface PageContent {
  readonly title: string;
  readonly lines: readonly string[];
  readonly details?: readonly [string, string][];
  /** A form that posts to this same URL, with this button. */
  readonly button?: string;
  readonly after?: string;
}

/**
 * Sends a small text page: every value escaped, no script, no style, nothing loaded; the one form posts to this URL.
 * Not cached and not indexed, and the token does not leak through a Referer.
 */
function page(res: Response, status: number, content: PageContent): void {
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${escapeHtml(content.title)} · Flow</title></head>`,
    '<body><main>',
    `<h1>${escapeHtml(content.title)}</h1>`,
    ...content.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    ...(content.details && content.details.length > 0
      ? [
          '<dl>',
          ...content.details.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`),
          '</dl>',
        ]
      : []),
    // No action: the form posts to the page's own URL, the link.
    ...(content.button
      ? [`<form method="post"><button type="submit">${escapeHtml(content.button)}</button></form>`]
      : []),
    ...(content.after ? [`<p>${escapeHtml(content.after)}</p>`] : []),
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
  res
    .status(status)
    .set({
      'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Robots-Tag': 'noindex',
    })
    .type('html')
    .send(html);
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
