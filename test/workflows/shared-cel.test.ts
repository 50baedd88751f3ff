import assert from 'node:assert/strict';
import request from 'supertest';
import { createExpressionEngine } from '../../common/expressions';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';

/**
 * The worker loads the CEL library once and shares it between all workflows (`flowBundleOptions.preloadModules`), so
 * a waiting run does not carry its own copy. The SDK freezes what it shares; these expressions exercise the library
 * broadly inside the sandbox, over several runs of one worker, and must give exactly what they give outside it.
 */
const EXPRESSIONS: Record<string, string> = {
  arithmetic: '${{ event.n * 3 + 7 - event.n / 2 }}',
  modulo: '${{ event.n % 4 }}',
  doubles: '${{ double(event.n) / 4.0 }}',
  strings: '${{ event.name + "-" + string(event.n) }}',
  sizes: '${{ [size(event.name), size(event.list), size(event.map)] }}',
  startsWith: '${{ event.name.startsWith("rel") && event.name.endsWith(string(event.n)) }}',
  contains: '${{ event.name.contains("ease") }}',
  lower: '${{ event.name.lowerAscii() }}',
  indexOf: '${{ event.name.indexOf("-") }}',
  split: '${{ event.csv.split(",") }}',
  join: '${{ event.list.map(x, string(x)).join("+") }}',
  map: '${{ event.list.map(x, x * x) }}',
  filter: '${{ event.list.filter(x, x % 2 == 0) }}',
  all: '${{ event.list.all(x, x > 0) }}',
  exists: '${{ event.list.exists(x, x == event.n) }}',
  existsOne: '${{ event.list.exists_one(x, x == 1) }}',
  has: '${{ [has(event.map.a), has(event.map.zzz)] }}',
  in: '${{ ["a" in event.map, event.n in event.list] }}',
  ternary: '${{ event.n > 2 ? "big" : "small" }}',
  nested: '${{ event.map.nested.deep[1] }}',
  mapKeys: '${{ event.map.map(k, k) }}',
  mapLiteral: '${{ {"n": event.n, "name": event.name} }}',
  listConcat: '${{ event.list + [event.n] }}',
  ints: '${{ [int("42"), int(event.n) * 2, int(double(event.n) * 1.5)] }}',
  uints: '${{ string(uint(7) + uint(event.n)) }}',
  types: '${{ [type(event.n) == int, type(event.name) == string, type(event.list) == list] }}',
  embedded: 'release ${{ event.name }} has ${{ size(event.list) }} items',
  timestamp: '${{ (timestamp("2026-11-27T10:00:00Z") + duration("90m")).getHours() }}',
  duration: '${{ duration("1h30m").getMinutes() }}',
  dyn: '${{ dyn(event.map).a }}',
};

describe('workflows: the shared CEL library inside the sandbox', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
    const put = await request(harness.app)
      .put('/api/definitions/cel-everything')
      .set('Authorization', harness.auth)
      .send({
        id: 'cel-everything',
        name: 'Evaluates many expressions',
        on: [{ source: 'cel', type: 'check' }],
        steps: [
          { id: 'first', action: 'flow.set', with: EXPRESSIONS },
          { id: 'again', if: 'event.list.exists(x, x == 1)', action: 'flow.set', with: { again: '${{ vars.map }}' } },
        ],
      });
    assert.equal(put.status, 201, JSON.stringify(put.body));
  });
  after(() => harness.stop());

  it('evaluates every expression as it does outside the sandbox, run after run', async function () {
    this.timeout(60_000);
    const bodies = [1, 2, 3, 4, 5].map((n) => ({
      n,
      name: `release-${n}`,
      csv: Array.from({ length: n }, (_, i) => `c${i}`).join(','),
      list: Array.from({ length: n + 1 }, (_, i) => i + 1),
      map: { a: n, b: 'x', nested: { deep: [n, n * 10] } },
    }));
    // Concurrently, so several workflows use the shared library in the same worker.
    const results = await Promise.all(
      bodies.map(async (body) => {
        const posted = await request(harness.app)
          .post('/events/cel/check')
          .set('Authorization', harness.auth)
          .send(body);
        assert.equal(posted.status, 202);
        const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
        const run = (await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).result()) as RunResult;
        return { body, run };
      }),
    );
    const engine = createExpressionEngine();
    for (const { body, run } of results) {
      const expected = engine.render(EXPRESSIONS, { event: body, steps: {}, vars: {}, run: {} }) as Record<
        string,
        unknown
      >;
      assert.equal(expected['duration'], 90, 'the expected values were computed');
      const { again, ...vars } = run.vars;
      assert.deepEqual(vars, expected, `run for n=${body.n}`);
      assert.deepEqual(again, expected['map']);
    }
  });
});
