import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import {
  createExpressionEngine,
  ExpressionError,
  findTemplateExpressions,
  findUnclosedTemplates,
  isStatic,
  MAX_EXPRESSION_LENGTH,
  type ExpressionContext,
  type ExpressionEngine,
} from '../../common/expressions';
import {
  assertPrototypesIntact,
  describeOutcome,
  FUZZ_TIMEOUT_MS,
  fuzzParameters,
  POLLUTION_KEYS,
  RUNS,
  runIsolated,
  type IsolatedOutcome,
} from './fuzz-runs';

/**
 * A single evaluation must come back well within this; the engine's limits are meant to make every evaluation quick
 * whatever the event holds. Generous, so a loaded CI machine does not make it flaky.
 */
const EVALUATION_DEADLINE_MS = 1_000;
let slowest = { ms: 0, expression: '' };

/** Runs `fn`, allowing only a value or an ExpressionError that names the expression and says why. */
function attempt<T>(expression: string, fn: () => T): { ok: true; value: T } | { ok: false; error: ExpressionError } {
  const started = performance.now();
  let outcome: { ok: true; value: T } | { ok: false; error: ExpressionError };
  try {
    outcome = { ok: true, value: fn() };
  } catch (error) {
    assert.ok(
      error instanceof ExpressionError,
      `${JSON.stringify(expression)} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not an ExpressionError`,
    );
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.trim().length > 0, 'an ExpressionError without a message');
    assert.equal(typeof error.expression, 'string');
    outcome = { ok: false, error };
  }
  const ms = performance.now() - started;
  if (ms > slowest.ms) slowest = { ms, expression };
  assert.ok(ms < EVALUATION_DEADLINE_MS, `${JSON.stringify(expression)} took ${Math.round(ms)} ms`);
  assertPrototypesIntact();
  return outcome;
}

/**
 * A result must be plain data: JSON values (numbers may be non-finite, CEL doubles can be) in plain objects and
 * arrays. No functions, BigInts, class instances, getters or prototypes other than Object, Array or null.
 */
function assertPlainData(value: unknown, at = 'result', depth = 0): void {
  assert.ok(depth < 200, `${at} is nested implausibly deep (a cycle?)`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return;
  assert.equal(typeof value, 'object', `${at} is a ${typeof value}`);
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    assert.equal(proto, Array.prototype, `${at} is an array with a foreign prototype`);
    value.forEach((item, index) => assertPlainData(item, `${at}[${index}]`, depth + 1));
    return;
  }
  assert.ok(proto === Object.prototype || proto === null, `${at} has prototype ${String(proto)}`);
  for (const name of Reflect.ownKeys(value as object)) {
    assert.equal(typeof name, 'string', `${at} has a symbol key`);
    const descriptor = Object.getOwnPropertyDescriptor(value, name)!;
    assert.ok('value' in descriptor, `${at}.${String(name)} is an accessor`);
    assertPlainData(descriptor.value, `${at}.${String(name)}`, depth + 1);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

/** Any UTF-16 code unit, so strings hold lone surrogates, control characters and unpaired halves. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));

/** Field names both the events and the expressions use, so member access often finds something. */
const FIELDS = ['a', 'b', 'items', 'name', 'n', 'issue', 'labels', 'output', 'ä', 'matches', 'then', 'length'];
const fieldName = fc.constantFrom(...FIELDS, ...POLLUTION_KEYS, '__defineGetter__', 'size', 'map');

/** Numbers JSON carries that CEL treats differently: unsafe integers, int64 bounds, negative zero, huge doubles. */
const awkwardNumber = fc.constantFrom(
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63, // int64 max + 1 as a double: JSON cannot write 9223372036854775807 exactly
  -(2 ** 63),
  2 ** 64,
  1e308,
  -1e308,
  5e-324,
  -0,
  0.1,
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    awkwardNumber,
    fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: anyCodeUnit, maxLength: 10 })),
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fieldName, fc.string({ maxLength: 5 })), tie('json'), { maxKeys: 5 }),
  ),
}));
const jsonObject = fc.dictionary(fc.oneof(fieldName, fc.string({ maxLength: 5 })), json, { maxKeys: 6 });

