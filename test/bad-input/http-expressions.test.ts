import assert from 'node:assert/strict';
import request from 'supertest';
import { runWorkflowId } from '../../common/run-types';
import { eventIdFor } from '../../intake';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';
import {
  assertNotStarted,
  assertOnlySentinelOnTaskQueue,
  assertProblem,
  assertPrototypesUnpolluted,
  dispatcherIdFor,
  postSentinelEvent,
  registryCounts,
  sendRaw,
  terminateAll,
  type ExpectedProblem,
} from './support';

/** Definitions saved before the plan cases, each bound to its own event type on this file's source. */
const SAVED: readonly { id: string; type: string; if?: string; with?: Record<string, unknown> }[] = [
  { id: 'reads-proto', type: 'proto', if: 'event.__proto__.polluted == true', with: { copy: '${{ event }}' } },
  { id: 'has-constructor', type: 'ctor', if: 'has(event.constructor)' },
  { id: 'reads-tostring', type: 'tostring', if: 'event.toString == "x"' },
  { id: 'done-only', type: 'to', if: 'event.to == "Done"', with: { issue: '${{ event.issue }}' } },
  { id: 'quadratic', type: 'blowup', if: 'event.list.exists(a, event.list.exists(b, b == 1))' },
  { id: 'fan-out', type: 'fanout', with: { grid: '${{ event.list.map(a, event.list.map(b, b)) }}' } },
];

/** What `/api/plan` must say about the one definition bound to the case's type. */
interface PlanCase {
  readonly name: string;
  readonly type: string;
  /** The event body, as raw JSON text (so `__proto__` stays an own key). */
  readonly body: string;
  readonly matched: boolean;
  /** For a skipped definition: the reason must match. */
  readonly reason?: RegExp;
  /** For a matched one: checks of the first step as the plan shows it. */
  readonly firstStep?: (firstStep: Record<string, unknown>, responseText: string) => void;
}

const zeros = (count: number): string => `[${Array.from({ length: count }, () => '0').join(',')}]`;

const planCases: PlanCase[] = [
  {
    name: 'event.__proto__ on a payload without that key does not reach Object.prototype',
    type: 'proto',
    body: '{"issue":"REL-1"}',
    matched: false,
    reason: /could not be evaluated: .*No such key: __proto__/,
  },
  {
    name: 'event.__proto__ reads only the payload\'s own "__proto__" data, which stays data',
    type: 'proto',
    body: '{"__proto__":{"polluted":true}}',
    matched: true,
    firstStep: (firstStep, text) => {
      assert.ok(text.includes('"copy":{"__proto__":{"polluted":true}}'), text);
      assert.equal(Object.getPrototypeOf(firstStep['input']), Object.prototype);
    },
  },
  {
    name: 'has(event.constructor) is false for a payload without it',
    type: 'ctor',
    body: '{"issue":"REL-1"}',
    matched: false,
    reason: /on\[0\]\.if "has\(event.constructor\)" is false/,
  },
  {
    name: 'has(event.constructor) is true for a payload that has the key',
    type: 'ctor',
    body: '{"constructor":{"name":"x"}}',
    matched: true,
  },
  {
    name: 'event.toString does not resolve to Object.prototype.toString',
    type: 'tostring',
    body: '{"issue":"REL-1"}',
    matched: false,
    reason: /could not be evaluated: .*No such key: toString/,
  },
  {
    name: 'an own "to" wins over a "__proto__" decoy',
    type: 'to',
    body: '{"to":"Done","issue":"REL-1","__proto__":{"to":"Evil","issue":"EVIL"}}',
    matched: true,
    firstStep: (firstStep) => assert.deepEqual(firstStep['input'], { issue: 'REL-1' }),
  },
  {
    name: 'a "to" that is only under "__proto__" does not match',
    type: 'to',
    body: '{"__proto__":{"to":"Done"},"issue":"REL-1"}',
    matched: false,
    reason: /could not be evaluated: .*No such key: to/,
  },
  {
    name: 'a "constructor" object in the payload does not change matching',
    type: 'to',
    body: '{"to":"Done","issue":"REL-1","constructor":{"name":"Evil"}}',
    matched: true,
    firstStep: (firstStep) => assert.deepEqual(firstStep['input'], { issue: 'REL-1' }),
  },
  {
    name: 'a "constructor" string in the payload does not change matching',
    type: 'to',
    body: '{"to":"Done","issue":"REL-1","constructor":"Object"}',
    matched: true,
    firstStep: (firstStep) => assert.deepEqual(firstStep['input'], { issue: 'REL-1' }),
  },
  {
    name: 'a nested "constructor.prototype" in the payload does not change matching',
    type: 'to',
    body: '{"to":"Done","issue":"REL-1","meta":{"constructor":{"prototype":{"polluted":true}}}}',
    matched: true,
    firstStep: (firstStep) => assert.deepEqual(firstStep['input'], { issue: 'REL-1' }),
  },
  {
    name: 'toString, valueOf and hasOwnProperty keys in the payload do not change matching',
    type: 'to',
    body: '{"to":"Done","issue":"REL-1","toString":"x","valueOf":1,"hasOwnProperty":null}',
    matched: true,
    firstStep: (firstStep) => assert.deepEqual(firstStep['input'], { issue: 'REL-1' }),
  },
  {
    name: 'a nested comprehension over a 4,000-element list is cut off instead of running for seconds',
    type: 'blowup',
    body: `{"list":${zeros(4_000)}}`,
    matched: false,
    reason: /limit|exceed|too (many|large|long|expensive)/i,
  },
  {
    name: 'a nested map over a 1,000-element list does not render a million-entry step input',
    type: 'fanout',
    body: `{"list":${zeros(1_000)}}`,
    matched: true,
    firstStep: (firstStep, text) => {
      assert.ok(
        firstStep['input'] === undefined,
        `the plan rendered the whole input instead of refusing it: a ${text.length}-byte response`,
      );
      assert.match(String(firstStep['error']), /limit|exceed|too (many|large|long|big)/i);
    },
  },
];

