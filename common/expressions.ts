import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { depthExceeds, MAX_JSON_DEPTH } from './json-depth';

/**
 * Flow's expression language: CEL, through `@marcbachmann/cel-js`. CEL is not Turing complete, has no I/O and no
 * access to JavaScript prototypes, and is deterministic, so the same engine runs at save time (validation), in the
 * gateway (plans) and inside the workflow sandbox (conditions and `${{ }}` templates).
 *
 * On top of CEL, Flow rejects `matches()` (a backtracking regular expression could run for hours) and limits the
 * size and nesting of expressions, so every evaluation finishes quickly whatever the event holds.
 */

/**
 * The variables an expression can read. A context is immutable once used: an engine converts it for CEL once and
 * reuses that for every expression evaluated against the same object.
 */
export interface ExpressionContext {
  readonly event: unknown;
  readonly steps: Readonly<Record<string, { readonly output: unknown }>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly run: Readonly<Record<string, unknown>>;
  /** What failed, in a definition's on_failure steps only (`FailureContext`); null everywhere else. */
  readonly failure?: unknown;
}

/** The roots an expression may name. */
export const EXPRESSION_ROOTS = ['event', 'steps', 'vars', 'run', 'failure'] as const;

/** Longest accepted expression, in characters. */
export const MAX_EXPRESSION_LENGTH = 2_000;
const MAX_COMPREHENSION_NESTING = 2;
/** Most iterations a comprehension may make: the largest list or map in the context, to the power of the nesting. */
export const MAX_COMPREHENSION_ITERATIONS = 1_000_000;
/** Most iterations times the longest string in the context: bounds string work (and memory) inside comprehensions. */
export const MAX_COMPREHENSION_STRING_WORK = 200_000_000;
/** Largest rendered value (approximate JSON bytes): it becomes an activity input, and Temporal limits payloads. */
export const MAX_RENDERED_BYTES = 1_000_000;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const FORBIDDEN_FUNCTIONS: Readonly<Record<string, string>> = {
  matches:
    'matches() is not allowed: a regular expression can backtrack for hours. Use contains(), startsWith() or endsWith().',
};

/** An expression that cannot be parsed or evaluated; `message` says why in terms of the expression. */
export class ExpressionError extends Error {
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** What static analysis of one expression found. */
export interface ExpressionCheck {
  /** Why the expression is invalid, if it is. */
  readonly error?: string;
  /** Step ids the expression reads through `steps.<id>` or `steps["<id>"]`. */
  readonly steps: readonly string[];
  /** Every variable the expression reads, with the fixed part of the path below it; empty when it cannot parse. */
  readonly reads: readonly ExpressionRead[];
}

/**
 * One variable an expression reads: `event.issue.key` is `{ root: 'event', path: ['issue', 'key'] }`. The path stops
 * at the first index computed at run time, so `vars[event.name]` reads `vars` (any variable) and `event.name`.
 */
export interface ExpressionRead {
  readonly root: (typeof EXPRESSION_ROOTS)[number];
  readonly path: readonly (string | number)[];
}

/** One `${{ expr }}` found inside a value, with the path of the string that holds it. */
export interface TemplateExpression {
  readonly path: string;
  readonly expression: string;
}

/** Parses, checks and evaluates expressions; create one per workflow run or request (it caches parses). */
export interface ExpressionEngine {
  check(expression: string): ExpressionCheck;
  evaluate(expression: string, context: ExpressionContext): unknown;
  /** Evaluates a condition; anything but a boolean result is an error, so typos never read as `false`. */
  evaluateCondition(expression: string, context: ExpressionContext): boolean;
  /** Renders every `${{ }}` in a JSON value (deeply). A string that is exactly one expression keeps its type. */
  render(template: unknown, context: ExpressionContext): unknown;
}

const EXACT = /^\$\{\{([\s\S]*?)\}\}$/;
const EMBEDDED = /\$\{\{([\s\S]*?)\}\}/g;

/** How an engine treats results. */
export interface ExpressionEngineOptions {
  /**
   * Asked when a result holds NaN or an infinity: true (the default) makes it an error, false keeps the old
   * behaviour, where JSON turned it into `null`. The interpreter answers with a patch check, so that runs which
   * rendered such a value before the change replay as they ran.
   */
  readonly refuseNonFinite?: () => boolean;
}

/** Creates an expression engine. Holds no global state, so it is safe in the workflow sandbox. */
export function createExpressionEngine(options: ExpressionEngineOptions = {}): ExpressionEngine {
  const refuseNonFinite = options.refuseNonFinite ?? (() => true);
  const environment = new Environment({
    limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 200, maxMapEntries: 200, maxCallArguments: 16 },
  });
  for (const root of EXPRESSION_ROOTS) environment.registerVariable(root, 'dyn');
  type Parsed = ReturnType<Environment['parse']> & { readonly comprehensionDepth: number };
  const parsed = new Map<string, Parsed>();

