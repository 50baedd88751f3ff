import assert from 'node:assert/strict';
import {
  createExpressionEngine,
  ExpressionError,
  findTemplateExpressions,
  type ExpressionContext,
} from '../../common/expressions';

const context: ExpressionContext = {
  event: { issue: 'REL-7', to: 'Start Release', number: 41, ratio: 0.5, labels: ['a', 'b'], nested: { deep: true } },
  steps: { version: { output: { body: { fixVersion: '2.4.0' }, status: 200 } } },
  vars: { version: '2.4.0' },
  run: { eventId: 'jira-1', definition: 'start-release', revision: 3 },
};

describe('common: expressions', () => {
  const engine = createExpressionEngine();

  it('keeps the JSON type of a string that is exactly one expression', () => {
    assert.equal(engine.render('${{ event.number + 1 }}', context), 42);
    assert.equal(engine.render('${{ event.to == "Start Release" }}', context), true);
    assert.deepEqual(engine.render('${{ event.labels }}', context), ['a', 'b']);
    assert.deepEqual(engine.render('${{ event.nested }}', context), { deep: true });
    assert.equal(engine.render('${{ event.ratio }}', context), 0.5);
  });

  it('names every variable an expression reads, with the fixed part of its path', () => {
    const reads = (expression: string): string[] =>
      engine.check(expression).reads.map((read) => [read.root, ...read.path].join('/'));
    assert.deepEqual(reads('event.issue.key'), ['event/issue/key']);
    assert.deepEqual(reads('has(event.a.b) ? event["x-y"][0] : vars.fallback'), [
      'event/a/b',
      'event/x-y/0',
      'vars/fallback',
    ]);
    assert.deepEqual(reads('vars[event.k]'), ['vars', 'event/k']);
    assert.deepEqual(reads('steps.changelog.output.authors.map(a, a.email)'), ['steps/changelog/output/authors']);
    assert.deepEqual(reads('run.eventId + string(size(event))'), ['run/eventId', 'event']);
    assert.deepEqual(reads('1 + 2'), []);
    assert.deepEqual(engine.check('event.to ==').reads, []);
  });

  it('interpolates expressions embedded in a longer string', () => {
    assert.equal(
      engine.render('Release ${{ vars.version }} for ${{ event.issue }} (#${{ event.number }})', context),
      'Release 2.4.0 for REL-7 (#41)',
    );
    assert.equal(engine.render('labels: ${{ event.labels }}', context), 'labels: ["a","b"]');
  });

  it('renders templates deeply and leaves static values alone', () => {
    assert.deepEqual(
      engine.render(
        {
          url: 'https://x/${{ event.issue }}',
          json: { v: '${{ steps.version.output.body.fixVersion }}', n: 3, list: ['${{ run.revision }}'] },
        },
        context,
      ),
      { url: 'https://x/REL-7', json: { v: '2.4.0', n: 3, list: [3] } },
    );
  });

  it('converts CEL integers back to plain numbers, and huge ones to strings', () => {
    assert.equal(engine.evaluate('size(event.labels)', context), 2);
    assert.equal(engine.evaluate('9223372036854775807', context), '9223372036854775807');
  });

  it('refuses conditions that are not booleans instead of treating them as false', () => {
    assert.throws(
      () => engine.evaluateCondition('event.issue', context),
      /must be true or false, but it gave the string "REL-7"/,
    );
  });

  it('reports a missing field as an error naming the expression', () => {
    assert.throws(
      () => engine.evaluate('vars.missing', context),
      (error: unknown) =>
        error instanceof ExpressionError && /"vars.missing" failed: No such key: missing/.test(error.message),
    );
    assert.equal(engine.evaluate('has(vars.missing)', context), false);
  });

  it('gives no access to JavaScript prototypes', () => {
    assert.throws(() => engine.evaluate('event.__proto__', context), /No such key: __proto__/);
    assert.throws(() => engine.evaluate('event.constructor', context), /No such key: constructor/);
    const rendered = engine.render({ ['__proto__']: { polluted: true } }, context) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(rendered), Object.prototype);
  });

  it('rejects matches() and deep comprehension nesting, which could run for a very long time', () => {
    assert.match(engine.check('"aaaa".matches("(a+)+$")').error ?? '', /matches\(\) is not allowed/);
    assert.match(
      engine.check('event.labels.all(a, event.labels.all(b, event.labels.all(c, true)))').error ?? '',
      /nested at most 2 deep/,
    );
    assert.equal(engine.check('event.labels.all(a, event.labels.exists(b, a == b))').error, undefined);
  });

  it('bounds the work of comprehensions by the size of the data they could iterate', () => {
    const withEvent = (event: unknown): ExpressionContext => ({ ...context, event });
    // Small data: nested comprehensions work as usual.
    const commits = { commits: [{ tickets: ['REL-1', 'REL-2'] }, { tickets: ['REL-3'] }] };
    assert.equal(
      engine.evaluate('event.commits.exists(c, c.tickets.exists(t, t == "REL-3"))', withEvent(commits)),
      true,
    );
    // Nested over 2,000 entries would be 4,000,000 iterations.
    const list = Array.from({ length: 2_000 }, () => 0);
    assert.throws(
      () => engine.evaluate('event.list.exists(a, event.list.exists(b, b == 1))', withEvent({ list })),
      (error: unknown) =>
        error instanceof ExpressionError && /4000000 iterations, above the limit of 1000000/.test(error.message),
    );
    // One level over 2,000 entries is fine, unless it may work on very long strings each time.
    assert.equal(engine.evaluate('event.list.exists(a, a == 1)', withEvent({ list })), false);
    const big = 'x'.repeat(200_000);
    assert.throws(
      () => engine.evaluate('event.list.map(a, event.big + "!")', withEvent({ list, big })),
      (error: unknown) => error instanceof ExpressionError && /strings of up to 200000 characters/.test(error.message),
    );
  });

  it('refuses to render a value larger than 1 MB', () => {
    const chunk = 'y'.repeat(100_000);
    const list = Array.from({ length: 20 }, () => 0);
    assert.throws(
      () => engine.render({ text: '${{ event.list.map(a, event.chunk) }}' }, { ...context, event: { list, chunk } }),
      (error: unknown) => error instanceof ExpressionError && /larger than the limit of 1 MB/.test(error.message),
    );
  });

  it('refuses values JSON cannot hold with a conversion the engine really has', () => {
    const engine = createExpressionEngine();
    const cases: [string, RegExp, string, unknown][] = [
      ['timestamp("2026-11-27T10:00:00Z")', /gives a timestamp.*\.getFullYear\(\)/, '.getFullYear()', 2026],
      ['duration("90m")', /gives a duration.*\.getSeconds\(\)/, '.getSeconds()', 5400],
      ['uint(7)', /gives an unsigned int.*string\(\)/, 'string(X)', '7'],
      ['type(1)', /gives a type.*type\(x\) == string/, 'X == int', true],
    ];
    for (const [expression, message, conversion, expected] of cases) {
      assert.throws(
        () => engine.evaluate(expression, context),
        (error: unknown) => error instanceof ExpressionError && message.test(error.message),
        expression,
      );
      // The suggested conversion works on the same value.
      const converted = conversion.includes('X') ? conversion.replace('X', expression) : `${expression}${conversion}`;
      assert.deepEqual(engine.evaluate(converted, context), expected, converted);
    }
  });

  it('refuses NaN and infinities wherever they are in a result, and the suggested guard works', () => {
    const engine = createExpressionEngine();
    const ratio = { ...context, event: { passed: 3, total: 0 } };
    const cases: [string, RegExp][] = [
      ['${{ double(event.passed) / double(event.total) }}', /gives Infinity, which JSON cannot hold/],
      ['${{ -1.0 / 0.0 }}', /gives -Infinity/],
      ['${{ 0.0 / 0.0 }}', /gives NaN/],
      ['${{ [1.0, 1.0 / 0.0] }}', /gives Infinity/],
      ['${{ {"ratio": double(event.passed) / double(event.total)} }}', /gives Infinity/],
      ['ratio ${{ double(event.passed) / double(event.total) }}', /gives Infinity/],
    ];
    for (const [template, message] of cases) {
      assert.throws(
        () => engine.render({ json: template }, ratio),
        (error: unknown) => error instanceof ExpressionError && message.test(error.message),
        template,
      );
    }
    const guarded = 'event.total > 0 ? double(event.passed) / double(event.total) : 0.0';
    assert.equal(engine.evaluate(guarded, ratio), 0);
    assert.equal(engine.evaluate(guarded, { ...context, event: { passed: 3, total: 4 } }), 0.75);
  });

  it('keeps the old null for NaN and infinities when told to, and asks only when one occurs', () => {
    let asked = 0;
    const engine = createExpressionEngine({
      refuseNonFinite: () => {
        asked += 1;
        return false;
      },
    });
    assert.equal(engine.evaluate('1.5 * 2.0', context), 3);
    assert.equal(asked, 0, 'a finite result does not ask');
    const rendered = engine.render({ ratio: '${{ 1.0 / 0.0 }}' }, context);
    assert.equal(asked, 1);
    assert.equal(JSON.stringify(rendered), '{"ratio":null}');
  });

  it('reads payload keys named like JavaScript internals as plain data', () => {
    const event = JSON.parse(
      '{"to":"Done","constructor":{"name":"Evil"},"__proto__":{"x":1},"toString":"s"}',
    ) as unknown;
    const hostile = { ...context, event };
    assert.equal(engine.evaluateCondition('event.to == "Done"', hostile), true);
    assert.equal(engine.evaluate('event.constructor.name', hostile), 'Evil');
    assert.equal(engine.evaluate('event.toString', hostile), 's');
    assert.deepEqual(engine.render('${{ event }}', hostile), event);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  it('converts a context once for all the expressions that read it', () => {
    let reads = 0;
    const counted: ExpressionContext = {
      get event() {
        reads += 1;
        return { issue: 'REL-7', number: 41 };
      },
      steps: {},
      vars: { version: '2.4.0' },
      run: {},
    };
    const rendered = engine.render(
      { a: '${{ event.issue }}', b: 'v${{ vars.version }}', c: '${{ event.number + 1 }}' },
      counted,
    );
    assert.deepEqual(rendered, { a: 'REL-7', b: 'v2.4.0', c: 42 });
    assert.equal(engine.evaluateCondition('event.number == 41', counted), true);
    assert.equal(reads, 1);
  });

  it('reports parse errors, unknown variables and the steps an expression reads', () => {
    assert.match(engine.check('event.to ==').error ?? '', /cannot parse "event.to =="/);
    assert.match(engine.check('evnt.to == "x"').error ?? '', /is invalid/);
    assert.deepEqual(engine.check('steps.version.output.status == 200 && steps["notify"].output != null').steps, [
      'version',
      'notify',
    ]);
    assert.match(engine.check('x'.repeat(2_001)).error ?? '', /longer than 2000 characters/);
  });

  it('finds every template expression with its path', () => {
    assert.deepEqual(
      findTemplateExpressions(
        { url: 'a${{ event.x }}b${{ vars.y }}', json: { 'odd key': ['${{ run.eventId }}'] } },
        'with',
      ),
      [
        { path: 'with.url', expression: 'event.x' },
        { path: 'with.url', expression: 'vars.y' },
        { path: 'with.json["odd key"][0]', expression: 'run.eventId' },
      ],
    );
  });
});
