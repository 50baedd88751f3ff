import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { actionsById } from '../../activities';
import { MAX_STEPS } from '../../common/definition';
import {
  definitionToYaml,
  parseDefinitionText,
  validateDefinition,
  type DefinitionError,
  type ValidationResult,
} from '../../registry';
import {
  assertPrototypesIntact,
  describeOutcome,
  FUZZ_TIMEOUT_MS,
  fuzzParameters,
  POLLUTION_KEYS,
  RUNS,
  runIsolated,
} from './fuzz-runs';
import { editAt, put, slots, snapshot, type Container } from './json-tree';

/**
 * The validator behind `PUT /api/definitions/:id` (and revision restores): whatever it is given, it answers with a
 * definition or with a non-empty list of errors, each with a path and a message, which become the 422.
 */
const catalog = actionsById();

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/**
 * Validates `raw`, failing the property on a throw, a malformed answer, a changed input or a polluted prototype.
 * `json` inputs are compared as JSON text, which is cheaper than a deep copy and enough for what JSON can hold.
 */
function validate(raw: unknown, { json = false }: { json?: boolean } = {}): ValidationResult {
  const before = json ? JSON.stringify(raw) : snapshot(raw);
  let result: ValidationResult;
  try {
    result = validateDefinition(raw, catalog);
  } catch (error) {
    assert.fail(
      `validateDefinition threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  }
  assertPrototypesIntact();
  if (json) assert.equal(JSON.stringify(raw), before, 'validateDefinition changed the definition it was given');
  else assert.deepEqual(raw, before, 'validateDefinition changed the definition it was given');
  if (result.ok) {
    assert.equal(typeof result.definition, 'object');
  } else {
    assert.ok(Array.isArray(result.errors) && result.errors.length > 0, 'rejected without saying why');
    for (const error of result.errors) assertWellFormedError(error);
  }
  return result;
}

function assertWellFormedError(error: DefinitionError): void {
  assert.equal(typeof error.path, 'string');
  assert.ok(error.path.length > 0, `an error without a path: ${JSON.stringify(error)}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.trim().length > 0, `an error without a message at ${error.path}`);
}

const roundTripped = new Set<string>();

/**
 * A valid definition must survive JSON unchanged and come back the same from its YAML export, the most lossy way
 * out and back in (and the one users commit to git).
 */
function assertRoundTrips(result: Extract<ValidationResult, { ok: true }>): void {
  const { definition } = result;
  const json = JSON.stringify(definition);
  assert.equal(JSON.stringify(JSON.parse(json)), json, 'the definition does not survive JSON');
  // The YAML library is slow, and many cases are valid in the same way; each distinct definition is checked once.
  if (roundTripped.has(json)) return;
  roundTripped.add(json);
  const fromYaml = validateDefinition(parseDefinitionText(definitionToYaml(definition), 'yaml'), catalog);
  assert.ok(
    fromYaml.ok,
    `PRODUCT BUG (registry/validate-definition.ts): a definition it accepted fails validation when saved again from its YAML export: ${JSON.stringify(fromYaml.ok ? [] : fromYaml.errors.slice(0, 3))}; accepted ${json.slice(0, 300)}`,
  );
  assert.equal(JSON.stringify(fromYaml.definition), json, 'the YAML export reads back as a different definition');
}

// ---------------------------------------------------------------------------------------------------------------
// Valid definitions to start from: the examples, and one definition per example of every action in the catalog.

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const exampleDefinitions = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => parseDefinitionText(readFileSync(path.join(EXAMPLES, name), 'utf8'), 'yaml') as Json);

