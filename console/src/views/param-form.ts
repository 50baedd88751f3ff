/**
 * A form for each step's fixed params, generated from its action's input JSON Schema (`GET /api/actions`): a text
 * field for a string, a number field for a number, a choice for an enum or a boolean, and one line per item for a
 * list of strings. Values holding `${{ }}` expressions, objects and anything else the form cannot edit are shown as
 * they are, to change in the YAML editor. The form knows which values changed, and shows the API's errors next to
 * the field they are about.
 */
import type { ActionDescription, JsonSchema, Step } from '../api-types';
import { h, uniqueId, type Child } from '../dom';
import type { ValueEdit } from '../editor/editor-api';
import { lockedForReader } from './edit-controls';
import { code } from './tables';
import { holdsExpression, paramsOf, valueText } from './values';

/** Which list a step is in. */
export type StepList = 'steps' | 'on_failure';

/** The form of one step, and what it needs to save and to show errors. */
export interface StepForm {
  readonly element: HTMLElement;
  /** The values changed in the form, as edits of the definition (`[list, index, 'with', key]`). */
  edits(): ValueEdit[];
  /** Shows `message` next to the field of `key`; false when the form has no field for it. */
  showError(key: string, message: string): boolean;
  clearErrors(): void;
}

interface Field {
  readonly element: HTMLElement;
  /** The value now: undefined when left empty (not set). */
  read(): unknown;
  readonly error: HTMLElement;
  readonly control: HTMLElement;
}

/** The fieldset of step `index` of `list`, named by the step's name. */
export function stepForm(list: StepList, index: number, step: Step, action: ActionDescription | undefined): StepForm {
  const properties = Object.entries(action?.input.properties ?? {});
  const required = new Set(action?.input.required ?? []);
  const fields = new Map<string, Field>();
  const original = step.with;
  const rows: Child[] = [];
  for (const [key, schema] of properties) {
    const value = original[key];
    const kind = fieldKind(schema);
    if (value !== undefined && holdsExpression(value)) {
      rows.push(shownAsIs(key, value, 'expression'));
      continue;
    }
    if (kind === undefined) {
      if (value !== undefined) rows.push(shownAsIs(key, value, 'other'));
      continue;
    }
    const field = editableField(`${list}-${index}-${key}`, key, schema, kind, value, required.has(key));
    fields.set(key, field);
    rows.push(field.element);
  }
  // Values the schema does not describe (a free-form action such as flow.set): shown, changed in YAML.
  const described = new Set(properties.map(([key]) => key));
  for (const param of paramsOf(original).filter((param) => !described.has(param.path.split('.')[0] ?? ''))) {
    rows.push(shownAsIs(param.path, param.value, param.kind === 'expression' ? 'expression' : 'other'));
  }
  const legend = step.name ?? step.id;
  const element = h(
    'fieldset',
    { class: 'step-form' },
    h('legend', null, legend),
    h('p', { class: 'step-meta' }, 'Step ', code(step.id), ' runs ', code(step.action)),
    action ? null : h('p', { class: 'warning' }, `This gateway's catalog has no action ${step.action}.`),
    rows.length === 0 ? h('p', { class: 'none' }, 'No inputs.') : rows,
  );
  return {
    element,
    edits() {
      const edits: ValueEdit[] = [];
      for (const [key, field] of fields) {
        const now = field.read();
        if (JSON.stringify(now) !== JSON.stringify(original[key]))
          edits.push({ path: [list, index, 'with', key], value: now });
      }
      return edits;
    },
    showError(key, message) {
      const field = fields.get(key);
      if (!field) return false;
      field.error.textContent = field.error.textContent ? `${field.error.textContent} ${message}` : message;
      field.control.setAttribute('aria-invalid', 'true');
      return true;
    },
    clearErrors() {
      for (const field of fields.values()) {
        field.error.textContent = '';
        field.control.removeAttribute('aria-invalid');
      }
    },
  };
}

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list' | 'number-or-string';

