/**
 * The definition page's dry run: paste an event body, pick one of the definition's bindings, and see what the plan
 * API says such an event would do (this definition and every other one bound to the event), why, and the input of
 * each first step. Nothing is started, so a read session may try it too. Everything shown is text.
 */
import { ApiError } from '../api';
import type { Binding, Definition } from '../api-types';
import { h, replace, uniqueId, type Child } from '../dom';
import { planEvent, type Plan, type PlannedRun } from '../plan-api';
import { definitionHref } from './definition-facts';
import { code, factTable } from './tables';

/** The "Try an event" section of a definition's page. */
export function dryRunPanel(definition: Definition): HTMLElement {
  const headingId = uniqueId('dry-run');
  const bindingId = uniqueId('dry-run-event');
  const bodyId = uniqueId('dry-run-body');
  const select = h(
    'select',
    { id: bindingId, name: 'event' },
    definition.on.map((binding, index) => h('option', { value: index }, bindingLabel(binding))),
  );
  const body = h(
    'textarea',
    {
      id: bodyId,
      name: 'body',
      rows: 6,
      spellcheck: 'false',

      'aria-describedby': `${bodyId}-hint`,
    },
    '{}',
  );
  const problem = h('p', { role: 'alert', class: 'form-error' });
  const result = h('div', { class: 'dry-run-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Plan this event');
  const form = h(
    'form',
    { class: 'dry-run-form', 'aria-label': 'Dry run' },
    h('div', { class: 'field' }, h('label', { for: bindingId }, 'Event'), select),
    h(
      'div',
      { class: 'field' },
      h('label', { for: bodyId }, 'Event body (JSON)'),
      body,
      h('p', { id: `${bodyId}-hint`, class: 'hint' }, 'The body as the event would carry it, a JSON object.'),
    ),
    h('p', { class: 'field-actions' }, button),
    problem,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    replace(problem);
    const binding = definition.on[Number(select.value)];
    if (!binding) return;
    const parsed = parseBody(body.value);
    if (typeof parsed === 'string') {
      replace(problem, parsed);
      body.focus();
      return;
    }
    button.disabled = true;
    replace(result, h('p', { class: 'muted' }, 'Planning…'));
    planEvent(binding.source, binding.type, parsed)
      .then((plan) => replace(result, planView(definition, binding, plan)))
      .catch((error: unknown) => {
        replace(result);
        replace(
          problem,
          `The plan was refused: ${error instanceof ApiError || error instanceof Error ? error.message : String(error)}`,
        );
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return h(
    'section',
    { class: 'dry-run', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Try an event (dry run)'),
    h(
      'p',
      null,
      'What an event with this body would do, as the dispatcher decides it (POST /api/plan). Nothing is started.',
    ),
    definition.on.length === 0 ? h('p', { class: 'none' }, 'This definition is bound to no event.') : [form, result],
  );
}

function bindingLabel(binding: Binding): string {
  return `${binding.source} / ${binding.type}${binding.if ? ` (if ${binding.if})` : ''}`;
}

/** The body as an object, or what is wrong with it. */
function parseBody(text: string): Readonly<Record<string, unknown>> | string {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === '' ? '{}' : text);
  } catch (error) {
    return `The event body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'The event body must be a JSON object, such as {"issue": "REL-1"}.';
  }
  return value as Record<string, unknown>;
}

/** This definition's verdict first, then the other definitions bound to the same event. */
function planView(definition: Definition, binding: Binding, plan: Plan): Child {
  const event = `${plan.source} / ${plan.type}`;
  const own = plan.matched.find((run) => run.definition === definition.id);
  const ownSkip = plan.skipped.find((skip) => skip.definition === definition.id);
  const link = (id: string): HTMLElement => h('a', { href: definitionHref(id) }, id);
  const others = [
    ...plan.matched
      .filter((run) => run.definition !== definition.id)
      .map((run) => h('li', null, link(run.definition), `: would run (revision ${run.revision})`)),
    ...plan.skipped
      .filter((skip) => skip.definition !== definition.id)
      .map((skip) => h('li', null, link(skip.definition), `: would not run, ${skip.reason}`)),
  ];
  let verdict: Child;
  if (own) {
    verdict = [
      h('p', { class: 'verdict would-run' }, `Would run: ${definition.name}, revision ${own.revision}.`),
      factTable(`Why and what for ${event}`, [
        [
          'Why',
          binding.if
            ? ['its condition ', code(binding.if), ' holds for this body']
            : `it is bound to ${event} with no condition`,
        ],
        ['Workflow id', code(own.workflowId)],
        ...firstStepFacts(own),
      ]),
      (own.notes ?? []).length === 0
        ? null
        : h(
            'ul',
            { class: 'notes', 'aria-label': 'Notes on where its steps would run' },
            (own.notes ?? []).map((note) => h('li', null, note)),
          ),
    ];
  } else if (ownSkip) {
    verdict = [
      h('p', { class: 'verdict would-not-run' }, `Would not run: ${definition.name}, revision ${ownSkip.revision}.`),
      factTable(`Why not, for ${event}`, [['Why not', ownSkip.reason]]),
    ];
  } else {
    verdict = h(
      'p',
      { class: 'verdict would-not-run' },
      `Would not run: the plan does not list ${definition.name} for ${event} (it may have been changed or deleted since this page was drawn).`,
    );
  }
  return [
    h('h3', null, `Plan for ${event}`),
    verdict,
    others.length === 0
      ? h('p', { class: 'muted' }, `No other definition is bound to ${event}.`)
      : [
          h('h4', null, `Other definitions bound to ${event}`),
          h('ul', { 'aria-label': `Other definitions bound to ${event}` }, others),
        ],
    subscriptionsView(event, plan),
  ];
}

/** Who would be told of the event: each subscription it would notify (and where), and those it would not, with why. */
function subscriptionsView(event: string, plan: Plan): Child {
  const planned = plan.subscriptions;
  if (!planned) return null;
  if (planned.notify.length === 0 && planned.skipped.length === 0)
    return h('p', { class: 'muted' }, `No subscription listens to ${event}.`);
  const targets = (deliver: { slack?: string; email?: string }): string =>
    [deliver.slack, deliver.email].filter((target) => target !== undefined).join(' and ');
  return [
    h('h4', null, `Subscriptions to ${event}`),
    h('ul', { 'aria-label': `Subscriptions to ${event}` }, [
      ...planned.notify.map((entry) =>
        h(
          'li',
          null,
          code(entry.id),
          ` (${entry.owner}): would notify ${targets(entry.deliver)}`,
          entry.mutedUntil === undefined ? '' : `, but it is muted until ${entry.mutedUntil}`,
        ),
      ),
      ...planned.skipped.map((entry) => h('li', null, code(entry.id), `: would not notify, ${entry.reason}`)),
    ]),
  ];
}

/** The first step's action and what it would receive (or why it would be skipped, or the error rendering it). */
function firstStepFacts(run: PlannedRun): [string, Child][] {
  const step = run.firstStep;
  if (!step) return [['First step', 'none: the definition has no steps']];
  const facts: [string, Child][] = [['First step', [code(step.id), ', action ', code(step.action)]]];
  if (step.skipped !== undefined) facts.push(['First step skipped', step.skipped]);
  else if (step.error !== undefined) facts.push(['First step input error', step.error]);
  else
    facts.push([
      'First step input',
      h(
        'pre',
        { class: 'example', 'aria-label': 'First step input' },
        h('code', null, JSON.stringify(step.input, null, 2)),
      ),
    ]);
  return facts;
}
