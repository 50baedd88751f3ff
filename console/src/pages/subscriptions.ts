/**
 * My subscriptions: what the signed-in name is told of, by Slack or email (`GET /api/subscriptions?owner=me`), 20 at
 * a time, each with its trigger (linking to the event's or the definition's page), where it goes, its message and
 * whether it is muted; **Mute for a day**, **Unmute** and **Delete** (asked first). A write session may show
 * everyone's (`?everyone=1`). Every value, conditions and messages included, is drawn as text.
 */
import { session } from '../api';
import { h, replace, uniqueId, type Child } from '../dom';
import {
  deleteSubscription,
  isOutcomeTrigger,
  listSubscriptions,
  muteSubscription,
  type StoredSubscription,
  type Subscription,
} from '../subscriptions-api';
import { confirmInPlace, noticeArea, refusalText, type Notice } from '../views/confirmation';
import { definitionHref, eventHref } from '../views/definition-facts';
import { deliveryText, SUBSCRIPTIONS_HREF } from '../views/subscribe-form';
import { code, factTable, time } from '../views/tables';
import type { Page } from './page';

/** Subscriptions a page. */
const PAGE_SIZE = 20;
/** How long "Mute for a day" mutes. */
const DAY_MS = 24 * 60 * 60 * 1000;

/** `/ui/subscriptions` (`?everyone=1` for a write session, `?after=<id>` for the next page). */
export const subscriptionsPage: Page = async () => {
  const query = new URLSearchParams(location.search);
  const me = session();
  const everyone = me?.scope === 'write' && query.get('everyone') === '1';
  const after = query.get('after') ?? undefined;
  const page = await listSubscriptions({ mine: !everyone, limit: PAGE_SIZE, ...(after ? { after } : {}) });
  const notice = noticeArea();
  const list = h(
    'div',
    { class: 'subscriptions' },
    page.items.length === 0
      ? h(
          'p',
          { class: 'none' },
          after
            ? 'No more subscriptions.'
            : everyone
              ? 'Nobody subscribes to anything yet.'
              : 'You subscribe to nothing yet. Subscribe from the page of an event or a definition.',
        )
      : page.items.map((stored) => subscriptionCard(stored, everyone, notice)),
  );
  const heading = everyone ? "Everyone's subscriptions" : 'My subscriptions';
  return {
    title: heading,
    content: [
      h('h1', null, heading),
      h(
        'p',
        { class: 'lead' },
        everyone
          ? 'Every subscription, in id order: who is told of what, by Slack or email.'
          : `What ${me?.actor ?? 'you'} is told of, by Slack or email. Subscribe from the page of an event (`,
        everyone ? null : [h('a', { href: '/ui' }, 'every event'), ') or of a definition.'],
      ),
      me?.scope === 'write' ? scopeSwitch(everyone) : null,
      notice.element,
      list,
      pager(everyone, after, page.next !== null ? page.items.at(-1)?.id : undefined),
    ],
  };
};

/** For a write session: show only mine, or everyone's. */
function scopeSwitch(everyone: boolean): HTMLElement {
  return h(
    'nav',
    { class: 'scope-switch', 'aria-label': 'Whose subscriptions' },
    h(
      'ul',
      null,
      h('li', null, h('a', { href: SUBSCRIPTIONS_HREF, 'aria-current': everyone ? undefined : 'page' }, 'Mine')),
      h(
        'li',
        null,
        h(
          'a',
          { href: `${SUBSCRIPTIONS_HREF}?everyone=1`, 'aria-current': everyone ? 'page' : undefined },
          "Everyone's",
        ),
      ),
    ),
  );
}

function pager(everyone: boolean, after: string | undefined, nextAfter: string | undefined): Child {
  if (!after && !nextAfter) return null;
  const href = (from?: string): string => {
    const query = new URLSearchParams();
    if (everyone) query.set('everyone', '1');
    if (from) query.set('after', from);
    const text = query.toString();
    return text ? `${SUBSCRIPTIONS_HREF}?${text}` : SUBSCRIPTIONS_HREF;
  };
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages of subscriptions' },
    after ? h('a', { href: href() }, 'First page') : null,
    nextAfter ? h('a', { href: href(nextAfter) }, 'Next page') : null,
  );
}

