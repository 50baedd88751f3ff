/**
 * The action catalog: every action this gateway knows, what it does, its pack and task queue, whether a worker polls
 * that queue now, its inputs, defaults and examples.
 */
import { call } from '../api';
import type { ActionDescription, JsonSchema } from '../api-types';
import { h, type Child } from '../dom';
import { code, dataTable, factTable, time } from '../views/tables';
import type { Page } from './page';

/** Whether a worker polls a queue, as `GET /api/actions` says (gateway/queue-liveness.ts). */
interface QueueWorker {
  readonly queue: string;
  readonly polled: boolean | null;
  readonly lastSeen?: string;
  readonly checkedAt: string;
  readonly unknown?: string;
}

/** An action as `GET /api/actions` lists it: a pack action has its pack; an action run by a worker, its queue. */
type ListedAction = ActionDescription & {
  readonly pack?: string;
  readonly packVersion?: string;
  readonly taskQueue?: string;
  readonly worker?: QueueWorker;
  /** What happens to its side effect when a step runs again (absent from gateways before guarantees). */
  readonly guarantee?: { readonly level: string; readonly explanation: string };
};

/** How the page names each guarantee level, as docs/actions.md does. */
const GUARANTEES: Readonly<Record<string, string>> = {
  'exactly-once': 'exactly once',
  'at-least-once-with-dedupe': 'at least once, with dedupe',
  'at-least-once': 'at least once',
};

/**
 * `/ui/actions`; each action is at `#action-<id>`, where a step's action links. Read afresh on every visit (not from
 * the console's cached catalog), so whether a worker polls each queue is as of now.
 */
export const actionsPage: Page = async () => {
  const catalog = (await call<{ actions: ListedAction[] }>('GET', '/api/actions')).actions;
  return {
    title: 'Actions',
    content: [
      h('h1', null, 'Actions'),
      h(
        'p',
        { class: 'lead' },
        `The ${catalog.length} actions a step can run, from GET /api/actions. Values in a step's with may use \${{ }} expressions.`,
      ),
      h(
        'nav',
        { 'aria-label': 'Actions on this page' },
        h(
          'ul',
          { class: 'index' },
          catalog.map((action) => h('li', null, h('a', { href: `#action-${action.id}` }, action.id))),
        ),
      ),
      catalog.map(actionView),
    ],
  };
};

function actionView(action: ListedAction): HTMLElement {
  const headingId = `action-${action.id}`;
  const properties = Object.entries(action.input.properties ?? {});
  const required = new Set(action.input.required ?? []);
  return h(
    'article',
    { class: 'action', 'aria-labelledby': headingId },
    h('h2', { id: headingId, tabindex: -1 }, action.id),
    h('p', { class: 'description' }, action.description),
    h(
      'p',
      null,
      h('a', { href: `/ui/new?action=${encodeURIComponent(action.id)}` }, `New definition with ${action.id}`),
    ),
    factTable('About this action', [
      [
        'Runs as',
        action.kind === 'meta' ? 'a meta-action, inside the workflow (no activity)' : 'an activity on a worker',
      ],
      action.kind === 'meta'
        ? undefined
        : ['Pack', action.pack ? `${action.pack} ${action.packVersion ?? ''}`.trim() : 'built-in (flow)'],
      action.taskQueue ? ['Task queue', code(action.taskQueue)] : undefined,
      action.worker ? ['Worker', workerText(action.worker)] : undefined,
      action.guarantee
        ? [
            'Guarantee',
            [
              h('strong', null, GUARANTEES[action.guarantee.level] ?? action.guarantee.level),
              `: ${action.guarantee.explanation}`,
            ],
          ]
        : undefined,
      action.kind === 'meta' ? undefined : ['Execution', executionText(action.defaults?.execution)],
      action.defaults ? ['Defaults', code(JSON.stringify(action.defaults))] : undefined,
      action.env.length > 0 ? ['Worker environment', action.env.join(', ')] : undefined,
      action.guardedInputs.length > 0
        ? [
            'Guarded inputs',
            h(
              'ul',
              { class: 'plain' },
              action.guardedInputs.map((guarded) =>
                h('li', null, code(guarded.input), `: an input that ${guarded.decides}`),
              ),
            ),
          ]
        : undefined,
    ]),
    properties.length === 0
      ? h('p', { class: 'none' }, 'No inputs.')
      : dataTable(
          `Inputs of ${action.id}`,
          ['Input', 'Type', 'Required', 'Default', 'Description'],
          properties.map(([name, schema]) => [
            code(name),
            typeText(schema),
            required.has(name) ? 'required' : 'optional',
            schema.default === undefined ? '—' : code(JSON.stringify(schema.default)),
            schema.description ?? '',
          ]),
        ),
    action.examples.length > 0
      ? [
          h('h3', null, 'Examples'),
          action.examples.map((example) => [
            h('h4', null, example.title),
            h('pre', { class: 'example' }, h('code', null, JSON.stringify({ with: example.with }, null, 2))),
          ]),
        ]
      : null,
  );
}

/** Whether a worker polls the action's queue, as text: "no worker polls queue payments now", and when that was checked. */
function workerText(worker: QueueWorker): Child {
  const checked = [' (checked ', time(worker.checkedAt), ')'];
  if (worker.polled === true) return [`a worker polls queue ${worker.queue} now`, ...checked];
  if (worker.polled === null) {
    return [
      `unknown whether a worker polls queue ${worker.queue}: ${worker.unknown ?? 'Temporal did not say'}`,
      ...checked,
    ];
  }
  return [
    h('strong', null, `no worker polls queue ${worker.queue} now`),
    ': its steps wait until one does',
    worker.lastSeen ? ['; the last poll was ', time(worker.lastSeen)] : '',
    ...checked,
  ];
}

/** A JSON Schema's type in a few words: `string`, `list of string`, `"a" | "b"`, `number or string`. */
function typeText(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeText).join(' or ');
  const types = typeof schema.type === 'string' ? [schema.type] : [...(schema.type ?? [])];
  if (types.length === 0) return 'any';
  return types
    .map((type) => (type === 'array' && schema.items ? `list of ${typeText(schema.items)}` : type))
    .join(' or ');
}

/** Where an action's steps run unless a step says otherwise (docs/engine.md#local-steps). */
function executionText(execution: 'local' | 'remote' | undefined): string {
  return execution === 'local'
    ? 'local: on the worker that runs the workflow, inside its workflow task (a step may set execution: remote)'
    : 'remote: an activity task through its task queue (a step may set execution: local)';
}
