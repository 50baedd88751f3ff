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
