import { stringify } from 'yaml';
import { z } from 'zod';
import { DEFAULT_GUARANTEE, type ActionGuarantee, type AnyAction, type GuardedInput } from './define-action';

/** One action as `GET /api/actions` and docs/actions.md describe it; generated from the action's declaration. */
export interface ActionDescription {
  readonly id: string;
  readonly description: string;
  readonly kind: 'activity' | 'meta';
  readonly input: JsonSchema;
  readonly output: JsonSchema;
  readonly examples: readonly { title: string; with: Readonly<Record<string, unknown>> }[];
  readonly defaults?: unknown;
  readonly env: readonly string[];
  /** Inputs where event data is refused at save unless the step lists them in `allow_event_data`. */
  readonly guardedInputs: readonly GuardedInput[];
  /** What a retry does to the action's side effect; the SDK's default (at least once) when the action states none. */
  readonly guarantee: ActionGuarantee;
}

/** The subset of JSON Schema the docs read. */
interface JsonSchema {
  readonly type?: string | string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly items?: JsonSchema;
  readonly description?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly additionalProperties?: JsonSchema | boolean;
}

/** Describes every action from its declaration: id, description, JSON Schemas, examples, defaults, environment. */
export function describeActions(actions: Iterable<AnyAction>): ActionDescription[] {
  return [...actions]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((action) => ({
      id: action.id,
      description: action.description,
      kind: action.kind,
      input: z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema,
      output: z.toJSONSchema(action.output, { io: 'output', unrepresentable: 'any' }) as JsonSchema,
      examples: action.examples,
      ...(action.defaults ? { defaults: action.defaults } : {}),
      env: action.env ?? [],
      guardedInputs: action.guardedInputs ?? [],
      guarantee: action.guarantee ?? DEFAULT_GUARANTEE,
    }));
}