  const parse = (expression: string): Parsed => {
    const cached = parsed.get(expression);
    if (cached) return cached;
    if (expression.length > MAX_EXPRESSION_LENGTH) {
      throw new ExpressionError(expression, `expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
    }
    if (expression.trim() === '') throw new ExpressionError(expression, 'expression is empty');
    let result: ReturnType<Environment['parse']>;
    try {
      result = environment.parse(expression);
    } catch (error) {
      throw new ExpressionError(expression, `cannot parse ${quote(expression)}: ${firstLine(error)}`);
    }
    const { problem, comprehensionDepth } = inspect(result.ast);
    if (problem) throw new ExpressionError(expression, problem);
    const program = Object.assign(result, { comprehensionDepth });
    parsed.set(expression, program);
    return program;
  };

  // A context is converted once, however many expressions read it (a step's `if` and every template in its `with`).
  const convertedContexts = new WeakMap<ExpressionContext, CelContext>();
  const evaluate = (expression: string, context: ExpressionContext): unknown => {
    const program = parse(expression);
    let result: unknown;
    try {
      let converted = convertedContexts.get(context);
      if (!converted) {
        converted = toCelContext(context);
        convertedContexts.set(context, converted);
      }
      if (program.comprehensionDepth > 0) checkComprehensionBudget(expression, program.comprehensionDepth, converted);
      result = program(converted.values);
    } catch (error) {
      if (error instanceof ExpressionError) throw error;
      throw new ExpressionError(expression, `${quote(expression)} failed: ${firstLine(error)}`);
    }
    // Measured before converting: a result that shares one list many times would otherwise be copied out in full.
    if (approximateJsonSize(result, MAX_RENDERED_BYTES) > MAX_RENDERED_BYTES) {
      throw new ExpressionError(
        expression,
        `${quote(expression)} gives a value larger than the limit of ${MAX_RENDERED_BYTES / 1_000_000} MB`,
      );
    }
    return fromCel(result, expression, refuseNonFinite);
  };

  return {
    check(expression) {
      try {
        const program = parse(expression);
        const typeCheck = program.check();
        const reads = readsOf(program.ast);
        if (!typeCheck.valid) {
          return {
            error: `${quote(expression)} is invalid: ${firstLine(typeCheck.error)}`,
            steps: inspect(program.ast).steps,
            reads,
          };
        }
        return { steps: inspect(program.ast).steps, reads };
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error), steps: [], reads: [] };
      }
    },
    evaluate,
    evaluateCondition(expression, context) {
      const value = evaluate(expression, context);
      if (typeof value !== 'boolean') {
        throw new ExpressionError(
          expression,
          `condition ${quote(expression)} must be true or false, but it gave ${describe(value)}`,
        );
      }
      return value;
    },
    render(template, context) {
      if (depthExceeds(template, MAX_JSON_DEPTH)) {
        throw new ExpressionError('', `the template nests objects and lists deeper than ${MAX_JSON_DEPTH} levels`);
      }
      const renderValue = (value: unknown): unknown => {
        if (typeof value === 'string') {
          const exact = EXACT.exec(value);
          if (exact?.[1] !== undefined && !exact[1].includes('${{')) return evaluate(exact[1].trim(), context);
          if (!value.includes('${{')) return value;
          return value.replace(EMBEDDED, (_match, expression: string) =>
            stringify(evaluate(expression.trim(), context)),
          );
        }
        if (Array.isArray(value)) return value.map(renderValue);
        if (isPlainObject(value)) {
          const out: Record<string, unknown> = {};
          for (const [key, inner] of Object.entries(value)) setOwn(out, key, renderValue(inner));
          return out;
        }
        return value;
      };
      const rendered = renderValue(template);
      const size = approximateJsonSize(rendered, MAX_RENDERED_BYTES);
      if (size > MAX_RENDERED_BYTES) {
        throw new ExpressionError(
          '',
          `the rendered value is larger than the limit of ${MAX_RENDERED_BYTES / 1_000_000} MB; pass less data between steps`,
        );
      }
      return rendered;
    },
  };
}

/** Refuses comprehensions whose iterations over this context's data would take too long or use too much memory. */
function checkComprehensionBudget(expression: string, depth: number, context: CelContext): void {
  const iterations = Math.max(1, context.largestCollection) ** depth;
  if (iterations > MAX_COMPREHENSION_ITERATIONS) {
    throw new ExpressionError(
      expression,
      `${quote(expression)} nests comprehensions ${depth} deep over a list or map of ${context.largestCollection} entries: ` +
        `up to ${iterations} iterations, above the limit of ${MAX_COMPREHENSION_ITERATIONS}`,
    );
  }
  if (iterations * Math.max(1, context.longestString) > MAX_COMPREHENSION_STRING_WORK) {
    throw new ExpressionError(
      expression,
      `${quote(expression)} iterates up to ${iterations} times over data with strings of up to ${context.longestString} ` +
        `characters, which exceeds the evaluation limit of ${MAX_COMPREHENSION_STRING_WORK} (iterations × longest string)`,
    );
  }
}

/** JSON size of `value`, approximately; stops counting once past `limit` (shared references count each time). */
function approximateJsonSize(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= limit) {
    const current = stack.pop();
    if (typeof current === 'string') size += current.length + 2;
    else if (current instanceof Map) {
      size += 2;
      for (const [key, item] of current) {
        size += String(key).length + 4;
        stack.push(item);
      }
    } else if (Array.isArray(current)) {
      size += 2 + current.length;
      for (const item of current) stack.push(item);
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, item] of Object.entries(current)) {
        size += key.length + 4;
        stack.push(item);
      }
      size += 2;
    } else size += 8;
  }
  return size;
}

/** Every `${{ }}` expression inside a JSON value, with paths such as `with.json.text`. */
export function findTemplateExpressions(value: unknown, path: string): TemplateExpression[] {
  const found: TemplateExpression[] = [];
  walkStrings(value, path, (text, at) => {
    for (const match of text.matchAll(EMBEDDED)) found.push({ path: at, expression: (match[1] ?? '').trim() });
  });
  return found;
}

/** Paths of strings that open `${{` more often than they close it: a typo that would otherwise be sent literally. */
export function findUnclosedTemplates(value: unknown, path: string): string[] {
  const found: string[] = [];
  walkStrings(value, path, (text, at) => {
    if (text.split('${{').length - 1 > [...text.matchAll(EMBEDDED)].length) found.push(at);
  });
  return found;
}

/**
 * Calls `visit` for every string inside a JSON value with its path (`a.b[2]["odd key"]`), in document order.
 * Iterative, so a hostile value nested thousands deep cannot overflow the stack.
 */
function walkStrings(value: unknown, path: string, visit: (text: string, at: string) => void): void {
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0) {
    const [current, at] = stack.pop()!;
    if (typeof current === 'string') visit(current, at);
    else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) stack.push([current[index], `${at}[${index}]`]);
    } else if (isPlainObject(current)) {
      const entries = Object.entries(current);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index]!;
        stack.push([item, /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`]);
      }
    }
  }
}

