/**
 * "Recently unmatched": the events accepted recently that started and woke no run, each with why (no definition
 * bound, a condition that was false, a disabled definition), from `GET /api/events/unmatched`. Every value is
 * rendered as text; the event's body is never shown (the API does not send it), its id is, to find it in Temporal.
 */
import { h, uniqueId, type Child } from '../dom';
import { unmatchedEvents, type UnmatchedEvent, type UnmatchedEvents } from '../unmatched-api';
import { refusalText } from './confirmation';
import { eventHref } from './definition-facts';
import { code, dataTable, time } from './tables';

/** How many events the section lists. */
const SHOWN = 20;

/**
 * The section, for the home page. A failure to read the list (Temporal down, the search attribute missing) is told
 * inside the section, so the rest of the page still shows.
 */
export async function unmatchedEventsSection(filter: { readonly source?: string } = {}): Promise<Node> {
  const headingId = uniqueId('unmatched');
  const section = (...content: Child[]): HTMLElement =>
    h(
      'section',
      { class: 'unmatched-events', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, 'Recently unmatched'),
      h(
        'p',
        { class: 'muted' },
        'Events that arrived and started no run, with why. Open one in Temporal by its event id to see its body.',
      ),
      ...content,
    );
  let list: UnmatchedEvents;
  try {
    list = await unmatchedEvents({ limit: SHOWN, ...filter });
  } catch (error) {
    return section(h('p', { class: 'none', role: 'status' }, refusalText('Reading the unmatched events', error)));
  }
  if (list.items.length === 0) {
    return section(
      h(
        'p',
        { class: 'none' },
        list.dispatched === 0
          ? 'No events dispatched recently, so none unmatched.'
          : `No unmatched events among the last ${list.dispatched.toLocaleString('en')} dispatched.`,
      ),
    );
  }
  return section(
    dataTable(
      `The ${list.items.length === 1 ? 'latest event' : `latest ${list.items.length} events`} that matched nothing`,
      ['Event', 'Received', 'Why nothing ran', 'Event id'],
      list.items.map((item) => row(item)),
    ),
  );
}

function row(item: UnmatchedEvent): Child[] {
  return [
    h('a', { href: eventHref(item.source, item.type) }, `${item.source} / ${item.type}`),
    time(item.receivedAt),
    item.why.length === 1
      ? (item.why[0] ?? '')
      : h(
          'ul',
          { class: 'plain' },
          item.why.map((line) => h('li', null, line)),
        ),
    [code(item.eventId), ' ', h('a', { href: item.ui, 'aria-label': `${item.eventId} in Temporal` }, 'in Temporal')],
  ];
}
