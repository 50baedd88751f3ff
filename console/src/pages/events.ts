/**
 * The home page: every source that some definition reacts to, its event types, and the definitions bound to each
 * with their conditions and state, all from `GET /api/definitions` (following `next`): the list carries each binding's
 * condition (`if`), so the page reads no definition.
 */
import { allDefinitions } from '../api';
import type { Binding, DefinitionSummary } from '../api-types';
import { h, uniqueId } from '../dom';
import { condition, definitionHref, enabledBadge, eventHref } from '../views/definition-facts';
import type { Page } from './page';

/** A definition's binding to one event, with its condition. */
interface Bound {
  readonly definition: DefinitionSummary;
  readonly binding: Binding;
}

/** `/ui`. */
export const eventsPage: Page = async () => {
  const summaries = await allDefinitions();
  const bySource = new Map<string, Map<string, Bound[]>>();
  for (const summary of summaries) {
    for (const binding of summary.on) {
      const types = bySource.get(binding.source) ?? new Map<string, Bound[]>();
      bySource.set(binding.source, types);
      types.set(binding.type, [...(types.get(binding.type) ?? []), { definition: summary, binding }]);
    }
  }

  const sources = [...bySource.keys()].sort();
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
      : sources.map((source) => {
          const headingId = uniqueId('source');
          const types = bySource.get(source) ?? new Map<string, Bound[]>();
          return h(
            'section',
            { class: 'source', 'aria-labelledby': headingId },
            h('h2', { id: headingId }, source),
            [...types.keys()].sort().map((type) => {
              const bound = types.get(type) ?? [];
              return h(
                'div',
                { class: 'event-type' },
                h('h3', null, h('a', { href: eventHref(source, type) }, type)),
                h(
                  'ul',
                  { class: 'bound', 'aria-label': `Definitions bound to ${source} / ${type}` },
                  bound.map((entry) =>
                    h(
                      'li',
                      null,
                      h('a', { href: definitionHref(entry.definition.id) }, entry.definition.name),
                      ' ',
                      h('span', { class: 'muted' }, `(${entry.definition.id}, revision ${entry.definition.revision})`),
                      ' ',
                      enabledBadge(entry.definition.enabled),
                      ' ',
                      h('span', { class: 'condition-slot' }, condition(entry.binding)),
                    ),
                  ),
                ),
              );
            }),
          );
        }),
  ];
  return { title: 'Events', content };
};