/** True when a JSON value contains no `${{ }}` anywhere, so it can be validated before any run. */
export function isStatic(value: unknown): boolean {
  return findTemplateExpressions(value, '').length === 0;
}

interface Inspection {
  readonly steps: string[];
  readonly problem?: string;
  /** Deepest nesting of comprehensions; 0 when there are none. */
  readonly comprehensionDepth: number;
}

function inspect(ast: ASTNode): Inspection {
  const steps = new Set<string>();
  let problem: string | undefined;
  let deepest = 0;
  const visit = (node: unknown, comprehensionDepth: number): void => {
    if (!isAstNode(node)) {
      if (Array.isArray(node)) for (const item of node) visit(item, comprehensionDepth);
      return;
    }
    if (node.op === 'call' || node.op === 'rcall') {
      const name = node.args[0];
      const forbidden = Object.hasOwn(FORBIDDEN_FUNCTIONS, name) ? FORBIDDEN_FUNCTIONS[name] : undefined;
      if (forbidden) problem ??= forbidden;
      if (node.op === 'rcall' && name === 'bind' && isRoot(node.args[1], 'cel')) {
        problem ??=
          'cel.bind() is not allowed: reused intermediate values can grow exponentially. Use flow.set instead.';
      }
      if (node.op === 'rcall' && COMPREHENSIONS.has(name)) {
        // The list iterated is evaluated once, outside the loop; only the body runs per element.
        const [, range, body] = node.args as [string, unknown, unknown];
        if (!isDataRange(range)) {
          problem ??=
            `${name}() must iterate over data (such as event.commits or steps.changelog.output.authors), a list ` +
            'literal, or the result of filter() or map() over those; not over a list built while evaluating';
        }
        const depth = comprehensionDepth + 1;
        deepest = Math.max(deepest, depth);
        if (depth > MAX_COMPREHENSION_NESTING) {
          problem ??= `comprehensions (map, filter, all, exists) may be nested at most ${MAX_COMPREHENSION_NESTING} deep`;
        }
        visit(range, comprehensionDepth);
        visit(body, depth);
        return;
      }
    }
    if ((node.op === '.' || node.op === '.?') && isRoot(node.args[0], 'steps')) steps.add(node.args[1]);
    if ((node.op === '[]' || node.op === '[?]') && isRoot(node.args[0], 'steps')) {
      const key = node.args[1];
      if (isAstNode(key) && key.op === 'value' && typeof key.args === 'string') steps.add(key.args);
    }
    const args: unknown = node.args;
    if (Array.isArray(args)) for (const arg of args) visit(arg, comprehensionDepth);
    else visit(args, comprehensionDepth);
  };
  visit(ast, 0);
  return { steps: [...steps], problem, comprehensionDepth: deepest };
}

