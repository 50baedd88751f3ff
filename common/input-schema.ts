/**
 * Checks a value against a JSON Schema, for the inputs of meta-actions inside the workflow sandbox. The schemas are
 * generated from the actions' zod schemas (`z.toJSONSchema`), so the check never restates what an input may hold;
 * zod itself stays out of the sandbox, where each cached run would carry its own copy (about 600 KB).
 *
 * Only the keywords those generated schemas use are understood. {@link inputSchema} refuses any other keyword, so a
 * zod schema that grows one fails loudly (in the tests) instead of being checked loosely.
 */

/** The part of JSON Schema this check understands. */
export interface InputSchema {
  readonly type?: (typeof TYPES)[number];
  readonly properties?: Readonly<Record<string, InputSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | InputSchema;
  readonly propertyNames?: InputSchema;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly items?: InputSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: unknown;
}

/** The types this check understands. */
const TYPES = ['object', 'string', 'array', 'integer', 'boolean'] as const;

/** One reason a value does not fit its schema, with the path to the part that does not. */
export interface InputIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** A schema used a keyword or type this check does not understand. */
export class UnsupportedSchemaError extends Error {
  constructor(
    readonly where: string,
    readonly keyword: string,
  ) {
    super(`${where} uses "${keyword}", which common/input-schema.ts does not check; teach it, or change the schema`);
    this.name = 'UnsupportedSchemaError';
  }
}

const KEYWORDS: ReadonlySet<string> = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'default',
]);
/** Annotations that say nothing about which values fit. */
const IGNORED: ReadonlySet<string> = new Set(['$schema', 'description', 'title', 'examples']);

/** Reads `schema` as an {@link InputSchema}; throws {@link UnsupportedSchemaError} on anything it would not check. */
export function inputSchema(schema: unknown, where = 'schema'): InputSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new UnsupportedSchemaError(where, typeof schema);
  const fields = schema as Record<string, unknown>;
  for (const [keyword, value] of Object.entries(fields)) {
    if (IGNORED.has(keyword)) continue;
    if (!KEYWORDS.has(keyword)) throw new UnsupportedSchemaError(where, keyword);
    if (keyword === 'type' && !(TYPES as readonly unknown[]).includes(value)) {
      throw new UnsupportedSchemaError(where, `type: ${JSON.stringify(value)}`);
    }
  }
  for (const [name, property] of Object.entries((fields['properties'] ?? {}) as Record<string, unknown>)) {
    inputSchema(property, `${where}.properties.${name}`);
  }
  if (typeof fields['additionalProperties'] === 'object') {
    inputSchema(fields['additionalProperties'], `${where}.additionalProperties`);
  }
  if (fields['propertyNames'] !== undefined) inputSchema(fields['propertyNames'], `${where}.propertyNames`);
  if (fields['items'] !== undefined) inputSchema(fields['items'], `${where}.items`);
  return schema;
}

/**
 * Checks `value` against `schema`. Returns the value with the schema's defaults filled in, as zod's parse would, and
 * every issue found; the value is meaningful only when there are none.
 */
export function checkInput(schema: InputSchema, value: unknown): { value: unknown; issues: InputIssue[] } {
  const issues: InputIssue[] = [];
  return { value: check(schema, value, [], issues), issues };
}

function check(schema: InputSchema, value: unknown, path: readonly string[], issues: InputIssue[]): unknown {
  const fail = (message: string): unknown => {
    issues.push({ path, message });
    return value;
  };
  if (schema.enum && !schema.enum.includes(value)) {
    return fail(`must be one of ${schema.enum.map((item) => JSON.stringify(item)).join(', ')}`);
  }
  if (schema.type === 'string') {
    if (typeof value !== 'string') return fail(`must be a string, not ${kindOf(value)}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return fail(`must be at least ${schema.minLength} characters long`);
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return fail(`must be at most ${schema.maxLength} characters long`);
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      return fail(`must match /${schema.pattern}/ (got ${JSON.stringify(value.slice(0, 64))})`);
    }
    return value;
  }
  if (schema.type === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return fail(`must be a whole number, not ${kindOf(value)}`);
    if (schema.minimum !== undefined && value < schema.minimum) return fail(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) return fail(`must be at most ${schema.maximum}`);
    return value;
  }
  if (schema.type === 'boolean')
    return typeof value === 'boolean' ? value : fail(`must be true or false, not ${kindOf(value)}`);
  if (schema.type === 'array') {
    if (!Array.isArray(value)) return fail(`must be a list, not ${kindOf(value)}`);
    if (schema.minItems !== undefined && value.length < schema.minItems)
      return fail(`must have at least ${schema.minItems} item(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      return fail(`must have at most ${schema.maxItems} items`);
    const items = schema.items;
    return items ? value.map((item: unknown, index) => check(items, item, [...path, String(index)], issues)) : value;
  }
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return fail(`must be an object, not ${kindOf(value)}`);
    }
    return checkObject(schema, value as Record<string, unknown>, path, issues);
  }
  return value;
}

function checkObject(
  schema: InputSchema,
  value: Readonly<Record<string, unknown>>,
  path: readonly string[],
  issues: InputIssue[],
): Record<string, unknown> {
  const properties = schema.properties ?? {};
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    const where = [...path, key];
    if (schema.propertyNames) {
      const nameIssues: InputIssue[] = [];
      check(schema.propertyNames, key, where, nameIssues);
      for (const issue of nameIssues) issues.push({ path: where, message: `is not an allowed name: ${issue.message}` });
    }
    const declared = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (declared) entries.push([key, check(declared, item, where, issues)]);
    else if (schema.additionalProperties === false)
      issues.push({ path: where, message: 'is not an input of this action' });
    else if (typeof schema.additionalProperties === 'object') {
      entries.push([key, check(schema.additionalProperties, item, where, issues)]);
    } else entries.push([key, item]);
  }
  for (const [key, property] of Object.entries(properties)) {
    if (Object.hasOwn(value, key)) continue;
    if (schema.required?.includes(key)) issues.push({ path: [...path, key], message: 'is required' });
    else if (property.default !== undefined) entries.push([key, property.default]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(entries);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
