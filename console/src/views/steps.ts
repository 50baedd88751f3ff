/**
 * A definition's steps as living documentation: for each step, what it is called, which action it runs and what
 * that action does (from the catalog), when it runs, its timeout and retry, its fixed params and its expressions.
 * Drawn from the stored definition as it is, so the page says exactly what a run will do.
 */
import type { ActionDescription, Definition, RetryOptions, Step } from '../api-types';
import { h, uniqueId, type Child } from '../dom';
import { code, factTable, type Fact } from './tables';
import { paramsOf, valueText, type Param } from './values';

/** Heading levels a step list can sit under. */
export type StepHeading = 'h3' | 'h4';

/** The definition's steps and its on_failure steps, each list under a heading of `level`. */
export function pipeline(
  definition: Pick<Definition, 'steps' | 'on_failure'>,
  catalog: ReadonlyMap<string, ActionDescription>,
  level: 'h2' | 'h3',
): Child {
  const steps: StepHeading = level === 'h2' ? 'h3' : 'h4';
  return [
    h(level, null, 'Steps'),
    stepList(definition.steps, catalog, steps),
    definition.on_failure?.length
      ? [
          h(level, null, 'On failure'),
          h('p', null, 'Run in order when a step fails or the run is cancelled.'),
          stepList(definition.on_failure, catalog, steps),
        ]
      : null,
  ];
}

/** The steps as an ordered list, each an article named by its heading. */
export function stepList(
  steps: readonly Step[],
  catalog: ReadonlyMap<string, ActionDescription>,
  heading: StepHeading,
): HTMLElement {
  return h(
    'ol',
    { class: 'pipeline' },
    steps.map((step) => h('li', { class: 'pipeline-step' }, stepView(step, catalog.get(step.action), heading))),
  );
}

function stepView(step: Step, action: ActionDescription | undefined, heading: StepHeading): HTMLElement {
  const id = uniqueId('step');
  const params = paramsOf(step.with);
  return h(
    'article',
    { class: 'step', 'aria-labelledby': id },
    h(heading, { id }, step.name ?? step.id),
    h(
      'p',
      { class: 'step-meta' },
      'Step ',
      code(step.id),
      ' runs ',
      h('a', { href: `/ui/actions#action-${step.action}` }, code(step.action)),
      action?.kind === 'meta' ? ' (a meta-action: it runs inside the workflow, with no activity)' : '',
    ),
    action
      ? h('p', { class: 'action-description' }, action.description)
      : h('p', { class: 'warning' }, `This gateway's catalog has no action ${step.action}.`),
    factTable('When and how it runs', options(step, action)),
    paramTable('Fixed params', params, 'fixed', 'No fixed params.'),
    paramTable('Expressions', params, 'expression', 'No expressions.'),
  );
}

function options(step: Step, action: ActionDescription | undefined): (Fact | undefined)[] {
  const defaults = action?.defaults;
  const activity = action?.kind !== 'meta';
  return [
    ['Runs when', step.if ? code(step.if, 'condition') : 'always (no if)'],
    activity || step.timeout
      ? [
          'Timeout',
          step.timeout ??
            (defaults?.timeout ? `${defaults.timeout} (the action's default)` : "not set: Flow's default applies"),
        ]
      : undefined,
    activity ? ['Execution', executionText(step, defaults?.execution)] : undefined,
    step.heartbeat || defaults?.heartbeat
      ? ['Heartbeat', step.heartbeat ?? `${defaults?.heartbeat ?? ''} (the action's default)`]
      : undefined,
    activity || step.retry ? ['Retry', retryText(step.retry, defaults?.retry)] : undefined,
    step.continue_on_error ? ['On error', 'the run goes on (continue_on_error)'] : undefined,
    step.allow_event_data?.length ? ['Event data allowed in', step.allow_event_data.join(', ')] : undefined,
  ];
}

/** Where the step runs, as the interpreter decides it: routed steps are remote, else the step's, the action's. */
function executionText(step: Step, fromAction: 'local' | 'remote' | undefined): string {
  if (step.task_queue !== undefined) return 'remote (routed to its task queue)';
  if (step.execution) return step.execution;
  return fromAction ? `${fromAction} (the action's default)` : "remote (Flow's default)";
}

function retryText(own: RetryOptions | undefined, fromAction: RetryOptions | undefined): string {
  const text = (retry: RetryOptions): string =>
    Object.entries(retry)
      .map(([key, value]) => `${key} ${valueText(value)}`)
      .join(', ');
  if (own && Object.keys(own).length > 0) {
    return fromAction ? `${text(own)} (over the action's default: ${text(fromAction)})` : text(own);
  }
  return fromAction ? `${text(fromAction)} (the action's default)` : "not set: Flow's default applies";
}

function paramTable(caption: string, params: readonly Param[], kind: Param['kind'], none: string): HTMLElement {
  const rows = params.filter((param) => param.kind === kind);
  if (rows.length === 0) return h('p', { class: 'none' }, h('span', { class: 'none-label' }, `${caption}: `), none);
  return factTable(
    caption,
    rows.map((param): Fact => [param.path, paramValue(param)]),
    `params params-${kind}`,
  );
}

function paramValue(param: Param): Child {
  const text = valueText(param.value);
  if (param.kind === 'fixed') return h('span', { class: 'fixed-value' }, text);
  return [code(text, 'expression'), ' ', h('span', { class: 'tag' }, 'expression')];
}