/** One subscription: its trigger as the heading, its facts, and what can be done with it. */
function subscriptionCard(stored: StoredSubscription, showOwner: boolean, notice: Notice): HTMLElement {
  const headingId = uniqueId('subscription');
  const card = h('article', { class: 'subscription', 'aria-labelledby': headingId });
  const draw = (current: StoredSubscription): void => {
    const sub = current.subscription;
    replace(
      card,
      h('h2', { id: headingId }, triggerTitle(sub)),
      factTable(`Subscription ${sub.id}`, [
        ['Id', code(sub.id)],
        showOwner ? ['Owner', sub.owner] : undefined,
        ...triggerFacts(sub),
        ['Delivered to', deliveryText(sub.deliver)],
        ['Message', sub.message ? h('span', { class: 'message-text' }, sub.message) : 'the default message'],
        ['Muted until', mutedText(sub.muted_until)],
        ['Changed', [time(current.updatedAt), ` by ${current.author} (revision ${current.revision})`]],
      ]),
      actions(current, draw, card, notice),
    );
  };
  draw(stored);
  return card;
}

function triggerTitle(sub: Subscription): Child {
  if (isOutcomeTrigger(sub.on))
    return ['Runs of ', h('a', { href: definitionHref(sub.on.definition) }, sub.on.definition)];
  return h('a', { href: eventHref(sub.on.source, sub.on.type) }, `${sub.on.source} / ${sub.on.type}`);
}

function triggerFacts(sub: Subscription): [string, Child][] {
  if (isOutcomeTrigger(sub.on))
    return [
      ['Definition', h('a', { href: definitionHref(sub.on.definition) }, sub.on.definition)],
      ['Outcomes', sub.on.outcomes.map((outcome) => outcome.replaceAll('_', ' ')).join(', ')],
    ];
  return [
    ['Event', h('a', { href: eventHref(sub.on.source, sub.on.type) }, `${sub.on.source} / ${sub.on.type}`)],
    ['Condition', sub.on.if ? ['if ', code(sub.on.if, 'condition')] : 'every such event (no if)'],
  ];
}

function isMuted(until: string | null | undefined): until is string {
  return typeof until === 'string' && Date.parse(until) > Date.now();
}

function mutedText(until: string | null | undefined): Child {
  if (isMuted(until)) return time(until);
  if (until) return ['not muted (the last mute ended ', time(until), ')'];
  return 'not muted';
}

/** Mute for a day, Unmute (when muted) and Delete (asked first); each says what it did in the page's notice. */
function actions(
  stored: StoredSubscription,
  draw: (after: StoredSubscription) => void,
  card: HTMLElement,
  notice: Notice,
): HTMLElement {
  const sub = stored.subscription;
  const busy = (on: boolean): void => {
    for (const button of buttons) button.disabled = on;
  };
  const mute = (until: string | null): void => {
    busy(true);
    muteSubscription(sub, until)
      .then((after) => {
        notice.done(
          until === null
            ? `Unmuted ${sub.id}: notifications are sent again.`
            : ['Muted ', sub.id, ' until ', time(after.subscription.muted_until ?? until), '.'],
        );
        draw(after);
        card.querySelector<HTMLElement>('.subscription-actions button')?.focus();
      })
      .catch((error: unknown) => {
        notice.refused(refusalText(until === null ? 'Unmuting' : 'Muting', error));
        busy(false);
      });
  };
  const muteButton = h(
    'button',
    { type: 'button', onclick: () => mute(new Date(Date.now() + DAY_MS).toISOString()) },
    'Mute for a day',
  );
  const unmuteButton = isMuted(sub.muted_until)
    ? h('button', { type: 'button', class: 'secondary', onclick: () => mute(null) }, 'Unmute')
    : null;
  const deleteButton = h('button', { type: 'button', class: 'secondary' }, 'Delete');
  deleteButton.addEventListener('click', () =>
    confirmInPlace(
      deleteButton,
      ['Delete subscription ', code(sub.id), '? Nothing more is sent for it.'],
      { yes: 'Yes, delete it', no: 'Keep it' },
      async () => {
        try {
          await deleteSubscription(sub.id);
        } catch (error) {
          notice.refused(refusalText('Deleting', error));
          return false;
        }
        notice.done(['Deleted subscription ', sub.id, '.']);
        card.remove();
        notice.element.focus();
        return true;
      },
    ),
  );
  const buttons = [muteButton, unmuteButton, deleteButton].filter(
    (button): button is HTMLButtonElement => button !== null,
  );
  return h('p', { class: 'subscription-actions field-actions' }, buttons);
}
