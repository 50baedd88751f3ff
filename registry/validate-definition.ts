import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import type { z } from 'zod';
import type { AnyAction } from '../activities';
import { definitionSchema, MAX_STEPS, type Definition } from '../common/definition';
import {
  createExpressionEngine,
  findTemplateExpressions,
  findUnclosedTemplates,
  isStatic,
} from '../common/expressions';
import { MAX_WHERE_FIELDS, WHERE_PATH } from '../common/event-waits';
import { isMetaAction } from '../common/meta-actions';
import { GROUP_NAME } from '../common/train-types';
import { findEventDataInGuardedInputs } from './event-data-flow';

/** One validation error with the path of the offending field, such as `steps[2].with.url`. */
export interface DefinitionError {
  readonly path: string;
  readonly message: string;
}

/** The outcome of validating a definition. */
export type ValidationResult =
  { readonly ok: true; readonly definition: Definition } | { readonly ok: false; readonly errors: DefinitionError[] };

/** Keys whose static values look like credentials; definitions must name an environment variable instead. */
const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|authorization|credential)s?$/i;

/**
 * Validates a definition before it is stored: the schema, unknown actions, each `with` against its action's input
 * schema wherever the values are static, expressions that fail to parse or type-check, references to steps that
 * are missing or come later, duplicate step ids, credentials written into the definition, and event data reaching an
 * input that chooses what runs or where credentials and files go (`event-data-flow.ts`). Reports every error.
 */
export function validateDefinition(raw: unknown, catalog: ReadonlyMap<string, AnyAction>): ValidationResult {
  if (depthExceeds(raw, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      errors: [{ path: '(root)', message: `nests objects and lists deeper than ${MAX_JSON_DEPTH} levels` }],
    };
  }
  const errors: DefinitionError[] = [];
  const parsed = definitionSchema.safeParse(raw);
  if (!parsed.success) errors.push(...zodErrors(parsed.error, ''));
  const record = isObject(raw) ? raw : {};
  // Far too many steps: say so and stop, rather than check thousands of steps nobody will run.
  if (Array.isArray(record['steps']) && record['steps'].length > MAX_STEPS) return { ok: false, errors };
  errors.push(...protoKeys(raw));
  const engine = createExpressionEngine();

  const bindings = Array.isArray(record['on']) ? (record['on'] as unknown[]) : [];
  bindings.forEach((binding, index) => {
    if (!isObject(binding) || typeof binding['if'] !== 'string') return;
    const check = engine.check(binding['if']);
    if (check.error) errors.push({ path: `on[${index}].if`, message: check.error });
    if (check.steps.length > 0)
      errors.push({
        path: `on[${index}].if`,
        message: 'a binding condition runs before any step, so it cannot read steps',
      });
  });

  const concurrency = isObject(record['concurrency']) ? record['concurrency'] : {};
  if (typeof concurrency['group'] === 'string') errors.push(...checkGroupTemplate(engine, concurrency['group']));

  const steps = Array.isArray(record['steps']) ? (record['steps'] as unknown[]) : [];
  const onFailure = Array.isArray(record['on_failure']) ? (record['on_failure'] as unknown[]) : [];
  // The on_failure steps come after the steps: they may read any step (one that never ran reads as missing) and
  // earlier on_failure steps, and only they may read `failure`.
  const all = [...steps, ...onFailure];
  const label = (order: number): string =>
    order < steps.length ? `steps[${order}]` : `on_failure[${order - steps.length}]`;
  const positions = new Map<string, number>();
  all.forEach((step, index) => {
    if (isObject(step) && typeof step['id'] === 'string' && !positions.has(step['id']))
      positions.set(step['id'], index);
  });
  const seen = new Map<string, number>();
  all.forEach((step, index) => {
    if (!isObject(step)) return;
    const at = label(index);
    const inOnFailure = index >= steps.length;
    const id = typeof step['id'] === 'string' ? step['id'] : undefined;
    if (id !== undefined) {
      const first = seen.get(id);
      if (first !== undefined)
        errors.push({ path: `${at}.id`, message: `duplicate step id "${id}" (first used by ${label(first)})` });
      else seen.set(id, index);
    }
    const checkReferences = (path: string, expression: string): void => {
      const check = engine.check(expression);
      if (check.error) errors.push({ path, message: check.error });
      if (!inOnFailure && check.reads.some((read) => read.root === 'failure'))
        errors.push({ path, message: 'reads failure, which only on_failure steps see' });
      for (const referenced of check.steps) {
        const position = positions.get(referenced) ?? -1;
        if (position === -1) errors.push({ path, message: `refers to steps.${referenced}, but no step has that id` });
        else if (position >= index) {
          errors.push({
            path,
            message: `refers to steps.${referenced}, which runs ${position === index ? 'in this very step' : 'later'} (${label(position)}); a step can only read earlier steps`,
          });
        }
      }
    };
    if (typeof step['if'] === 'string') checkReferences(`${at}.if`, step['if']);
    const withValue = isObject(step['with']) ? step['with'] : {};
    for (const found of findTemplateExpressions(withValue, `${at}.with`)) checkReferences(found.path, found.expression);
    for (const path of findUnclosedTemplates(withValue, `${at}.with`))
      errors.push({ path, message: 'opens "${{" without a closing "}}"' });

    const actionId = typeof step['action'] === 'string' ? step['action'] : undefined;
    if (actionId === undefined) return;
    const action = catalog.get(actionId);
    if (!action) {
      errors.push({
        path: `${at}.action`,
        message: `unknown action "${actionId}"${suggest(actionId, catalog)}; GET /api/actions lists them`,
      });
      return;
    }
    if (action.id === WAIT_FOR_EVENT) errors.push(...checkWait(engine, withValue, `${at}.with`));
    // A meta-action runs inside the workflow, so no worker ever takes it: routing options would be a silent no-op.
    for (const field of ['task_queue', 'schedule_to_start', 'execution'] as const)
      if (step[field] !== undefined && isMetaAction(action.id))
        errors.push({
          path: `${at}.${field}`,
          message: `${action.id} runs in the workflow, not on a worker; remove ${field}`,
        });
    // A local activity cannot heartbeat: an action that records progress in heartbeats must stay remote.
    const defaultHeartbeat = action.defaults?.heartbeat;
    if (
      step['execution'] === 'local' &&
      (step['heartbeat'] !== undefined || defaultHeartbeat !== undefined) &&
      !isMetaAction(action.id)
    )
      errors.push({
        path: `${at}.execution`,
        message:
          step['heartbeat'] === undefined
            ? `${action.id} heartbeats (its default heartbeat is ${defaultHeartbeat}) and a local step cannot; remove execution: local`
            : `a local step cannot heartbeat; remove heartbeat or execution: local`,
      });
    // A local activity runs on the worker that runs the workflow, so it cannot be sent to another queue.
    if (step['execution'] === 'local' && !isMetaAction(action.id))
      for (const field of ['task_queue', 'schedule_to_start'] as const)
        if (step[field] !== undefined)
          errors.push({
            path: `${at}.execution`,
            message: `a local step runs on the workflow's own worker, so it cannot also set ${field}; remove one of them`,
          });
    if (inOnFailure && (action.id === WAIT_FOR_EVENT || action.id === APPROVAL))
      errors.push({
        path: `${at}.action`,
        message: `${action.id} cannot run in on_failure: cleanup must not wait for people or events`,
      });
    errors.push(...validateStaticInput(action.input, withValue, `${at}.with`));
    errors.push(...findSecrets(withValue, `${at}.with`));
  });
  // Event data followed through the steps and then the on_failure steps, reported at their own paths.
  errors.push(
    ...findEventDataInGuardedInputs(all, catalog, engine).map((error) => ({
      ...error,
      path: error.path.replace(/^steps\[(\d+)\]/, (_match, index: string) => label(Number(index))),
    })),
  );

  if (errors.length > 0 || !parsed.success) return { ok: false, errors: dedupe(errors) };
  return { ok: true, definition: parsed.data };
}

