import assert from 'node:assert/strict';
import { describeWhere, fieldAt, planWaits, whereMatches, whereProblem } from '../../common/event-waits';
import { createExpressionEngine } from '../../common/expressions';

describe('common: matching events to waits', () => {
  const body = {
    status: 'SUCCESS',
    number: 12,
    ok: true,
    parameters: { RELEASE_TICKET: 'REL-7' },
    artifacts: [{ name: 'app.jar' }],
    nested: { list: [1, 2] },
    nothing: null,
  };

  it('reads dotted paths through objects and list indexes, and only strings, numbers and booleans', () => {
    assert.equal(fieldAt(body, 'parameters.RELEASE_TICKET'), 'REL-7');
    assert.equal(fieldAt(body, 'artifacts.0.name'), 'app.jar');
    assert.equal(fieldAt(body, 'number'), 12);
    assert.equal(fieldAt(body, 'ok'), true);
    for (const path of ['parameters', 'nested.list', 'nothing', 'missing', 'artifacts.1.name', 'status.length'])
      assert.equal(fieldAt(body, path), undefined, path);
    assert.equal(fieldAt(JSON.parse('{"__proto__": {"x": "y"}}'), '__proto__.x'), 'y', 'keys are data');
    assert.equal(fieldAt({}, 'constructor'), undefined, 'inherited properties are not fields');
  });

  it('compares where with JSON equality: "12" is not 12', () => {
    assert.ok(whereMatches({ 'parameters.RELEASE_TICKET': 'REL-7', number: 12 }, body));
    assert.ok(!whereMatches({ number: '12' }, body));
    assert.ok(!whereMatches({ ok: 'true' }, body));
    assert.ok(whereMatches({}, body), 'an empty where matches every event');
  });

  it('delivers to the waits whose if holds, and says why it skipped the others', () => {
    const engine = createExpressionEngine();
    const where = { 'parameters.RELEASE_TICKET': 'REL-7' };
    const plan = planWaits(engine, body, [
      { workflowId: 'a', stepId: 'build', where },
      { workflowId: 'b', stepId: 'build', where, if: 'event.status == "SUCCESS" && event.number > 10' },
      { workflowId: 'c', stepId: 'build', where, if: 'event.status == "FAILURE"' },
      { workflowId: 'd', stepId: 'build', where, if: 'event.missing == 1' },
      { workflowId: 'e', stepId: 'build', where: { number: 13 } },
    ]);
    assert.deepEqual(plan.delivered, [
      { workflowId: 'a', stepId: 'build' },
      { workflowId: 'b', stepId: 'build' },
    ]);
    assert.deepEqual(
      plan.skipped.map((skip) => skip.workflowId),
      ['c', 'd', 'e'],
    );
    const [falseIf, failedIf, otherWhere] = plan.skipped.map((skip) => skip.reason);
    assert.equal(falseIf, 'if "event.status == \\"FAILURE\\"" is false');
    assert.match(failedIf!, /^if could not be evaluated: .*missing/);
    assert.equal(otherWhere, 'where does not match the event');
  });

  it('refuses where with too many fields, paths that are not paths, and values that are not scalars', () => {
    assert.equal(whereProblem({ a: 'x', 'b.c': 1, d: false }), undefined);
    assert.match(whereProblem(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, i])))!, /at most 10/);
    assert.match(whereProblem({ 'a..b': 'x' })!, /is not a field path/);
    assert.match(whereProblem({ a: [1] })!, /a must be a string, a number or a boolean, not a list/);
    assert.match(whereProblem({ a: Number.NaN })!, /not number/);
    assert.match(whereProblem({ a: 'x'.repeat(501) })!, /at most 500/);
  });

  it('describes where as the run details show it', () => {
    assert.equal(
      describeWhere({ 'parameters.RELEASE_TICKET': 'REL-7', number: 12 }),
      'parameters.RELEASE_TICKET = "REL-7" and number = 12',
    );
  });
});