/** Catalog examples read steps the fuzz definitions do not have; `vars.<anything>` type-checks anywhere. */
function withoutStepReferences(value: unknown): Json {
  return JSON.parse(JSON.stringify(value).replace(/\bsteps\.(?=[a-z_])/g, 'vars.')) as Json;
}
const catalogSteps: Json[] = [...catalog.values()].flatMap((action) =>
  action.examples.map((example, index) => ({
    id: `${action.id.replace(/\./g, '_')}_${index}`,
    name: example.title.slice(0, 200),
    action: action.id,
    with: withoutStepReferences(example.with),
  })),
);
const catalogDefinition = fc
  .uniqueArray(fc.constantFrom(...catalogSteps), {
    minLength: 1,
    maxLength: 4,
    selector: (step) => JSON.stringify(step),
  })
  .map((steps): Json => ({
    id: 'fuzz-catalog',
    name: 'Fuzz catalog',
    on: [{ source: 'fuzz', type: 'event', if: 'has(event.x)' }],
    steps,
  }));

// The examples are the realistic shape; the smaller catalog definitions keep each case cheap and cover every action.
const validBase = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...exampleDefinitions) },
  { weight: 3, arbitrary: catalogDefinition },
);

describe('bad input: definitions (registry/validate-definition.ts)', function () {
  this.timeout(FUZZ_TIMEOUT_MS);

  it('starts from valid definitions: every example and every catalog example step passes on its own', () => {
    for (const definition of exampleDefinitions) assert.ok(validateDefinition(definition, catalog).ok);
    for (const step of catalogSteps) {
      const result = validateDefinition(
        { id: 'x', name: 'x', on: [{ source: 'a', type: 'b' }], steps: [step] },
        catalog,
      );
      assert.ok(result.ok, `${JSON.stringify(step)}: ${JSON.stringify(result.ok ? [] : result.errors)}`);
    }
  });

  // -------------------------------------------------------------------------------------------------------------
  // Arbitraries

  const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
  const key = fc.oneof(
    fc.constantFrom(...POLLUTION_KEYS, 'id', 'name', 'on', 'steps', 'action', 'with', 'if', 'uses', 'retry', 'timeout'),
    fc.string({ maxLength: 8 }),
  );

  /** Step ids a hostile or careless author writes: path characters, unicode, prototypes, too long, empty. */
  const stepId = fc.oneof(
    fc.constantFrom(
      '',
      'a.b',
      'a[0]',
      'steps.x',
      '../x',
      'a/b',
      'a b',
      'A',
      '1abc',
      'é',
      'ａ',
      'a\u0000',
      '__proto__',
      'constructor',
      'prototype',
      'hasOwnProperty',
      'x'.repeat(64),
      'x'.repeat(63),
      '_',
    ),
    fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/),
    fc.string({ unit: anyCodeUnit, maxLength: 10 }),
  );
  /** Action ids: real ones, near misses, prototype names and noise. */
  const actionId = fc.oneof(
    fc.constantFrom(...catalog.keys()),
    fc.constantFrom(
      'http.reqest',
      'HTTP.request',
      'http',
      'http.request.extra',
      'flow.',
      '.set',
      '__proto__.x',
      'constructor.name',
      'toString.call',
      'flow.__proto__',
      'x.constructor',
    ),
    fc.string({ maxLength: 20 }),
  );
  /** Expression text: grammar-ish CEL, matches(), deep comprehensions, and noise. */
  const expressionText = fc.oneof(
    fc.constantFrom(
      'event.x == 1',
      'has(event.a.b)',
      'event.__proto__',
      'event.constructor.name',
      'steps.__proto__.output',
      'steps["constructor"].output',
      'steps.later.output',
      'vars.x.matches("(a+)+$")',
      'event.l.map(a, event.l.map(b, event.l.map(c, 1)))',
      'cel.bind(v, [1, 2], v + v)',
      'size(event.l) > 0',
      '1 +',
      '"unterminated',
      '',
      ' ',
      '${{ event.x }}',
      'x'.repeat(2_001),
    ),
    fc
      .tuple(fc.constantFrom('event', 'vars', 'steps', 'run'), fc.stringMatching(/^[a-z_]{1,6}$/))
      .map(([root, name]) => `${root}.${name}`),
    fc.string({ maxLength: 20 }),
    fc.string({ unit: anyCodeUnit, maxLength: 10 }),
  );
  const withString = fc.oneof(
    expressionText.map((text) => `\${{ ${text} }}`),
    fc.tuple(fc.string({ maxLength: 8 }), expressionText).map(([prefix, text]) => `${prefix}\${{${text}}}`),
    expressionText.map((text) => `\${{ ${text}`),
    fc.constantFrom('${{ }}', '}}', '${{ "}}" }}', 'https://example.com/', 'hunter2', ''),
    fc.string({ maxLength: 12 }),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(2 ** 53 + 2, 1e308, -0),
      withString,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
    ),
  }));

  /** One change to a definition at a path chosen by index among all of its paths. */
  type Mutation =
    | { op: 'delete'; at: number }
    | { op: 'duplicate-step'; at: number }
    | { op: 'wrap-proto'; at: number }
    | { op: 'set'; at: number; value: unknown }
    | { op: 'rename'; at: number; to: string }
    | { op: 'step-id'; at: number; id: string }
    | { op: 'action'; at: number; id: string }
    | { op: 'expression'; at: number; text: string; where: 'if' | 'with' | 'binding' }
    | { op: 'nest'; at: number; depth: number }
    | { op: 'many-steps'; count: number };

  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({
      op: fc.constantFrom('delete' as const, 'duplicate-step' as const, 'wrap-proto' as const),
      at: fc.nat(),
    }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value }),
    fc.record({ op: fc.constant('rename' as const), at: fc.nat(), to: key }),
    fc.record({ op: fc.constant('step-id' as const), at: fc.nat(), id: stepId }),
    fc.record({ op: fc.constant('action' as const), at: fc.nat(), id: actionId }),
    fc.record({
      op: fc.constant('expression' as const),
      at: fc.nat(),
      text: fc.oneof(expressionText, withString),
      where: fc.constantFrom('if', 'with', 'binding'),
    }),
    fc.record({ op: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ op: fc.constant('many-steps' as const), count: fc.integer({ min: 2, max: 40 }) }),
  );

  function stepsOf(root: Record<string, unknown>): Record<string, unknown>[] {
    const steps = root['steps'];
    return Array.isArray(steps)
      ? steps.filter(
          (step): step is Record<string, unknown> => typeof step === 'object' && step !== null && !Array.isArray(step),
        )
      : [];
  }

  function mutate(root: Record<string, unknown>, change: Mutation): void {
    const steps = stepsOf(root);
    const step = steps.length > 0 && 'at' in change ? steps[change.at % steps.length]! : undefined;
    switch (change.op) {
      case 'step-id':
        if (step) put(step, 'id', change.id);
        return;
      case 'action':
        if (step) put(step, 'action', change.id);
        return;
      case 'duplicate-step':
        if (step && Array.isArray(root['steps'])) (root['steps'] as unknown[]).push(snapshot(step));
        return;
      case 'many-steps':
        if (Array.isArray(root['steps']) && root['steps'].length > 0) {
          const template = root['steps'] as unknown[];
          put(
            root,
            'steps',
            Array.from({ length: change.count }, (_, index) => {
              const copy = snapshot(template[index % template.length]);
              if (typeof copy === 'object' && copy !== null && !Array.isArray(copy)) {
                put(copy as Container, 'id', `s${index}`);
              }
              return copy;
            }),
          );
        }
        return;
      case 'expression': {
        if (change.where === 'binding') {
          const bindings = root['on'];
          const binding = Array.isArray(bindings)
            ? (bindings[change.at % Math.max(bindings.length, 1)] as unknown)
            : undefined;
          if (typeof binding === 'object' && binding !== null && !Array.isArray(binding)) {
            put(binding as Container, 'if', change.text);
          }
        } else if (step && change.where === 'if') {
          put(step, 'if', change.text);
        } else if (step) {
          const withValue = step['with'];
          if (typeof withValue === 'object' && withValue !== null) {
            const inside = slots(withValue as Container);
            const [container, slot] =
              inside.length > 0 ? inside[change.at % inside.length]! : [withValue as Container, 'x'];
            put(container, slot, change.text);
          }
        }
        return;
      }
      default:
        break;
    }
    // The rest are generic tree edits, at any slot of the definition.
    editAt(root, change.at, change.op === 'wrap-proto' ? { op: 'wrap', key: '__proto__' } : change);
  }

  const nearValid = fc.tuple(validBase, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([base, changes]) => {
    const definition = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    for (const change of changes) mutate(definition, change);
    return definition;
  });

  // -------------------------------------------------------------------------------------------------------------

  it(`answers ${RUNS} fully random JSON values, including __proto__ and constructor keys, with a definition or errors`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 5 }),
          fc.dictionary(key, value, { maxKeys: 8, noNullPrototype: true }),
          fc.record(
            { id: value, name: value, description: value, enabled: value, on: value, steps: value, uses: value },
            { requiredKeys: [], noNullPrototype: true },
          ),
        ),
        (raw) => {
          const result = validate(raw);
          if (result.ok) assertRoundTrips(result);
        },
      ),
      fuzzParameters(),
    );
  });

  it(`answers ${RUNS} values of any JavaScript shape (maps, boxed values, null prototypes) without throwing`, () => {
    fc.assert(
      fc.property(
        fc.anything({
          key,
          maxDepth: 4,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withObjectString: true,
          withNullPrototype: true,
          withBigInt: true,
          withDate: true,
          withSparseArray: true,
        }),
        (raw) => {
          validate(raw);
        },
      ),
      fuzzParameters(),
    );
  });

  it(`answers ${RUNS} near-valid definitions (keys dropped, renamed or retyped, odd step ids and actions, random expressions) and round-trips the valid ones`, () => {
    let valid = 0;
    const started = performance.now();
    fc.assert(
      fc.property(nearValid, (raw) => {
        const result = validate(raw, { json: true });
        if (result.ok) {
          valid++;
          assertRoundTrips(result);
        }
      }),
      fuzzParameters(),
    );
    if (process.env['FLOW_FUZZ_STATS']) {
      console.log(`      ${valid} of ${RUNS} valid, ${((performance.now() - started) / RUNS).toFixed(2)} ms a case`);
    }
    // Mutations that always break the definition would leave the round-trip property untested.
    assert.ok(valid > RUNS / 20, `only ${valid} of ${RUNS} near-valid definitions were valid`);
  });

  // -------------------------------------------------------------------------------------------------------------
  // Minimal counterexamples the fuzzers found, kept as plain tests.

  it('does not let a `with` key called __proto__ stand in for a required input (found by the fuzzer)', () => {
    // http.request requires `url`; here it is only reachable through the prototype of the static view of `with`.
    const raw = JSON.parse(
      '{"id":"x","name":"x","on":[{"source":"a","type":"b"}],"steps":[{"id":"s","action":"http.request","with":{"__proto__":{"url":"https://example.com/"}}}]}',
    ) as unknown;
    const result = validate(raw);
    assert.equal(
      result.ok,
      false,
      `PRODUCT BUG (registry/validate-definition.ts stripDynamic): accepted a step without url, stored as ${JSON.stringify(result.ok ? result.definition.steps[0] : null)}`,
    );
  });

  it('refuses or keeps a `with` key called __proto__, never silently drops it (found by the fuzzer)', () => {
    // zod strips "__proto__" from records on purpose; the definition must then say so rather than lose the key.
    const raw = JSON.parse(
      '{"id":"x","name":"x","on":[{"source":"a","type":"b"}],"steps":[{"id":"s","action":"flow.set","with":{"__proto__":"x","a":1}}]}',
    ) as unknown;
    const result = validate(raw, { json: true });
    if (result.ok) {
      assert.ok(
        Object.hasOwn(result.definition.steps[0]!.with, '__proto__'),
        `PRODUCT BUG (registry/validate-definition.ts, zod record strips __proto__): accepted, but stored \`with\` as ${JSON.stringify(result.definition.steps[0]!.with)}, so vars.__proto__ silently never exists`,
      );
    } else {
      assert.ok(
        result.errors.some((error) => error.path.startsWith('steps[0].with')),
        JSON.stringify(result.errors),
      );
    }
  });

  it('answers a `with` value nested 5,000 deep with errors or a definition, not a stack overflow', () => {
    const depth = 5_000;
    const raw = JSON.parse(
      `{"id":"x","name":"x","on":[{"source":"a","type":"b"}],"steps":[{"id":"s","action":"flow.set","with":{"v":${'['.repeat(depth)}${']'.repeat(depth)}}}]}`,
    ) as unknown;
    let thrown: unknown;
    try {
      validateDefinition(raw, catalog);
    } catch (error) {
      thrown = error;
    }
    assert.ok(
      thrown === undefined,
      `PRODUCT BUG (common/expressions.ts walkStrings, via validateDefinition): a 10 KB definition nested ${depth} deep threw ${String(thrown)}, which the gateway answers with 500`,
    );
  });

  it(`accepts ${MAX_STEPS} steps and refuses ${MAX_STEPS + 1}, naming the limit`, () => {
    const definition = (count: number): unknown => ({
      id: 'x',
      name: 'x',
      on: [{ source: 'a', type: 'b' }],
      steps: Array.from({ length: count }, (_, index) => ({
        id: `s${index}`,
        action: 'flow.set',
        with: { n: index === 0 ? 0 : `\${{ steps.s${index - 1}.output }}` },
      })),
    });
    const atLimit = validate(definition(MAX_STEPS), { json: true });
    assert.ok(atLimit.ok, JSON.stringify(atLimit.ok ? [] : atLimit.errors.slice(0, 3)));
    assertRoundTrips(atLimit);
    const over = validate(definition(MAX_STEPS + 1), { json: true });
    assert.ok(
      !over.ok && over.errors.some((error) => error.path === 'steps' && /at most 200 steps/.test(error.message)),
    );
  });

  it(`answers a definition with thousands of steps (more than ${MAX_STEPS}) with the step limit alone`, () => {
    const count = 13_000;
    const steps = Array.from({ length: count }, (_, index) => ({
      id: `s${index}`,
      action: 'flow.set',
      with: { a: `\${{ steps.s${count - 1}.output }}` },
    }));
    const raw = JSON.parse(JSON.stringify({ id: 'x', name: 'x', on: [{ source: 'a', type: 'b' }], steps })) as unknown;
    const result = validateDefinition(raw, catalog);
    assert.equal(result.ok, false);
    // Checking each of 13,000 steps would block the gateway for seconds and bury the one error that matters.
    if (!result.ok) {
      assert.deepEqual(result.errors, [{ path: 'steps', message: `may have at most ${MAX_STEPS} steps` }]);
    }
  });

  /**
   * Parsing YAML is the step before validation on PUT. A deeply nested flow collection makes the YAML library overflow
   * the stack; that is reported as a syntax error, but the next deep document then kills the process. Isolated in a
   * child process, since it would otherwise end this test run.
   */
  it('survives two PUTs of deeply nested YAML in a row (isolated)', async function () {
    this.timeout(60_000);
    const formatModule = path.resolve(__dirname, '..', '..', 'registry', 'definition-format.ts');
    const outcome = await runIsolated(
      `
      const { parseDefinitionText, DefinitionSyntaxError } = require(${JSON.stringify(formatModule)});
      const text = '['.repeat(1000) + ']'.repeat(1000);
      const answers = [];
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          parseDefinitionText(text, 'yaml');
          answers.push('parsed');
        } catch (error) {
          answers.push(error instanceof DefinitionSyntaxError ? 'syntax error' : 'threw ' + error.name);
        }
      }
      console.log(JSON.stringify(answers));
      `,
      { timeoutMs: 20_000, heapMb: 512 },
    );
    assert.ok(
      outcome.exitCode === 0 && Array.isArray(outcome.result),
      `PRODUCT BUG (registry/definition-format.ts parseDefinitionText, yaml parseDocument): parsing '['.repeat(1000) + ']'.repeat(1000) twice ${describeOutcome(outcome)}`,
    );
    for (const answer of outcome.result as string[])
      assert.ok(answer === 'parsed' || answer === 'syntax error', answer);
  });
});
