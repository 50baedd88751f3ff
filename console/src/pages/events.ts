/**
 * The home page: every source that some definition reacts to, its event types, and the definitions bound to each
 * with their conditions and state. The list comes from `GET /api/definitions`; the conditions (`if`) are not in the
 * list, so each definition's current revision is read and its conditions filled in as they arrive.
 */
import { ApiError, allDefinitions, definition, inBatches } from '../api';
import type { DefinitionSummary } from '../api-types';
import { h, replace, uniqueId } from '../dom';
import { condition, definitionHref, enabledBadge, eventHref } from '../views/definition-facts';
import type { Page } from './page';

/** A definition's binding to one event, by its position in the definition's `on`. */
interface Bound {
  readonly definition: DefinitionSummary;
  readonly index: number;
}

/** `/ui`. */
export const eventsPage: Page = async () => {
  const summaries = await allDefinitions();
  const bySource = new Map<string, Map<string, Bound[]>>();
  for (const summary of summaries) {
    summary.on.forEach((binding, index) => {
      const types = bySource.get(binding.source) ?? new Map<string, Bound[]>();
      bySource.set(binding.source, types);
      types.set(binding.type, [...(types.get(binding.type) ?? []), { definition: summary, index }]);
    });
  }
  const conditions = new Map<string, HTMLElement[]>();
  const slot = (bound: Bound): HTMLElement => {
    const element = h('span', { class: 'condition-slot' }, 'reading its condition…');
    const key = `${bound.definition.id}#${bound.index}`;
    conditions.set(key, [...(conditions.get(key) ?? []), element]);
    return element;
  };

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
                      slot(entry),
                    ),
                  ),
                ),
              );
            }),
          );
        }),
  ];
  void fillConditions(summaries, conditions);
  return { title: 'Events', content };
};

async function fillConditions(
  summaries: readonly DefinitionSummary[],
  conditions: ReadonlyMap<string, HTMLElement[]>,
): Promise<void> {
  await inBatches(summaries, 6, async (summary) => {
    const slots = (index: number): HTMLElement[] => conditions.get(`${summary.id}#${index}`) ?? [];
    try {
      const stored = await definition(summary.id, summary.revision);
      stored.definition.on.forEach((binding, index) => {
        for (const element of slots(index)) replace(element, condition(binding));
      });
    } catch (error) {
      const detail = error instanceof ApiError ? error.message : String(error);
      summary.on.forEach((_binding, index) => {
        for (const element of slots(index)) replace(element, `condition unavailable: ${detail}`);
      });
    }
  });
}