/** Contexts as a run sees them: the event from outside, earlier step outputs, variables and run metadata. */
const context: fc.Arbitrary<ExpressionContext> = fc.record({
  event: fc.oneof({ weight: 4, arbitrary: jsonObject }, { weight: 1, arbitrary: json }),
  steps: fc.dictionary(fc.oneof(fieldName, fc.string({ maxLength: 5 })), fc.record({ output: json }), { maxKeys: 3 }),
  vars: jsonObject,
  run: fc.record({ eventId: fc.string({ maxLength: 12 }), definition: fc.constant('fuzz'), revision: fc.nat() }),
});

const identifier = fc.constantFrom(
  'event',
  'steps',
  'vars',
  'run',
  'x',
  'y',
  'cel',
  'google',
  'dyn',
  'int',
  'uint',
  'type',
  'null_type',
  'optional',
  'this',
  'globalThis',
  'process',
  'require',
  'Object',
  'Function',
  '__proto__',
  'constructor',
);
const numberLiteral = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((value) => (Number.isInteger(value) ? `${value}.0` : `${value}`)),
  fc.constantFrom(
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775808',
    '-9223372036854775809',
    '0x7fffffffffffffff',
    '0xFFFFFFFFFFFFFFFFFF',
    '18446744073709551615u',
    '18446744073709551616u',
    '0u',
    '1e308',
    '1e309',
    '-1e309',
    '5e-324',
    '.5',
    '1.',
    '1e',
    '00',
    '0b1',
  ),
);
const stringLiteral = fc.oneof(
  fc.string({ maxLength: 12 }).map((text) => JSON.stringify(text)),
  fc.string({ unit: anyCodeUnit, maxLength: 8 }).map((text) => `'${text.replace(/['\\]/g, '')}'`),
  fc.constantFrom(
    '"\\u0000"',
    "'\\x41'",
    '"\\U0010FFFF"',
    '"\\U00110000"',
    '"\\uD800"',
    '"\\777"',
    '"\\q"',
    'r"\\n\\d+"',
    '"""multi\nline"""',
    "'''x'''",
    'b"\\xff\\x00"',
    'b"{\\"__proto__\\": {\\"polluted\\": 1}}"',
    '"}}"',
    '"${{"',
    '"unterminated',
    "'",
    '""',
  ),
);
const literal = fc.oneof(numberLiteral, stringLiteral, fc.constantFrom('true', 'false', 'null'));
const binaryOperator = fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', '&&', '||', 'in');
const variable = fc.constantFrom('x', 'y', 'z', 'event', '__proto__');