/** docs/actions.md: the action reference, generated so it can never drift from the code (`npm run docs`). */
export function renderActionDocs(actions: Iterable<AnyAction>): string {
  const described = describeActions(actions);
  const lines: string[] = [
    '# Actions',
    '',
    '<!-- Generated from the action declarations by `npm run docs`; a test fails when this file is stale. -->',
    '',
    'Every step of a definition names one of these actions. Values in `with` may use `${{ expr }}` expressions.',
    'Meta-actions run inside the workflow and cost no activity; the others run as activities whose type is the',
    'action id, retried by Temporal on failure: **remote** ones through the task queue, **local** ones (short, bounded',
    'calls) on the worker that runs the workflow. Each action states its execution; a step may override it.',
    '',
    'Tables list the fields of list items and nested objects as `list[].field` and `object.field`.',
    '',
    'A **guarded** input chooses what runs or where credentials and files go. A step whose value for it is rendered',
    'from event data (`event`, `run.eventId`, or `vars` and step outputs derived from them) is refused when the',
    'definition is saved, because whoever can send the event could choose it. A step that means it names the input',
    'in `allow_event_data`, such as `allow_event_data: [url]`.',
    '',
    'Each action states its **guarantee**: what happens to its side effect when Temporal runs the step again (a retry',
    'after a failure, a timeout or a worker that died; activities run at least once). **Exactly once**: a retry cannot',
    'repeat it. **At least once, with dedupe**: a retry looks for what an earlier attempt of the same run and step did and',
    'returns that instead, within the limits stated. **At least once**: a retry may repeat it. See',
    '[reliability.md](reliability.md#side-effects).',
    '',
    ...described.map((action) => `- [\`${action.id}\`](#${anchor(action.id)})`),
    '',
  ];
  for (const action of described) {
    lines.push(`## \`${action.id}\``, '', action.description, '');
    if (action.kind === 'meta') lines.push('*Meta-action: evaluated in the workflow, no activity.*', '');
    lines.push(`**Guarantee:** ${GUARANTEE_NAMES[action.guarantee.level]}. ${action.guarantee.explanation}`, '');
    lines.push('**Input**', '', ...fieldTable(action.input, action.guardedInputs), '');
    lines.push('**Output**', '', ...fieldTable(action.output, []), '');
    if (action.env.length > 0)
      lines.push(`**Worker environment:** ${action.env.map((name) => `\`${name}\``).join(', ')}`, '');
    if (action.kind === 'activity') lines.push(`**Execution:** ${executionText(action.defaults)}`, '');
    if (action.defaults) lines.push(`**Step defaults:** \`${JSON.stringify(action.defaults)}\``, '');
    lines.push('**Examples**', '');
    for (const example of action.examples) {
      lines.push(
        `${example.title}:`,
        '',
        '```yaml',
        stringify([{ id: 'step', action: action.id, with: example.with }], { lineWidth: 0 }).trimEnd(),
        '```',
        '',
      );
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Where an action's steps run unless a step says otherwise: its defaults' `execution`, else remote. */
export function executionOf(defaults: unknown): 'local' | 'remote' {
  return (defaults as { execution?: unknown } | undefined)?.execution === 'local' ? 'local' : 'remote';
}

/** How docs/actions.md says where an action's steps run. */
function executionText(defaults: unknown): string {
  const see = 'See [engine.md](engine.md#local-steps).';
  if (executionOf(defaults) === 'local')
    return `local: a local activity on the worker that runs the workflow, inside its workflow task (a step may set \`execution: remote\`; a routed step is always remote). ${see}`;
  return (defaults as { heartbeat?: unknown } | undefined)?.heartbeat === undefined
    ? `remote: an activity task through the task queue (a step may set \`execution: local\`). ${see}`
    : `remote: an activity task through the task queue; it heartbeats, so it cannot run local. ${see}`;
}

/** How docs/actions.md names each guarantee level. */
const GUARANTEE_NAMES: Readonly<Record<ActionGuarantee['level'], string>> = {
  'exactly-once': 'exactly once',
  'at-least-once-with-dedupe': 'at least once, with dedupe',
  'at-least-once': 'at least once',
};

/** How deep the tables follow nested objects and list items. */
const MAX_FIELD_DEPTH = 3;

function fieldTable(schema: JsonSchema, guarded: readonly GuardedInput[]): string[] {
  if (Object.keys(schema.properties ?? {}).length === 0) {
    return [schema.additionalProperties ? 'Any keys; each value may be any JSON value or expression.' : 'None.'];
  }
  return [
    '| Field | Type | Required | Default | Notes |',
    '|---|---|---|---|---|',
    ...fieldRows(schema, '', 0, guarded),
  ];
}

/** One row per field; an object's fields and a list's item fields follow their parent as `parent.field`. */
function fieldRows(schema: JsonSchema, prefix: string, depth: number, guarded: readonly GuardedInput[]): string[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, field]) => {
    const guard = depth === 0 ? guarded.find((input) => input.input === name) : undefined;
    const notes = [guard ? guardNote(guard) : '', (field.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')]
      .filter(Boolean)
      .join(' ');
    const defaultValue = field.default === undefined ? '' : `\`${JSON.stringify(field.default)}\``;
    const row = `| \`${prefix}${name}\` | ${typeName(field)} | ${required.has(name) && field.default === undefined ? 'yes' : ''} | ${defaultValue} | ${notes} |`;
    if (depth + 1 >= MAX_FIELD_DEPTH) return [row];
    const nested =
      field.type === 'array' && field.items?.properties
        ? fieldRows(field.items, `${prefix}${name}[].`, depth + 1, [])
        : field.properties
          ? fieldRows(field, `${prefix}${name}.`, depth + 1, [])
          : [];
    return [row, ...nested];
  });
}

function guardNote(input: GuardedInput): string {
  const when = input.onlyWith ? ` when \`${input.onlyWith}\` is set` : '';
  return `**Guarded**${when}: ${input.decides}; event data refused unless \`allow_event_data: [${input.input}]\`.`;
}

function typeName(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  if (schema.anyOf) return schema.anyOf.map(typeName).join(' \\| ');
  if (schema.type === 'array') return `${schema.items ? typeName(schema.items) : 'any'}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  if (schema.type === 'object') return 'object';
  return schema.type ?? 'any';
}

function anchor(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9_ -]/g, '');
}