/** The kind of field for a schema; undefined when the form does not edit it (objects, lists of objects, any). */
function fieldKind(schema: JsonSchema): Kind | undefined {
  if (schema.enum && schema.enum.every((option) => typeof option === 'string')) return 'enum';
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    const types = new Set(variants.map((variant) => variant.type));
    if (types.has('string') && (types.has('integer') || types.has('number')) && types.size === 2)
      return 'number-or-string';
    return undefined;
  }
  switch (schema.type) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return schema.type;
    case 'array':
      return schema.items?.type === 'string' && !schema.items.enum ? 'string-list' : undefined;
    default:
      return undefined;
  }
}

function editableField(
  idBase: string,
  key: string,
  schema: JsonSchema,
  kind: Kind,
  value: unknown,
  required: boolean,
): Field {
  const id = uniqueId(idBase.replace(/[^A-Za-z0-9_-]/g, '_'));
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const error = h('p', { class: 'field-error', id: errorId });
  const describedBy = `${hintId} ${errorId}`;
  const common = {
    id,
    'aria-describedby': describedBy,
    ...(required ? { 'aria-required': 'true' } : {}),
    ...lockedForReader(),
  };
  let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  let read: () => unknown;
  if (kind === 'enum' || kind === 'boolean') {
    const options = kind === 'enum' ? (schema.enum as readonly string[]) : ['true', 'false'];
    const current = value === undefined ? '' : valueText(value);
    const select = h(
      'select',
      common,
      required && value !== undefined ? null : h('option', { value: '', selected: current === '' }, notSetText(schema)),
      options.map((option) => h('option', { value: option, selected: option === current }, option)),
    );
    control = select;
    read = () => (select.value === '' ? undefined : kind === 'boolean' ? select.value === 'true' : select.value);
  } else if (kind === 'string-list') {
    const list = Array.isArray(value) ? value.map(String) : [];
    const area = h('textarea', { ...common, rows: Math.max(2, list.length + 1), spellcheck: 'false' }, list.join('\n'));
    control = area;
    read = () => {
      const items = area.value
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      return items.length === 0 ? undefined : items;
    };
  } else {
    const text = value === undefined ? '' : valueText(value);
    const numeric = kind === 'number' || kind === 'integer';
    const input: HTMLInputElement | HTMLTextAreaElement = text.includes('\n')
      ? h('textarea', { ...common, rows: Math.min(12, text.split('\n').length + 1) }, text)
      : h('input', {
          ...common,
          type: numeric ? 'number' : 'text',
          step: kind === 'integer' ? 1 : numeric ? 'any' : undefined,
          value: text,
          spellcheck: 'false',
          autocomplete: 'off',
        });
    control = input;
    read = () => {
      const raw = input.value;
      if (raw.trim() === '') return undefined;
      if (numeric) return Number(raw);
      // An input that takes a number or a string (a Jira transition id or name) keeps a number a number.
      if (kind === 'number-or-string' && typeof value === 'number' && /^-?\d+(?:\.\d+)?$/.test(raw.trim()))
        return Number(raw);
      return raw;
    };
  }
  const hint = [
    required ? 'Required.' : 'Optional; leave it empty for none.',
    kind === 'string-list' ? ' One per line.' : '',
    schema.description ? ` ${schema.description}` : '',
    schema.default !== undefined ? ` Default: ${valueText(schema.default)}.` : '',
  ].join('');
  return {
    element: h(
      'div',
      { class: 'field' },
      h('label', { for: id }, key),
      control,
      h('p', { class: 'hint', id: hintId }, hint),
      error,
    ),
    read,
    error,
    control,
  };
}

function notSetText(schema: JsonSchema): string {
  return schema.default === undefined ? '(not set)' : `(not set: ${valueText(schema.default)})`;
}

/** A value the form does not change: an expression, or a value of a kind the form has no field for. */
function shownAsIs(key: string, value: unknown, why: 'expression' | 'other'): HTMLElement {
  return h(
    'div',
    { class: 'field field-as-is' },
    h('span', { class: 'field-label' }, key),
    h(
      'span',
      null,
      why === 'expression'
        ? [code(valueText(value), 'expression'), ' ', h('span', { class: 'tag' }, 'expression')]
        : code(valueText(value)),
    ),
    h(
      'p',
      { class: 'hint' },
      why === 'expression'
        ? 'Computed when the step runs; change it in the YAML editor.'
        : 'Change it in the YAML editor.',
    ),
  );
}
