import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { z } from 'zod';
import type { AnyAction } from '../activities/define-action';
import type { ActionDescription } from '../activities/describe-actions';
import type { StepOptions } from '../common/definition';

/**
 * The validator of published input schemas. Zod's `toJSONSchema` writes draft 2020-12; formats Ajv does not know are
 * ignored (as Ajv without ajv-formats does), except `uri`, which zod's `z.url()` declares and checks with `new URL`.
 */
const ajv = new Ajv2020({
  allErrors: true,
  strict: false,
  logger: false,
  addUsedSchema: false,
  formats: { uri: (value: string) => URL.canParse(value) },
});

/** Compiled validators by schema text: a catalog read again after every publication compiles each schema once. */
const compiled = new Map<string, ValidateFunction>();

/** A published input schema that Ajv cannot compile; the message says what is wrong with it. */
export class InvalidJsonSchemaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidJsonSchemaError';
  }
}

/** Compiles a JSON Schema (draft 2020-12), or throws {@link InvalidJsonSchemaError} saying why it cannot be used. */
export function compileJsonSchema(schema: unknown): ValidateFunction {
  const text = JSON.stringify(schema);
  const known = compiled.get(text);
  if (known) return known;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new InvalidJsonSchemaError(`is not a JSON Schema object: ${text.slice(0, 80)}`);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new InvalidJsonSchemaError(`is not a usable JSON Schema: ${error instanceof Error ? error.message : ''}`, {
      cause: error,
    });
  }
  compiled.set(text, validate);
  return validate;
}

/**
 * A zod schema that validates with Ajv against a JSON Schema: what a pack action's published `input` becomes in a
 * catalog that does not hold the pack's code. Each Ajv error becomes a zod issue at the path the zod-declared schemas
 * report (`['list', 0, 'name']`), so definition validation treats both alike: it drops issues at or inside `${{ }}`
 * values and formats the paths as `steps[0].with.list[0].name`. A schema Ajv cannot compile fails every input, saying
 * so.
 */
export function jsonSchemaInput(schema: unknown, what: string): z.ZodType {
  let validate: ValidateFunction;
  try {
    validate = compileJsonSchema(schema);
  } catch (error) {
    const message = `the published input schema of ${what} ${error instanceof Error ? error.message : String(error)}; publish the pack again from a worker`;
    return z.unknown().superRefine((_value, context) => context.addIssue({ code: 'custom', message }));
  }
  return z.unknown().superRefine((value, context) => {
    if (validate(value)) return;
    for (const error of validate.errors ?? [])
      context.addIssue({ code: 'custom', path: issuePath(error, value), message: issueMessage(error) });
  });
}

/**
 * The path of an Ajv error as zod reports paths: keys as strings, list indexes as numbers (read from the value, since
 * a JSON Pointer writes both alike), and a missing required property at its own key, as zod reports a missing field.
 */
function issuePath(error: ErrorObject, value: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let current = value;
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/');
  for (const raw of segments) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(current) && /^\d+$/.test(segment) ? Number(segment) : segment;
    path.push(key);
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  }
  const missing = (error.params as { missingProperty?: unknown }).missingProperty;
  if ((error.keyword === 'required' || error.keyword === 'dependentRequired') && typeof missing === 'string')
    path.push(missing);
  return path;
}

/** Ajv's message, with the key named where Ajv leaves it in `params`. */
function issueMessage(error: ErrorObject): string {
  const params = error.params as { additionalProperty?: unknown; unevaluatedProperty?: unknown };
  const extra = params.additionalProperty ?? params.unevaluatedProperty;
  if (typeof extra === 'string') return `Unrecognized key: ${JSON.stringify(extra)}`;
  if (error.keyword === 'required') return 'is required';
  return error.message ?? `fails ${error.keyword}`;
}

/**
 * An action known only by its description (what a worker published, or what `GET /api/actions` lists): its
 * declaration without `run`, its input checked by Ajv against the JSON Schema, as the gateway's registry catalog and
 * `flowctl validate` both hold it.
 */
export function actionFromDescription(
  described: ActionDescription & { readonly pack?: string; readonly packVersion?: string },
): AnyAction {
  const what =
    described.pack === undefined
      ? `"${described.id}"`
      : `"${described.id}" (pack "${described.pack}" ${described.packVersion ?? ''})`;
  return {
    id: described.id,
    description: described.description,
    kind: described.kind === 'meta' ? 'meta' : 'activity',
    input: jsonSchemaInput(described.input, what),
    output: z.unknown(),
    examples: described.examples ?? [],
    env: described.env ?? [],
    guardedInputs: described.guardedInputs ?? [],
    ...(described.defaults === undefined ? {} : { defaults: described.defaults as StepOptions }),
  };
}