/**
 * The variables an expression reads, each with its longest fixed path. Over-approximates on purpose: a loop variable
 * that shadows a root (`list.map(event, event.x)`) still counts as reading that root, so nothing read is missed.
 */
function readsOf(ast: ASTNode): ExpressionRead[] {
  const reads: ExpressionRead[] = [];
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      // Pushed last to first, so reads come out in the order they are written.
      for (let index = node.length - 1; index >= 0; index--) stack.push(node[index]);
      continue;
    }
    if (!isAstNode(node)) continue;
    const read = accessPath(node);
    if (read) reads.push(read);
    else stack.push(node.args);
  }
  return reads;
}

/** `event.a["b"][0]` as a read of `event` with path `a, b, 0`; undefined unless the node is such a chain on a root. */
function accessPath(node: ASTNode): ExpressionRead | undefined {
  const path: (string | number)[] = [];
  let current: unknown = node;
  for (;;) {
    if (!isAstNode(current)) return undefined;
    if (current.op === 'id') {
      const name: unknown = current.args;
      const root = EXPRESSION_ROOTS.find((candidate) => candidate === name);
      return root ? { root, path: path.reverse() } : undefined;
    }
    const args = current.args as unknown[];
    if (current.op === '.' || current.op === '.?') {
      if (typeof args[1] !== 'string') return undefined;
      path.push(args[1]);
    } else if (current.op === '[]' || current.op === '[?]') {
      const key = args[1];
      if (!isAstNode(key) || key.op !== 'value') return undefined;
      const value: unknown = key.args;
      if (typeof value === 'string') path.push(value);
      else if (typeof value === 'bigint' || typeof value === 'number') path.push(Number(value));
      else return undefined;
    } else return undefined;
    current = args[0];
  }
}

/**
 * True for what a comprehension may iterate: data reached through fields and indexes (of the context or of a loop
 * variable), a list literal, or filter()/map() over one of those. Their sizes are known before evaluating, which is
 * what the comprehension budget relies on; a list built at run time (`split`, `+`) could be arbitrarily large.
 */