/**
 * A concurrency group is rendered when the event is dispatched, before any step: its template may read `event` and
 * `run` only. A static group must already be a usable name.
 */
function checkGroupTemplate(engine: ReturnType<typeof createExpressionEngine>, group: string): DefinitionError[] {
  const path = 'concurrency.group';
  const errors: DefinitionError[] = [];
  for (const unclosed of findUnclosedTemplates(group, path))
    errors.push({ path: unclosed, message: 'opens "${{" without a closing "}}"' });
  const expressions = findTemplateExpressions(group, path);
  for (const found of expressions) {
    const check = engine.check(found.expression);
    if (check.error) errors.push({ path, message: check.error });
    const early = check.reads.find((read) => read.root === 'steps' || read.root === 'vars');
    if (early)
      errors.push({
        path,
        message: `the group is chosen when the event is dispatched, before any step, so it cannot read ${early.root}; use event and run`,
      });
  }
  if (expressions.length === 0 && !GROUP_NAME.test(group))
    errors.push({
      path,
      message: 'must be 1-100 letters, digits, ".", "_", ":", "/" or "-" (or a ${{ }} template that renders to that)',
    });
  return errors;
}

/** The meta-action whose `if` is evaluated against a later event, not rendered. */
const WAIT_FOR_EVENT = 'flow.wait_for_event';
/** The meta-action that waits for people. */
const APPROVAL = 'flow.approval';

/**
 * A wait's `where` names fields of the incoming event, whatever its values (which may be templates over this run);
 * its `if` is CEL over the incoming event alone, evaluated when an event arrives, so it is not a template and reads
 * only `event`.
 */