/** One expression that the definition API must refuse with 422. */
interface RefusedExpression {
  readonly name: string;
  /** Where the expression goes: a step input template or the binding condition. */
  readonly at: 'with' | 'if';
  readonly expression: string;
  readonly message: RegExp;
}

const refused: RefusedExpression[] = [
  {
    name: 'a Function-constructor escape through __proto__.constructor.constructor',
    at: 'with',
    expression: 'event.__proto__.constructor.constructor("return process")()',
    message: /cannot parse .*Unexpected character: '\('/,
  },
  { name: 'this.constructor', at: 'with', expression: 'this.constructor', message: /Unknown variable: this/ },
  {
    name: 'globalThis.process.env',
    at: 'with',
    expression: 'globalThis.process.env',
    message: /Unknown variable: globalThis/,
  },
  {
    name: 'process.mainModule.require',
    at: 'if',
    expression: 'process.mainModule.require("child_process") != null',
    message: /Unknown variable: process/,
  },
  {
    name: 'require("child_process")',
    at: 'with',
    expression: 'require("child_process").execSync("id")',
    message: /found no matching overload for 'require\(string\)'/,
  },
  { name: 'Object.prototype', at: 'if', expression: 'Object.prototype == null', message: /Unknown variable: Object/ },
  { name: 'a bare __proto__', at: 'if', expression: '__proto__ == null', message: /Reserved identifier: __proto__/ },
  { name: 'a bare prototype', at: 'if', expression: 'prototype == null', message: /Reserved identifier: prototype/ },
  {
    name: 'calling event.toString()',
    at: 'with',
    expression: 'event.toString()',
    message: /^(?!.*native code).*(no matching overload|unknown function|not allowed)/,
  },
  {
    name: 'calling event.hasOwnProperty("to")',
    at: 'if',
    expression: 'event.hasOwnProperty("to")',
    message: /^(?!.*native code).*(no matching overload|unknown function|not allowed)/,
  },
  {
    name: 'calling event.__defineGetter__',
    at: 'with',
    expression: 'event.__defineGetter__("to", event)',
    message: /^(?!.*native code).*(no matching overload|unknown function|not allowed)/,
  },
  {
    name: 'comprehensions nested three deep',
    at: 'with',
    expression: 'event.list.map(a, event.list.map(b, event.list.map(c, c)))',
    message: /comprehensions \(map, filter, all, exists\) may be nested at most 2 deep/,
  },
  {
    name: 'mixed exists/all comprehensions nested three deep',
    at: 'if',
    expression: 'event.list.exists(a, event.list.all(b, event.list.exists(c, c == a + b)))',
    message: /may be nested at most 2 deep/,
  },
  {
    name: 'a catastrophic regular expression',
    at: 'with',
    expression: 'event.issue.matches("^(a|aa)+$")',
    message: /matches\(\) is not allowed: a regular expression can backtrack for hours/,
  },
  {
    name: 'a list literal of 201 elements',
    at: 'with',
    expression: `[${Array.from({ length: 201 }, (_, i) => String(i)).join(',')}]`,
    message: /Exceeded maxListElements \(200\)/,
  },
  {
    name: 'a map literal of 201 entries',
    at: 'with',
    expression: `{${Array.from({ length: 201 }, (_, i) => `${i}:${i}`).join(',')}}`,
    message: /Exceeded maxMapEntries \(200\)/,
  },
  {
    name: 'an expression of more than 500 nodes',
    at: 'with',
    expression: `${'1+'.repeat(400)}1`,
    message: /Exceeded maxAstNodes \(500\)/,
  },
  {
    name: 'parentheses nested 40 deep',
    at: 'if',
    expression: `${'('.repeat(40)}true${')'.repeat(40)}`,
    message: /Exceeded maxDepth \(32\)/,
  },
  {
    name: 'an expression longer than 2,000 characters',
    at: 'if',
    expression: `event.issue == "${'x'.repeat(2_000)}"`,
    message: /expression is longer than 2000 characters/,
  },
];

