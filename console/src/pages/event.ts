/**
 * One event, as living documentation: every definition bound to it, with its condition, its release train and each
 * step (what the action does, its fixed params, its expressions, when it runs, its timeout and retry). The URL
 * (`/ui/events/jira/issue_transitioned`) is stable, to paste into a wiki or a ticket.
 */
import { actions, definition, definitionsFor, inBatches } from '../api';
import { h, uniqueId } from '../dom';
import { condition, definitionFacts, definitionHref } from '../views/definition-facts';
import { pipeline } from '../views/steps';
import { subscribePanel } from '../views/subscribe-form';
import type { Page } from './page';

/** `/ui/events/:source/:type`. */
export const eventPage: Page = async ([source = '', type = '']) => {
  const [bound, catalog] = await Promise.all([definitionsFor(source, type), actions()]);
  const stored = await inBatches(bound, 6, (summary) => definition(summary.id, summary.revision));
  return {
    title: `${source} / ${type}`,
    content: [
      h('h1', null, `${source} / ${type}`),
      h(
        'p',
        { class: 'lead' },
        `What runs when ${source} sends ${type}: every definition bound to this event, step by step.`,
      ),
      subscribePanel({ kind: 'event', source, type }),
      stored.length === 0
        ? h('p', { class: 'none' }, `No definition reacts to ${source} / ${type}.`)
        : stored.map(({ definition: def, revision }) => {
            const headingId = uniqueId('definition');
            const conditions = def.on.filter((binding) => binding.source === source && binding.type === type);
            return h(
              'section',
              { class: 'bound-definition', 'aria-labelledby': headingId },
              h('h2', { id: headingId }, h('a', { href: definitionHref(def.id) }, def.name)),
              h(
                'p',
                { class: 'muted' },
                `Revision ${revision}. Runs for this event `,
                conditions.map((binding, index) => [index > 0 ? ' or ' : '', condition(binding)]),
                '.',
              ),
              def.description ? h('p', { class: 'description' }, def.description) : null,
              definitionFacts(def, 'About this definition'),
              pipeline(def, catalog, 'h3'),
            );
          }),
    ],
  };
};
