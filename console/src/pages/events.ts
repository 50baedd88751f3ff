/**
 * The home page and a source's page: every source that some definition reacts to, its event types, and the
 * definitions bound to each with their conditions and state, from `GET /api/events` (one request, answered from the
 * gateway's events index, whatever the number of definitions). A filter narrows the list as one types; its text is
 * kept in the address (`?q=`), so a filtered view can be shared too.
 */
import { eventIndex } from '../api';
import type { EventIndex, IndexedDefinition } from '../api-types';
import { h, uniqueId } from '../dom';
import { condition, definitionHref, enabledBadge, eventHref } from '../views/definition-facts';
import { unmatchedEventsSection } from '../views/unmatched-events';
import type { Page } from './page';

type IndexedSource = EventIndex['sources'][number];

/** `/ui`: every source. */
export const eventsPage: Page = async () => {
  const [index, unmatched] = await Promise.all([eventIndex(), unmatchedEventsSection()]);
  const sources = index.sources;
  const types = sources.reduce((sum, source) => sum + source.types.length, 0);
  const content = [
    h('h1', null, 'Events'),
    h(
      'p',
      { class: 'lead' },
      'Every event a definition reacts to, by source. Open an event to see everything that runs when it arrives. ',
      h('a', { href: '/ui/new' }, 'Start a new definition'),
      '.',
    ),
    sources.length === 0
      ? h(
          'p',
          { class: 'none' },
          'No definitions yet. Save one with PUT /api/definitions/<id> (see the README); it shows here at once.',
        )
      : [
          h(
            'p',
            null,
            `${count(index.definitions, 'definition')} react to ${count(types, 'event type')} from ` +
              `${count(sources.length, 'source')}: `,
            sources.map((source, position) => [
              position === 0 ? '' : ', ',
              h('a', { href: sourceHref(source.source) }, source.source),
              ` (${count(source.types.length, 'type')})`,
            ]),
            '.',
          ),
          filteredList(sources),
        ],
    unmatched,
  ];
  return { title: 'Events', content };
};

/** `/ui/events/<source>`: one source's event types. */
export const sourcePage: Page = async ([name = '']) => {
  const [index, unmatched] = await Promise.all([eventIndex(), unmatchedEventsSection({ source: name })]);
  const source = index.sources.find((candidate) => candidate.source === name);
  const content = [
    h('p', { class: 'muted' }, h('a', { href: '/ui' }, 'Events'), ' / ', name),
    h('h1', null, `Events from ${name}`),
    source
      ? [h('p', null, `${count(source.types.length, 'event type')} of ${name}.`), filteredList([source])]
      : h(
          'p',
          { class: 'none' },
          `No definition reacts to an event from ${name}. `,
          h('a', { href: '/ui' }, 'See every source'),
          '.',
        ),
    unmatched,
  ];
  return { title: `Events from ${name}`, content };
};

/** The sources' sections under a filter field that hides the event types whose text does not match. */
function filteredList(sources: readonly IndexedSource[]): HTMLElement {
  const fieldId = uniqueId('filter');
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const sections = sources.map((source) => sourceSection(source));
  const initial = new URLSearchParams(location.search).get('q') ?? '';
  const input = h('input', {
    id: fieldId,
    type: 'search',
    value: initial,
    placeholder: 'source, event type, definition id or name',
    autocomplete: 'off',
    oninput: () => apply(true),
  });
  const total = sources.reduce((sum, source) => sum + source.types.length, 0);
  const apply = (remember: boolean): void => {
    const query = input.value.trim().toLowerCase();
    let shown = 0;
    for (const section of sections) {
      let shownHere = 0;
      for (const block of section.blocks) {
        const visible = query === '' || block.text.includes(query);
        block.element.hidden = !visible;
        if (visible) shownHere += 1;
      }
      section.element.hidden = shownHere === 0;
      shown += shownHere;
    }
    status.textContent = query === '' ? '' : `${count(shown, 'event type')} of ${total} match “${input.value.trim()}”.`;
    if (remember) {
      const url = new URL(location.href);
      if (query === '') url.searchParams.delete('q');
      else url.searchParams.set('q', input.value.trim());
      history.replaceState(null, '', `${url.pathname}${url.search}`);
    }
  };
  apply(false);
  return h(
    'div',
    { class: 'event-list' },
    h('p', { class: 'field' }, h('label', { for: fieldId }, 'Filter '), input),
    status,
    sections.map((section) => section.element),
  );
}

/** One source's section, with each event type's block and the text the filter looks in. */
function sourceSection(source: IndexedSource): {
  element: HTMLElement;
  blocks: { element: HTMLElement; text: string }[];
} {
  const headingId = uniqueId('source');
  const blocks = source.types.map((entry) => ({
    element: eventTypeBlock(source.source, entry.type, entry.definitions),
    text: [source.source, entry.type, ...entry.definitions.flatMap((d) => [d.id, d.name])].join('\n').toLowerCase(),
  }));
  const element = h(
    'section',
    { class: 'source', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, h('a', { href: sourceHref(source.source) }, source.source)),
    blocks.map((block) => block.element),
  );
  return { element, blocks };
}

function eventTypeBlock(source: string, type: string, definitions: readonly IndexedDefinition[]): HTMLElement {
  return h(
    'div',
    { class: 'event-type' },
    h('h3', null, h('a', { href: eventHref(source, type) }, type)),
    h(
      'ul',
      { class: 'bound', 'aria-label': `Definitions bound to ${source} / ${type}` },
      definitions.map((definition) =>
        h(
          'li',
          null,
          h('a', { href: definitionHref(definition.id) }, definition.name),
          ' ',
          h('span', { class: 'muted' }, `(${definition.id}, revision ${definition.revision})`),
          ' ',
          enabledBadge(definition.enabled),
          ' ',
          h('span', { class: 'condition-slot' }, condition(definition)),
        ),
      ),
    ),
  );
}

function sourceHref(source: string): string {
  return `/ui/events/${encodeURIComponent(source)}`;
}

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}