/** A crafted request to `POST /api/plan/:source/:type`. */
interface PlanProblemCase extends ExpectedProblem {
  readonly name: string;
  readonly path?: (source: string) => string;
  readonly source?: string;
  readonly contentType?: string;
  readonly body: string | Buffer;
  readonly auth?: boolean;
}

const ONE_MIB = 1024 * 1024;
const planProblems: PlanProblemCase[] = [
  {
    name: 'a source with punctuation',
    source: 'Jira!',
    body: '{}',
    status: 400,
    detail: /event source "Jira!" is not valid: use 1-64 lowercase letters/,
  },
  {
    name: 'the type "__proto__"',
    path: (source) => `/api/plan/${source}/__proto__`,
    body: '{}',
    status: 400,
    detail: /event type "__proto__" is not valid: use 1-64 lowercase letters/,
  },
  { name: 'invalid JSON', body: '{"to": "Done",}', status: 400, detail: /not valid JSON: .*position 14/ },
  {
    name: 'text/plain',
    contentType: 'text/plain',
    body: '{"to": "Done"}',
    status: 415,
    detail: /Content-Type: application\/json \(got text\/plain\)/,
  },
  {
    name: 'a body nested 65 levels deep',
    body: `{"to":${'{"a":'.repeat(64)}1${'}'.repeat(64)}}`,
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a body nested 100,000 levels deep',
    body: `{"list":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a body of 1 MiB plus one byte',
    body: `{"list":"${'x'.repeat(ONE_MIB + 1 - 11)}"}`,
    status: 413,
    detail: /larger than the limit of 1 MB/,
  },
  { name: 'a JSON array', body: '[{"to": "Done"}]', status: 400, detail: /must be a JSON object/ },
  {
    name: 'invalid UTF-8',
    body: Buffer.concat([Buffer.from('{"to":"Done","issue":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    status: 400,
    detail: /UTF-8/,
  },
  { name: 'an empty body', body: '', status: 400, detail: /empty|must be a JSON object|not valid JSON/ },
  { name: 'no token', auth: false, body: '{}', status: 401, detail: /needs `Authorization: Bearer <token>`/ },
  {
    name: 'a path without a type',
    path: (source) => `/api/plan/${source}`,
    body: '{}',
    status: 404,
    detail: /No route for POST \/api\/plan\//,
  },
];

describe('bad input: expressions, in definitions and in /api/plan', () => {
  let harness: Harness;
  const source = uniqueName('expr');
  before(async () => {
    harness = await startHarness({ worker: false });
    for (const saved of SAVED) {
      const res = await request(harness.app)
        .put(`/api/definitions/${saved.id}`)
        .set('Authorization', harness.auth)
        .send({
          id: saved.id,
          name: saved.id,
          on: [{ source, type: saved.type, ...(saved.if === undefined ? {} : { if: saved.if }) }],
          steps: [{ id: 'first', action: 'flow.set', with: saved.with ?? { seen: true } }],
        });
      assert.equal(res.status, 201, `${saved.id}: ${res.text}`);
    }
  });
  after(async () => {
    if (!harness) return;
    await terminateAll(harness);
    await harness.stop();
  });

  describe('expressions that try prototype access, escape the sandbox or never terminate are refused on save (422)', () => {
    for (const c of refused) {
      it(`refuses ${c.name} in ${c.at === 'if' ? 'a binding condition' : 'a step input'}, storing nothing`, async () => {
        const id = uniqueName('bad-expr');
        const before = await registryCounts(harness.db);
        const res = await request(harness.app)
          .put(`/api/definitions/${id}`)
          .set('Authorization', harness.auth)
          .send({
            id,
            name: 'Bad expression',
            on: [{ source, type: 'refused', ...(c.at === 'if' ? { if: c.expression } : {}) }],
            steps: [{ id: 'first', action: 'flow.set', with: c.at === 'with' ? { x: `\${{ ${c.expression} }}` } : {} }],
          });
        const path = c.at === 'if' ? 'on[0].if' : 'steps[0].with.x';
        assertProblem(res, {
          status: 422,
          detail: new RegExp(
            `^The definition was not saved: 1 error, the first at ${path.replace(/[[\].]/g, '\\$&')}: `,
          ),
          errors: [{ path, message: c.message }],
        });
        assert.deepEqual(await registryCounts(harness.db), before);
        assert.equal(
          (await request(harness.app).get(`/api/definitions/${id}`).set('Authorization', harness.auth)).status,
          404,
        );
      });
    }
  });

  describe("expressions over hostile payloads evaluate safely in /api/plan (the dispatcher's matching code)", () => {
    for (const c of planCases) {
      it(c.name, async () => {
        const key = uniqueName('bad-plan');
        const res = await sendRaw(
          request(harness.app)
            .post(`/api/plan/${source}/${c.type}`)
            .set('Authorization', harness.auth)
            .set('Idempotency-Key', key)
            .set('Content-Type', 'application/json'),
          c.body,
        );
        assert.equal(res.status, 200, res.text.slice(0, 600));
        const definition = SAVED.find((saved) => saved.type === c.type)!.id;
        const matched = res.body.matched as { definition: string; firstStep: Record<string, unknown> }[];
        const skipped = res.body.skipped as { definition: string; reason: string }[];
        if (c.matched) {
          assert.deepEqual(
            matched.map((m) => m.definition),
            [definition],
            `expected ${definition} to match: ${JSON.stringify(skipped)}`,
          );
          c.firstStep?.(matched[0]!.firstStep, res.text);
        } else {
          assert.deepEqual(matched, [], `expected ${definition} to be skipped`);
          assert.equal(skipped.length, 1);
          assert.match(skipped[0]!.reason, c.reason!);
        }
        assertPrototypesUnpolluted();
        const eventId = eventIdFor(source, key);
        await assertNotStarted(harness, [dispatcherIdFor(source, key), runWorkflowId(definition, eventId)]);
      });
    }
  });

  describe('bad requests to /api/plan are refused with problem+json', () => {
    for (const c of planProblems) {
      it(`refuses ${c.name} (${c.status})`, async () => {
        const planSource = c.source ?? source;
        const key = uniqueName('bad-plan');
        let pending = request(harness.app)
          .post(c.path ? c.path(planSource) : `/api/plan/${planSource}/to`)
          .set('Idempotency-Key', key)
          .set('Content-Type', c.contentType ?? 'application/json');
        if (c.auth !== false) pending = pending.set('Authorization', harness.auth);
        const res = await sendRaw(pending, c.body);
        assertProblem(res, c);
        await assertNotStarted(harness, [dispatcherIdFor(planSource, key)]);
      });
    }
  });

  // A suite of its own so that it runs after the suites above (mocha runs a suite's own tests before its children).
  describe('afterwards', () => {
    it('started no workflow at all: only the sentinel is on the task queue, and no prototype was polluted', async () => {
      const sentinel = await postSentinelEvent(harness);
      await assertOnlySentinelOnTaskQueue(harness, sentinel);
      assertPrototypesUnpolluted();
    });
  });
});
