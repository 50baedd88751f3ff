/** What a definition is, besides its steps: whether it is enabled, what it reacts to, and its release train. */
import type { Binding, Definition } from '../api-types';
import { h, type Child } from '../dom';
import { code, factTable } from './tables';

/** The address of the page of one event. */
export function eventHref(source: string, type: string): string {
  return `/ui/events/${encodeURIComponent(source)}/${encodeURIComponent(type)}`;
}

/** The address of the page of one definition. */
export function definitionHref(id: string): string {
  return `/ui/definitions/${encodeURIComponent(id)}`;
}

/** `enabled` or `disabled`, marked so it can be told apart at a glance. */
export function enabledBadge(enabled: boolean): HTMLElement {
  return h('span', { class: enabled ? 'state state-on' : 'state state-off' }, enabled ? 'enabled' : 'disabled');
}

/** A binding's condition: the CEL `if`, or that every such event matches. */
export function condition(binding: Pick<Binding, 'if'>): Child {
  return binding.if ? ['if ', h('code', { class: 'condition' }, binding.if)] : 'every such event (no if)';
}

/** The definition's bindings, concurrency and state as a table. */
export function definitionFacts(definition: Definition, caption: string): HTMLElement {
  const concurrency = definition.concurrency;
  return factTable(caption, [
    ['Definition id', code(definition.id)],
    ['State', enabledBadge(definition.enabled)],
    [
      'Reacts to',
      h(
        'ul',
        { class: 'plain' },
        definition.on.map((binding) =>
          h(
            'li',
            null,
            h('a', { href: eventHref(binding.source, binding.type) }, `${binding.source} / ${binding.type}`),
            ': ',
            condition(binding),
          ),
        ),
      ),
    ],
    [
      'Concurrency',
      concurrency
        ? [
            'group ',
            code(concurrency.group),
            `; when busy: ${concurrency.when_busy}; at most ${concurrency.max_queue} waiting`,
          ]
        : 'none: its runs never wait for each other',
    ],
  ]);
}