function isDataRange(node: unknown): boolean {
  if (!isAstNode(node)) return false;
  switch (node.op) {
    case 'id':
    case 'list':
      return true;
    case '.':
    case '.?':
    case '[]':
    case '[?]':
      return isDataRange((node.args as unknown[])[0]);
    case 'rcall': {
      const [name, target] = node.args as unknown as [string, unknown];
      return (name === 'filter' || name === 'map') && isDataRange(target);
    }
    default:
      return false;
  }
}

function isAstNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value;
}

function isRoot(node: unknown, name: string): boolean {
  return isAstNode(node) && node.op === 'id' && node.args === name;
}

/** The context converted for CEL, with the sizes {@link checkComprehensionBudget} needs. */
interface CelContext {
  readonly values: Record<string, unknown>;
  readonly largestCollection: number;
  readonly longestString: number;
}

/**
 * JSON integers become CEL ints (BigInt) so `event.number + 1` type-checks; other numbers stay doubles. Objects
 * become `Map`s: cel-js tells a value's type by its `constructor`, which a payload key named "constructor" on a plain
 * object would otherwise decide.
 */
function toCelContext(context: ExpressionContext): CelContext {
  const stats = { largestCollection: 0, longestString: 0 };
  const toCel = (value: unknown): unknown => {
    if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
    if (typeof value === 'string') {
      if (value.length > stats.longestString) stats.longestString = value.length;
      return value;
    }
    if (Array.isArray(value)) {
      if (value.length > stats.largestCollection) stats.largestCollection = value.length;
      return value.map(toCel);
    }
    if (isPlainObject(value)) {
      const entries = Object.entries(value);
      if (entries.length > stats.largestCollection) stats.largestCollection = entries.length;
      return new Map(entries.map(([key, inner]) => [key, toCel(inner)]));
    }
    return value;
  };
  const values = {
    event: toCel(context.event),
    steps: toCel(context.steps),
    vars: toCel(context.vars),
    run: toCel(context.run),
    failure: toCel(context.failure ?? null),
  };
  return { values, ...stats };
}

/** What to say about a CEL value JSON cannot hold, by its class: only conversions the engine really has. */
const NON_JSON_HINTS: Readonly<Record<string, string>> = {
  Date:
    'a timestamp, which JSON cannot hold; take its parts, for example .getFullYear(), .getMonth() or .getHours(), ' +
    'or use the original string',
  Duration: 'a duration, which JSON cannot hold; take its length, for example .getSeconds() or .getMinutes()',
  UnsignedInt: 'an unsigned int, which JSON cannot hold; convert it with string(), or compute with int values',
  Type: 'a type, which JSON cannot hold; compare it instead, for example type(x) == string',
};

/**
 * CEL results back to JSON: ints to numbers (or decimal strings beyond 2^53), maps to plain objects. Values JSON
 * cannot hold (timestamps, durations, types, unsigned ints, NaN and infinities) are an error naming a conversion,
 * not a silent `{}` or `null`.
 */
export function fromCel(value: unknown, expression = '', refuseNonFinite: () => boolean = () => true): unknown {
  if (typeof value === 'number' && !Number.isFinite(value) && refuseNonFinite()) {
    throw new ExpressionError(
      expression,
      `${quote(expression)} gives ${String(value)}, which JSON cannot hold; guard the division or conversion that made it, for example total > 0.0 ? passed / total : 0.0`,
    );
  }
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return Array.from(value);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of value) setOwn(out, String(key), fromCel(inner, expression, refuseNonFinite));
    return out;
  }
  if (Array.isArray(value)) return value.map((inner) => fromCel(inner, expression, refuseNonFinite));
  if (typeof value === 'object' && value !== null) {
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) setOwn(out, key, fromCel(inner, expression, refuseNonFinite));
      return out;
    }
    const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
    const hint = (typeof kind === 'string' && NON_JSON_HINTS[kind]) || 'a CEL value that JSON cannot hold';
    throw new ExpressionError(expression, `${quote(expression)} gives ${hint}`);
  }
  return value;
}

/** Assigns an own property even for keys like `__proto__`, which plain assignment would treat as the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  // Numbers and booleans print the same through JSON; results never hold BigInts (fromCel converted them).
  return JSON.stringify(value) ?? '';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value) ?? ''}`;
}

function quote(expression: string): string {
  return JSON.stringify(expression.length > 80 ? `${expression.slice(0, 80)}…` : expression);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