/** CEL-shaped text from a small grammar, with Flow's hostile favourites: prototypes, matches(), macros, binds. */
const { expression } = fc.letrec<{ expression: string }>((tie) => {
  const sub = tie('expression');
  return {
    expression: fc.oneof(
      { depthSize: 'small', maxDepth: 6, withCrossShrink: true },
      identifier,
      literal,
      fc.tuple(identifier, fieldName).map(([root, name]) => `${root}.${name}`),
      fc.tuple(sub, fieldName).map(([target, name]) => `${target}.${name}`),
      fc.tuple(sub, sub).map(([target, index]) => `${target}[${index}]`),
      fc.tuple(sub, fieldName).map(([target, name]) => `${target}[${JSON.stringify(name)}]`),
      fc.tuple(fc.constantFrom('!', '-', '!!', '--'), sub).map(([operator, operand]) => `${operator}${operand}`),
      fc.tuple(sub, binaryOperator, sub).map(([left, operator, right]) => `${left} ${operator} ${right}`),
      fc.tuple(sub, sub, sub).map(([test, yes, no]) => `${test} ? ${yes} : ${no}`),
      fc.array(sub, { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
      fc
        .array(fc.tuple(sub, sub), { maxLength: 3 })
        .map((entries) => `{${entries.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
      fc
        .tuple(
          fc.constantFrom(
            'size',
            'string',
            'int',
            'uint',
            'double',
            'bytes',
            'bool',
            'dyn',
            'type',
            'timestamp',
            'duration',
            'has',
            'matches',
            'toString',
            'eval',
          ),
          fc.array(sub, { maxLength: 2 }),
        )
        .map(([name, args]) => `${name}(${args.join(', ')})`),
      fc
        .tuple(
          sub,
          fc.constantFrom(
            'size',
            'contains',
            'startsWith',
            'endsWith',
            'split',
            'join',
            'matches',
            'substring',
            'indexOf',
            'lowerAscii',
            'trim',
            'json',
            'string',
            'hex',
            'toString',
            'valueOf',
            'constructor',
          ),
          fc.array(sub, { maxLength: 2 }),
        )
        .map(([target, name, args]) => `${target}.${name}(${args.join(', ')})`),
      fc
        .tuple(sub, fc.constantFrom('map', 'filter', 'all', 'exists', 'exists_one'), variable, sub)
        .map(([target, macro, name, body]) => `${target}.${macro}(${name}, ${body})`),
      fc
        .tuple(sub, variable, sub, sub)
        .map(([target, name, filter, body]) => `${target}.map(${name}, ${filter}, ${body})`),
      fc.tuple(variable, sub, sub).map(([name, value, body]) => `cel.bind(${name}, ${value}, ${body})`),
      sub.map((inner) => `(${inner})`),
    ),
  };
});

/** Grammar output with a few characters inserted, deleted or replaced, to walk the parser's error paths. */
const mangledExpression = fc
  .tuple(
    expression,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat({ max: 3 }),
        fc.oneof(anyCodeUnit, fc.constantFrom('(', ')', '[', ']', '{', '}', '.', ',', '"', "'", '\\', '?', ':', '$')),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([text, edits]) => {
    let out = text;
    for (const [at, drop, insert] of edits) {
      const position = out.length === 0 ? 0 : at % (out.length + 1);
      out = out.slice(0, position) + insert + out.slice(position + drop);
    }
    return out;
  });

const anyExpression = fc.oneof(
  { weight: 5, arbitrary: expression },
  { weight: 2, arbitrary: mangledExpression },
  { weight: 1, arbitrary: fc.string({ unit: anyCodeUnit, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

/** `${{ }}` templates inside JSON values: exact, embedded, unclosed, nested and next to `}}` in string literals. */
const templateString = fc.oneof(
  expression.map((inner) => `\${{ ${inner} }}`),
  fc
    .tuple(fc.string({ maxLength: 6 }), expression, fc.string({ maxLength: 6 }))
    .map(([before, inner, after]) => `${before}\${{${inner}}}${after}`),
  fc.tuple(expression, expression).map(([first, second]) => `\${{ ${first} }} and \${{ ${second} }}`),
  expression.map((inner) => `\${{ ${inner}`),
  expression.map((inner) => `\${{ \${{ ${inner} }} }}`),
  expression.map((inner) => `\${{ "}}" + ${inner} }}`),
  fc.constantFrom(
    '${{}}',
    '${{ }}',
    '${{',
    '}}',
    '$${{ event }}',
    '${ { event } }',
    '${{ event }}}}',
    '\\${{ event }}',
  ),
  fc.string({ maxLength: 10 }),
);
const { template } = fc.letrec((tie) => ({
  template: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    templateString,
    json,
    fc.array(tie('template'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fieldName, fc.string({ maxLength: 5 })), tie('template'), { maxKeys: 4 }),
  ),
}));

// ---------------------------------------------------------------------------------------------------------------

/** `cel.bind(v0, seed, cel.bind(v1, grow(v0), …))`: each bind grows the previous value by `grow`. */
function bindChain(
  levels: number,
  seed: string,
  grow: (name: string) => string,
  last: (name: string) => string,
): string {
  let text = last(`v${levels}`);
  for (let level = levels; level >= 0; level--) {
    text = `cel.bind(v${level}, ${level === 0 ? seed : grow(`v${level - 1}`)}, ${text})`;
  }
  return text;
}
const TEN_ZEROS = `[${Array(10).fill('0').join(', ')}]`;
const tenTimes = (name: string, separator: string): string => Array(10).fill(name).join(separator);

/**
 * The one case that does not just run long but kills the process (V8 aborts when the heap is exhausted, which no
 * try/catch sees), so it runs in a child process with a 128 MB heap, started before the fuzzing so it runs alongside.
 */
const expressionsModule = path.resolve(__dirname, '..', '..', 'common', 'expressions.ts');
const crashingExpression = bindChain(
  9,
  TEN_ZEROS,
  (name) => tenTimes(name, ' + '),
  (name) => `size(${name})`,
);
const crashingScript = `
  const { createExpressionEngine, ExpressionError } = require(${JSON.stringify(expressionsModule)});
  let result;
  try {
    result = { value: createExpressionEngine().evaluate(${JSON.stringify(crashingExpression)}, { event: {}, steps: {}, vars: {}, run: {} }) };
  } catch (error) {
    result = { error: error instanceof ExpressionError ? 'ExpressionError' : String(error && error.name) };
  }
  console.log(JSON.stringify(result));
`;

describe('bad input: expressions (common/expressions.ts)', function () {
  this.timeout(FUZZ_TIMEOUT_MS);
  let crashing: Promise<IsolatedOutcome>;
  before(() => {
    crashing = runIsolated(crashingScript, { timeoutMs: 30_000, heapMb: 128 });
  });
  let engine: ExpressionEngine;
  beforeEach(() => {
    engine = createExpressionEngine();
  });
  after(() => {
    if (slowest.ms > 0)
      console.log(
        `      slowest evaluation: ${slowest.ms.toFixed(1)} ms for ${JSON.stringify(slowest.expression.slice(0, 120))}`,
      );
  });

  it(`check() never throws on ${RUNS} random and grammar-shaped expressions, and explains every refusal`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 50, arbitrary: anyExpression },
          {
            weight: 1,
            arbitrary: fc.string({ minLength: MAX_EXPRESSION_LENGTH - 2, maxLength: MAX_EXPRESSION_LENGTH + 2 }),
          },
        ),
        (text) => {
          const check = attempt(text, () => engine.check(text));
          assert.ok(check.ok, 'check() threw');
          const { error, steps } = check.value;
          assert.ok(Array.isArray(steps) && steps.every((step) => typeof step === 'string'));
          if (error !== undefined) assert.ok(typeof error === 'string' && error.trim().length > 0);
          if (text.length > MAX_EXPRESSION_LENGTH) assert.match(error ?? '', /longer than/);
        },
      ),
      fuzzParameters(),
    );
  });

  it(`evaluate() returns plain data or an ExpressionError for ${RUNS} expressions over hostile events`, () => {
    let values = 0;
    fc.assert(
      fc.property(anyExpression, context, (text, ctx) => {
        const outcome = attempt(text, () => engine.evaluate(text, ctx));
        if (outcome.ok) {
          values++;
          assertPlainData(outcome.value);
          JSON.stringify(outcome.value);
        }
      }),
      fuzzParameters(),
    );
    // The grammar is only useful if a fair share of it gets past the parser and the type checker.
    assert.ok(values > RUNS / 20, `only ${values} of ${RUNS} expressions evaluated to a value`);
  });

  it(`evaluateCondition() gives a boolean or an ExpressionError for ${RUNS} expressions`, () => {
    fc.assert(
      fc.property(anyExpression, context, (text, ctx) => {
        const outcome = attempt(text, () => engine.evaluateCondition(text, ctx));
        if (outcome.ok) assert.equal(typeof outcome.value, 'boolean');
      }),
      fuzzParameters(),
    );
  });

  it(`check() and evaluate() agree for ${RUNS} expressions: whatever check() refuses, evaluate() refuses too`, () => {
    fc.assert(
      fc.property(anyExpression, context, (text, ctx) => {
        const check = engine.check(text);
        const outcome = attempt(text, () => engine.evaluate(text, ctx));
        if (
          check.error !== undefined &&
          /cannot parse|not allowed|nested at most|longer than|is empty/.test(check.error)
        ) {
          assert.equal(outcome.ok, false, `check() said ${check.error}, but evaluate() ran it`);
        }
      }),
      fuzzParameters(),
    );
  });

  it(`refuses matches() wherever it sits, in ${RUNS} generated expressions`, () => {
    const placement = fc.constantFrom(
      (inner: string) => `${inner}.matches("a+")`,
      (inner: string) => `matches(${inner}, "a+")`,
      (inner: string) => `(${inner}) || "aaa".matches("(a+)+$")`,
      (inner: string) => `[${inner}].exists(x, string(x).matches(".*"))`,
      (inner: string) => `cel.bind(m, ${inner}, [m].map(x, "a".matches("a")))`,
    );
    fc.assert(
      fc.property(expression, placement, context, (inner, place, ctx) => {
        const text = place(inner);
        assert.ok(engine.check(text).error !== undefined, `check() accepted ${text}`);
        assert.equal(attempt(text, () => engine.evaluate(text, ctx)).ok, false, `evaluate() ran ${text}`);
      }),
      fuzzParameters(),
    );
  });

  it(`render() turns ${RUNS} templates into plain data or an ExpressionError, leaving static values alone`, () => {
    fc.assert(
      fc.property(template, context, (value, ctx) => {
        const found = findTemplateExpressions(value, 'with');
        for (const item of found) assert.ok(item.path.startsWith('with') && typeof item.expression === 'string');
        const unclosed = findUnclosedTemplates(value, 'with');
        assert.ok(unclosed.every((at) => at.startsWith('with')));
        const outcome = attempt(JSON.stringify(value) ?? '', () => engine.render(value, ctx));
        if (outcome.ok) {
          assertPlainData(outcome.value);
          if (isStatic(value)) assert.equal(JSON.stringify(outcome.value), JSON.stringify(value));
        }
      }),
      fuzzParameters(),
    );
  });

  it('keeps event keys such as __proto__ as plain data, and resolves no inherited member', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "a": {"__proto__": [1]}, "b": "x"}') as object;
    const ctx: ExpressionContext = { event: hostile, steps: {}, vars: {}, run: {} };
    assert.deepEqual(
      attempt('event.__proto__', () => engine.evaluate('event.__proto__', ctx)),
      {
        ok: true,
        value: { polluted: 1 },
      },
    );
    for (const text of [
      'event.polluted',
      'event.b.length',
      'event.toString',
      'event.hasOwnProperty',
      'event.constructor',
      'vars.constructor',
      'event.a.__proto__.polluted',
    ]) {
      assert.equal(attempt(text, () => engine.evaluate(text, ctx)).ok, false, `${text} resolved something`);
    }
    const rendered = attempt('render', () =>
      engine.render({ ['__proto__']: '${{ event.__proto__ }}', x: '${{ event }}' }, ctx),
    );
    assert.ok(rendered.ok);
    assertPlainData(rendered.value);
    assert.equal(Object.getPrototypeOf(rendered.value), Object.prototype);
  });

  it('reads events that carry a field called constructor, like any other field', () => {
    const failures: string[] = [];
    for (const [event, text, expected] of [
      ['{"constructor": "x", "a": 1}', 'event.a', 1],
      ['{"a": {"constructor": 1, "b": 2}}', 'event.a.b', 2],
      ['{"a": {"constructor": {"name": "x"}}}', 'has(event.a)', true],
      ['{"a": {"constructor": "x"}}', 'size(event.a)', 1],
      ['{"constructor": "x"}', 'event.constructor', 'x'],
    ] as const) {
      const ctx: ExpressionContext = { event: JSON.parse(event) as unknown, steps: {}, vars: {}, run: {} };
      const outcome = attempt(text, () => engine.evaluate(text, ctx));
      if (!outcome.ok || outcome.value !== expected) {
        failures.push(
          `${text} over ${event} gave ${outcome.ok ? JSON.stringify(outcome.value) : outcome.error.message}`,
        );
      }
    }
    assert.deepEqual(failures, [], `PRODUCT BUG (common/expressions.ts toCel): ${failures.join('; ')}`);
  });

  describe('limits refuse expensive expressions before they run', () => {
    const ctx: ExpressionContext = { event: { l: [1, 2, 3] }, steps: {}, vars: {}, run: {} };
    const refused = (text: string, reason: RegExp): void => {
      assert.match(engine.check(text).error ?? '', reason, `check() accepted ${text.slice(0, 100)}`);
      const outcome = attempt(text, () => engine.evaluate(text, ctx));
      assert.equal(outcome.ok, false, `evaluate() ran ${text.slice(0, 100)}`);
      if (!outcome.ok) assert.match(outcome.error.message, reason);
    };

    it('refuses matches() in every spelling and position', () => {
      for (const text of [
        '"aaaa".matches("(a+)+$")',
        'matches("aaaa", "(a+)+$")',
        'event.l.exists(x, string(x).matches("^1$"))',
        'true || "a".matches("a")',
        '[1].map(x, {"k": "a".matches("a")})',
      ]) {
        refused(text, /matches\(\) is not allowed/);
      }
      assert.equal(engine.check('has(event.matches)').error, undefined, 'a field called matches is fine');
    });

    it('refuses cel.bind(), whose reused values can grow exponentially, wherever it appears', () => {
      for (const text of [
        'cel.bind(m, "a", m.matches(m))',
        'cel.bind(v, event.l, size(v))',
        '[1].map(x, cel.bind(y, x, y))',
      ]) {
        refused(text, /cel\.bind\(\) is not allowed/);
      }
    });

    it('refuses comprehensions over lists built while evaluating, whose size the budget cannot know', () => {
      for (const text of [
        '"abc".split("").exists(a, a == "x")',
        '(event.l + event.l).map(x, x)',
        'event.l.map(a, string(a).split("").map(b, b))',
      ]) {
        refused(text, /must iterate over data/);
      }
      for (const text of [
        'event.l.filter(x, x > 1).map(x, x * 2)',
        '[1, 2].exists(x, x == 2)',
        'event.l.map(a, event.l.exists(b, a == b))',
      ]) {
        assert.equal(engine.check(text).error, undefined, text);
      }
    });

    it('refuses comprehensions nested three deep, however they are spelled', () => {
      const macros = ['map', 'filter', 'all', 'exists', 'exists_one'];
      for (const outer of macros) {
        for (const inner of macros) {
          refused(`event.l.${outer}(a, event.l.${inner}(b, event.l.all(c, a == b)))`, /nested at most 2 deep/);
        }
      }
      refused('[1].map(a, [2].map(b, [3].map(c, [4].map(d, a))))', /nested at most 2 deep/);
    });

    it('refuses list and map literals above 200 entries, deep nesting and over-long text', () => {
      refused(`[${Array.from({ length: 201 }, (_, i) => i).join(', ')}]`, /cannot parse/);
      refused(`{${Array.from({ length: 201 }, (_, i) => `"k${i}": ${i}`).join(', ')}}`, /cannot parse|longer than/);
      refused(`${'('.repeat(40)}1${')'.repeat(40)}`, /cannot parse/);
      refused(`${'['.repeat(40)}${']'.repeat(40)}`, /cannot parse/);
      refused(`${'!'.repeat(600)}true`, /cannot parse/);
      refused(Array.from({ length: 300 }, () => '1').join(' + '), /cannot parse/);
      refused('1'.repeat(MAX_EXPRESSION_LENGTH + 1), /longer than/);
      refused(' \n\t', /is empty/);
    });
  });

  /**
   * Expressions whose cost grows with the event or multiplies with every level. Unbounded, each runs for seconds
   * (the same shapes with a 1 MB event or a few more levels run for hours or exhaust memory). The engine must refuse
   * them with an ExpressionError, or finish within a second (half of Temporal's deadlock detection for workflow code)
   * with a result under 1 MB of JSON.
   */
  describe('evaluations that would blow up are refused or finish quickly', () => {
    const blowUps: { title: string; expression: string; event: unknown }[] = [
      {
        title: 'two nested comprehensions over a 2,000-element list from a 4 KB event',
        expression: 'event.l.map(a, event.l.map(b, a + b))',
        event: { l: Array.from({ length: 2_000 }, () => 0) },
      },
      {
        title: 'two nested comprehensions over the characters of a 3,000-character string from the event',
        expression: 'event.s.split("").exists(a, event.s.split("").exists(b, a + b == "xy"))',
        event: { s: 'x'.repeat(3_000) },
      },
      {
        title: 'a comprehension returning a 250-element event list per pair of elements (15.6 million leaves)',
        expression: 'event.l.map(a, event.l.map(b, event.l))',
        event: { l: Array.from({ length: 250 }, (_, index) => index) },
      },
      {
        title: 'cel.bind nesting a list ten times per level, six levels deep (10^7 shared leaves)',
        expression: bindChain(
          6,
          TEN_ZEROS,
          (name) => `[${tenTimes(name, ', ')}]`,
          (name) => name,
        ),
        event: {},
      },
      {
        title: 'cel.bind concatenating a list with itself ten times per level, five levels deep (10^6 elements)',
        expression: bindChain(
          5,
          TEN_ZEROS,
          (name) => tenTimes(name, ' + '),
          (name) => name,
        ),
        event: {},
      },
      {
        title: 'cel.bind concatenating a string with itself ten times per level, past the longest JavaScript string',
        expression: bindChain(
          9,
          `"${'x'.repeat(64)}"`,
          (name) => tenTimes(name, ' + '),
          (name) => `size(${name})`,
        ),
        event: {},
      },
      {
        title: 'a map over a 200-element list literal whose body is a 200-element list literal',
        expression: `[${Array.from({ length: 200 }, (_, i) => i).join(',')}].map(a, [${Array.from({ length: 200 }, (_, i) => i).join(',')}])`,
        event: {},
      },
    ];

    for (const item of blowUps) {
      it(`refuses or finishes quickly: ${item.title}`, () => {
        const ctx: ExpressionContext = { event: item.event, steps: {}, vars: {}, run: {} };
        const started = performance.now();
        let value: unknown;
        try {
          value = engine.evaluate(item.expression, ctx);
        } catch (error) {
          assert.ok(error instanceof ExpressionError, `threw ${String(error)}, not an ExpressionError`);
          return;
        }
        const ms = Math.round(performance.now() - started);
        const size = (JSON.stringify(value) ?? '').length;
        const shown = item.expression.length > 160 ? `${item.expression.slice(0, 160)}…` : item.expression;
        assert.ok(
          ms < 1_000 && size <= 1_000_000,
          `PRODUCT BUG (common/expressions.ts): ${shown} was not refused; it took ${ms} ms and gave ${size.toLocaleString('en')} characters of JSON`,
        );
      });
    }

    it('refuses, rather than dies on, a cel.bind chain that concatenates a list ten times per level, nine levels deep (isolated)', async function () {
      this.timeout(60_000);
      const outcome = await crashing;
      assert.ok(
        outcome.exitCode === 0 && outcome.result !== undefined,
        `PRODUCT BUG (common/expressions.ts): evaluating the ${crashingExpression.length}-character expression ${crashingExpression.slice(0, 120)}… ${describeOutcome(outcome)}`,
      );
      assert.deepEqual(outcome.result, { error: 'ExpressionError' });
    });
  });

  it('renders a deeply nested `with` value, or refuses it with an ExpressionError (no stack overflow)', () => {
    let deep: unknown = '${{ event.a }}';
    for (let level = 0; level < 10_000; level++) deep = level % 2 === 0 ? [deep] : { v: deep };
    const ctx: ExpressionContext = { event: { a: 1 }, steps: {}, vars: {}, run: {} };
    let thrown: unknown;
    try {
      engine.render(deep, ctx);
    } catch (error) {
      thrown = error;
    }
    assert.ok(
      thrown === undefined || thrown instanceof ExpressionError,
      `PRODUCT BUG (common/expressions.ts render): a 10,000-deep template threw ${String(thrown)}, not an ExpressionError`,
    );
  });

  it('evaluates over a step output nested 10,000 deep, or refuses it with an ExpressionError (no stack overflow)', () => {
    // Events are at most 64 deep (the gateway checks), but step outputs come from remote systems.
    let deep: unknown = 1;
    for (let level = 0; level < 10_000; level++) deep = level % 2 === 0 ? [deep] : { v: deep };
    const ctx: ExpressionContext = { event: {}, steps: { fetch: { output: deep } }, vars: {}, run: {} };
    let thrown: unknown;
    try {
      engine.evaluate('has(steps.fetch.output)', ctx);
    } catch (error) {
      thrown = error;
    }
    assert.ok(
      thrown === undefined || thrown instanceof ExpressionError,
      `PRODUCT BUG (common/expressions.ts toCelContext): a 10,000-deep step output threw ${String(thrown)}, not an ExpressionError`,
    );
  });

  it('turns every CEL value into its JSON form or refuses it, never into a silent {}', () => {
    const ctx: ExpressionContext = { event: {}, steps: {}, vars: {}, run: {} };
    const silentlyEmpty: string[] = [];
    for (const text of [
      '1u',
      '[1u, 2u]',
      'timestamp("2024-05-14T09:45:12Z")',
      'duration("90s")',
      'type(1)',
      'int',
      'cel',
      'google',
    ]) {
      const outcome = attempt(text, () => engine.evaluate(text, ctx));
      if (!outcome.ok) continue;
      const value = Array.isArray(outcome.value) ? (outcome.value as unknown[])[0] : outcome.value;
      if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) silentlyEmpty.push(text);
      if (JSON.stringify(outcome.value)?.includes('protobuf')) silentlyEmpty.push(text);
    }
    assert.deepEqual(
      silentlyEmpty,
      [],
      `PRODUCT BUG (common/expressions.ts fromCel): these evaluate to {} (or CEL internals) instead of a value or an ExpressionError: ${silentlyEmpty.join(', ')}`,
    );
  });
});