function checkWait(
  engine: ReturnType<typeof createExpressionEngine>,
  withValue: Record<string, unknown>,
  at: string,
): DefinitionError[] {
  const errors: DefinitionError[] = [];
  const where = withValue['where'];
  if (isObject(where)) {
    const paths = Object.keys(where);
    if (paths.length > MAX_WHERE_FIELDS)
      errors.push({ path: `${at}.where`, message: `compares ${paths.length} fields; at most ${MAX_WHERE_FIELDS}` });
    for (const path of paths)
      if (!WHERE_PATH.test(path))
        errors.push({
          path: formatPath(`${at}.where`, [path]),
          message: 'must be a field path of the incoming event, such as parameters.RELEASE_TICKET',
        });
  }
  const condition = withValue['if'];
  if (typeof condition !== 'string') return errors;
  const path = `${at}.if`;
  if (condition.includes('${{')) {
    return [
      ...errors,
      {
        path,
        message:
          'is CEL over the incoming event, evaluated when it arrives, not a template: write it plain, such as ' +
          'event.status == "SUCCESS", and compare this run\'s values in where',
      },
    ];
  }
  const check = engine.check(condition);
  if (check.error) errors.push({ path, message: check.error });
  const other = check.reads.find((read) => read.root !== 'event');
  if (other)
    errors.push({
      path,
      message: `sees only the incoming event (event), not ${other.root}; compare this run's values in where`,
    });
  return errors;
}

/**
 * Validates the static part of `with`: values holding `${{ }}` are only known at run time, so issues at (or inside)
 * those fields are dropped and the rest must satisfy the action's input schema.
 */
function validateStaticInput(schema: z.ZodType, withValue: Record<string, unknown>, at: string): DefinitionError[] {
  const dynamicPaths = new Set<string>();
  const staticView = stripDynamic(withValue, [], dynamicPaths);
  const result = schema.safeParse(staticView);
  if (result.success) return [];
  return result.error.issues
    .filter((issue) => !touchesDynamic(issue.path.map(String), dynamicPaths))
    .map((issue) => ({ path: formatPath(at, issue.path), message: issue.message }));
}

function stripDynamic(value: unknown, path: string[], dynamic: Set<string>): unknown {
  if (!isStatic(value) && (typeof value === 'string' || !isObject(value))) {
    dynamic.add(path.join('\u0000'));
    return undefined;
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const stripped = stripDynamic(inner, [...path, key], dynamic);
      // defineProperty, not assignment: a "__proto__" key must stay a key the schema sees, not become the prototype.
      if (stripped !== undefined || isStatic(inner)) {
        Object.defineProperty(out, key, { value: stripped, enumerable: true, writable: true, configurable: true });
      }
    }
    return out;
  }
  return value;
}

function touchesDynamic(issuePath: string[], dynamic: Set<string>): boolean {
  for (let length = issuePath.length; length >= 1; length--) {
    if (dynamic.has(issuePath.slice(0, length).join('\u0000'))) return true;
  }
  return false;
}

function findSecrets(value: unknown, at: string): DefinitionError[] {
  const errors: DefinitionError[] = [];
  const walk = (inner: unknown, path: string, key: string | undefined): void => {
    if (typeof inner === 'string' && key !== undefined && SECRET_KEY.test(key) && isStatic(inner) && inner.length > 0) {
      errors.push({
        path,
        message: `looks like a credential written into the definition; definitions are readable by everyone. Keep it in the worker's environment (http.request: secret_headers)`,
      });
    } else if (isObject(inner)) {
      for (const [childKey, child] of Object.entries(inner)) {
        // `secret_headers` maps header names to the names of worker variables, never to values.
        if (childKey !== 'secret_headers') walk(child, `${path}.${childKey}`, childKey);
      }
    }
  };
  walk(value, at, undefined);
  return errors;
}

/** `__proto__` keys anywhere: the schemas would silently drop them, so a value the author wrote would vanish. */
function protoKeys(value: unknown): DefinitionError[] {
  const errors: DefinitionError[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (Array.isArray(current)) current.forEach((item, index) => stack.push([item, `${path}[${index}]`]));
    else if (isObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        const at = path ? `${path}.${key}` : key;
        if (key === '__proto__') errors.push({ path: at, message: 'the key "__proto__" is not allowed; rename it' });
        else stack.push([item, at]);
      }
    }
  }
  return errors.reverse();
}

function zodErrors(error: z.ZodError, prefix: string): DefinitionError[] {
  return error.issues.map((issue) => ({ path: formatPath(prefix, issue.path) || '(root)', message: issue.message }));
}

/** `['steps', 2, 'with', 'url']` → `steps[2].with.url`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${out ? '.' : ''}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function suggest(id: string, catalog: ReadonlyMap<string, AnyAction>): string {
  const domain = id.split('.')[0];
  const near = [...catalog.keys()].filter((known) => known.split('.')[0] === domain);
  return near.length > 0 ? ` (did you mean ${near.map((known) => `"${known}"`).join(' or ')}?)` : '';
}

function dedupe(errors: DefinitionError[]): DefinitionError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = `${error.path}\u0000${error.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
