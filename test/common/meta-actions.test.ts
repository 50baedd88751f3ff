import fc from 'fast-check';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { actions, defineMetaAction, type AnyAction } from '../../activities';
import { actionsById, META_ACTION_INPUTS_FILE, metaActionInputs } from '../../activities';
import { UnknownMetaActionError } from '../../activities/define-action';
import { checkInput, inputSchema, UnsupportedSchemaError } from '../../common/input-schema';
import type { WaitedEvent } from '../../common/event-waits';
import {
  META_ACTIONS,
  MetaActionError,
  MetaActionFailure,
  type EventWait,
  nextVersion,
  runMetaAction,
  type MetaContext,
  type MetaOutcome,
} from '../../common/meta-actions';
import { projectRoot } from '../../config';

const metaDeclarations = actions.filter((action) => action.kind === 'meta');

/** A context that records what a meta-action asked of the workflow instead of waiting. */
function fakeContext(
  delivered?: WaitedEvent,
): MetaContext & { slept: number[]; details: string[]; waits: EventWait[] } {
  const slept: number[] = [];
  const details: string[] = [];
  const waits: EventWait[] = [];
  return {
    slept,
    details,
    waits,
    awaitEvent: async (wait) => {
      waits.push(wait);
      return delivered;
    },
    awaitApproval: () => Promise.reject(new Error('this test opens no approval')),
    sleep: async (ms) => {
      slept.push(ms);
    },
    now: () => new Date('2026-01-02T03:04:05.000Z'),
    progress: (detail) => details.push(detail),
  };
}

/** Runs a meta-action to its outcome; a refused input throws synchronously, as the interpreter relies on. */
function run(action: keyof typeof META_ACTIONS, input: unknown, context = fakeContext()): Promise<MetaOutcome> {
  return Promise.resolve(runMetaAction(action, input, context));
}

describe('common: meta-actions', () => {
  it('computes the next semantic version for every bump', () => {
    const cases: [string, Parameters<typeof nextVersion>[1], string][] = [
      ['1.2.3', 'patch', '1.2.4'],
      ['1.2.3', 'minor', '1.3.0'],
      ['1.2.3', 'major', '2.0.0'],
      ['v1.2.3', 'patch', '1.2.4'],
      ['1.2.3', 'prerelease', '1.2.4-rc.0'],
      ['1.2.4-rc.0', 'prerelease', '1.2.4-rc.1'],
      ['1.2.4-rc.1', 'patch', '1.2.4'],
      ['1.3.0-rc.2', 'minor', '1.3.0'],
      ['2.0.0-rc.1', 'major', '2.0.0'],
      ['1.2.4-beta.3', 'prerelease', '1.2.4-rc.0'],
    ];
    for (const [version, bump, expected] of cases)
      assert.equal(nextVersion(version, bump), expected, `${version} ${bump}`);
    assert.equal(nextVersion('1.2.3', 'prerelease', 'beta'), '1.2.4-beta.0');
  });

  it('refuses, synchronously, input that does not fit the schema or cannot be computed with, saying where', () => {
    const refusals: [keyof typeof META_ACTIONS, unknown, RegExp][] = [
      ['version.next', { version: '1.2' }, /"1.2" is not a semantic version/],
      [
        'version.next',
        { version: '1.0.0', bump: 'huge' },
        /with\.bump must be one of "major", "minor", "patch", "prerelease"/,
      ],
      ['version.next', { version: '1.0.0', bump: 'prerelease', preid: 'r.c' }, /with\.preid must match/],
      ['version.next', { version: 3 }, /with\.version must be a string, not a number/],
      ['version.next', { bump: 'minor' }, /with\.version is required/],
      ['flow.sleep', { duration: 'soon' }, /with\.duration must match .* \(got "soon"\)/],
      ['flow.sleep', { duration: '100d' }, /flow\.sleep waits at most 90d; "100d" is longer/],
      ['flow.sleep', { duration: '1h', extra: 1 }, /with\.extra is not an input of this action/],
      ['flow.set', { '1x': 1 }, /with\.1x is not an allowed name/],
      ['flow.wait_for_event', { type: 'build_finished' }, /with\.source is required/],
      ['flow.wait_for_event', { source: 'jenkins', type: 'x', timeout: '91d' }, /waits at most 90d; timeout "91d"/],
      ['flow.wait_for_event', { source: 'jenkins', type: 'x', on_timeout: 'retry' }, /with\.on_timeout must be one of/],
      [
        'flow.wait_for_event',
        { source: 'jenkins', type: 'x', where: { 'a b': 1 } },
        /with\.where\.a b is not an allowed name/,
      ],
      [
        'flow.wait_for_event',
        { source: 'jenkins', type: 'x', where: { a: { b: 1 } } },
        /with\.where a must be a string, a number or a boolean, not object/,
      ],
      ['flow.wait_for_event', { source: 'jenkins', type: 'x', where: { a: null } }, /not null/],
      [
        'flow.wait_for_event',
        { source: 'jenkins', type: 'x', where: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, i])) },
        /compares 11 fields; at most 10/,
      ],
    ];
    for (const [action, input, message] of refusals) {
      const context = fakeContext();
      assert.throws(
        () => runMetaAction(action, input, context),
        (e: unknown) => e instanceof MetaActionError && message.test(e.message),
        `${action} ${JSON.stringify(input)}`,
      );
      assert.deepEqual(context.slept, [], 'a refused sleep sets no timer');
    }
  });

  it('returns version.next with its defaults, flow.set as output and vars, and flow.sleep after one timer', async () => {
    assert.deepEqual(await run('version.next', { version: ' v3.9.9', bump: 'minor' }), {
      output: { previous: '3.9.9', version: '3.10.0' },
    });
    assert.deepEqual(await run('version.next', { version: '1.2.3', bump: 'prerelease' }), {
      output: { previous: '1.2.3', version: '1.2.4-rc.0' },
    });
    assert.deepEqual(await run('flow.set', { a: 1, b: { c: [2] } }), {
      output: { a: 1, b: { c: [2] } },
      vars: { a: 1, b: { c: [2] } },
    });
    const context = fakeContext();
    assert.deepEqual(await run('flow.sleep', { duration: '90m' }, context), {
      output: { duration: '90m', woke_at: '2026-01-02T03:04:05.000Z' },
    });
    assert.deepEqual(context.slept, [90 * 60_000]);
    assert.deepEqual(context.details, ['sleeping 90m']);
  });

  it('waits for an event with its rendered where until the timeout, and returns the event it got', async () => {
    const event: WaitedEvent = {
      id: 'jenkins-9',
      source: 'jenkins',
      type: 'build_finished',
      body: { status: 'SUCCESS' },
    };
    const context = fakeContext(event);
    const input = {
      source: 'jenkins',
      type: 'build_finished',
      where: { 'parameters.RELEASE_TICKET': 'REL-7', number: 12 },
      if: 'event.status == "SUCCESS"',
      timeout: '12h',
    };
    assert.deepEqual(await run('flow.wait_for_event', input, context), {
      output: {
        timed_out: false,
        id: 'jenkins-9',
        source: 'jenkins',
        type: 'build_finished',
        body: { status: 'SUCCESS' },
      },
    });
    const until = new Date('2026-01-02T15:04:05.000Z');
    assert.deepEqual(context.waits, [
      { source: 'jenkins', type: 'build_finished', where: input.where, if: input.if, until },
    ]);
    assert.deepEqual(context.details, [
      'Waiting for jenkins/build_finished (where parameters.RELEASE_TICKET = "REL-7" and number = 12) until 2026-01-02T15:04:05.000Z',
    ]);
  });

  it('times out after 24h by default: fails with WaitForEventTimedOut, or says timed_out with on_timeout: continue', async () => {
    const failing = fakeContext();
    await assert.rejects(
      run('flow.wait_for_event', { source: 'jira', type: 'approved' }, failing),
      (e: unknown) =>
        e instanceof MetaActionFailure &&
        e.type === 'WaitForEventTimedOut' &&
        /no jira\/approved event came within 24h/.test(e.message),
    );
    assert.equal(failing.waits[0]?.until.toISOString(), '2026-01-03T03:04:05.000Z');
    assert.deepEqual(failing.details, ['Waiting for jira/approved until 2026-01-03T03:04:05.000Z']);
    assert.deepEqual(await run('flow.wait_for_event', { source: 'jira', type: 'approved', on_timeout: 'continue' }), {
      output: { timed_out: true },
    });
  });

  it('keeps a flow.set variable named __proto__ as a plain variable', async () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const { vars } = await run('flow.set', input);
    assert.ok(vars && Object.hasOwn(vars, '__proto__'));
    assert.equal(Object.getPrototypeOf(vars), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it("has exactly the catalog's kind: 'meta' entries in the table the interpreter dispatches through", () => {
    assert.deepEqual(Object.keys(META_ACTIONS).sort(), metaDeclarations.map((action) => action.id).sort());
  });

  it('checks steps against input schemas generated from the declarations (run `npm run docs` after changing one)', () => {
    const onDisk: unknown = JSON.parse(fs.readFileSync(path.join(projectRoot, META_ACTION_INPUTS_FILE), 'utf8'));
    assert.deepEqual(onDisk, metaActionInputs(actions), `${META_ACTION_INPUTS_FILE} is stale: run npm run docs`);
  });

  it('accepts at run time exactly what the zod schema accepts on save, with the same defaults', () => {
    const names = fc.constantFrom(
      'duration',
      'version',
      'bump',
      'preid',
      'a',
      '_b',
      '1x',
      'with space',
      'constructor',
      'source',
      'type',
      'timeout',
      'on_timeout',
      'if',
    );
    const strings = fc.oneof(
      fc.constantFrom('1h', '90d', '91d', '100d', '0s', '30 m', 'soon', '1.2.3', 'v2.0.0-rc.1', ''),
      fc.constantFrom('major', 'minor', 'patch', 'prerelease', 'huge', 'rc', 'beta-2', 'a.b', 'x'.repeat(21)),
      fc.constantFrom('jenkins', 'build_finished', 'fail', 'continue', 'Jenkins'),
      fc.string({ maxLength: 8 }),
      fc.constant('1'.repeat(101)),
    );
    const values = fc.oneof(
      strings,
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(strings, { maxLength: 2 }),
    );
    const inputs = fc.oneof(fc.dictionary(names, values, { maxKeys: 4 }), values);
    for (const action of metaDeclarations) {
      const schema = inputSchema(metaActionInputs([action])[action.id]);
      fc.assert(
        fc.property(inputs, (input) => {
          const byZod = action.input.safeParse(input);
          const byCheck = checkInput(schema, input);
          if (byZod.success) {
            assert.deepEqual(byCheck.issues, [], `${action.id} ${JSON.stringify(input)}`);
            assert.deepEqual(byCheck.value, byZod.data);
          } else {
            // Refinements JSON Schema cannot state (flow.sleep's 90 days) are the run's own check.
            const refinedOnly = byZod.error.issues.every((issue) => issue.code === 'custom');
            assert.ok(byCheck.issues.length > 0 || refinedOnly, `${action.id} ${JSON.stringify(input)}`);
          }
        }),
        { numRuns: 500 },
      );
    }
  });

  it('refuses a schema keyword it does not check, instead of checking loosely', () => {
    assert.throws(() => inputSchema({ type: 'object', properties: { n: { type: 'number' } } }), UnsupportedSchemaError);
    assert.throws(() => inputSchema({ type: 'string', format: 'email' }), /uses "format"/);
    assert.doesNotThrow(() => inputSchema(z.toJSONSchema(z.strictObject({ s: z.string().min(1).default('x') }))));
  });

  it('checks lists, whole numbers and booleans with their bounds, naming the item that does not fit', () => {
    const schema = inputSchema(
      z.toJSONSchema(
        z.strictObject({
          names: z.array(z.string().min(1)).min(1).max(2),
          count: z.int().min(1).max(3).default(1),
          on: z.boolean().default(true),
        }),
        { io: 'input' },
      ),
    );
    assert.deepEqual(checkInput(schema, { names: ['a'] }), { value: { names: ['a'], count: 1, on: true }, issues: [] });
    const messages = (value: unknown): string[] =>
      checkInput(schema, value).issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    assert.deepEqual(messages({ names: [] }), ['names must have at least 1 item(s)']);
    assert.deepEqual(messages({ names: ['a', 'b', 'c'] }), ['names must have at most 2 items']);
    assert.deepEqual(messages({ names: ['a', ''] }), ['names.1 must be at least 1 characters long']);
    assert.deepEqual(messages({ names: ['a'], count: 4, on: 'yes' }), [
      'count must be at most 3',
      'on must be true or false, not a string',
    ]);
    assert.deepEqual(messages({ names: ['a'], count: 1.5 }), ['count must be a whole number, not the number 1.5']);
  });

  it('lets no team declare a meta-action the interpreter cannot run, so none passes save and fails every run', () => {
    const declaration = {
      description: 'A meta-action only a team knows',
      input: z.strictObject({}),
      output: z.object({}),
      examples: [],
    };
    assert.throws(
      // @ts-expect-error: the id is not in META_ACTIONS
      () => defineMetaAction({ id: 'team.compute', ...declaration }),
      (e: unknown) => e instanceof UnknownMetaActionError && /team\.compute is declared kind "meta"/.test(e.message),
    );
    // @ts-expect-error: flow.sleep runs on {duration: string}, not on what this schema gives
    defineMetaAction({ id: 'flow.sleep', ...declaration, input: z.strictObject({ seconds: z.number() }) });
    const handMade: AnyAction = { id: 'team.compute', kind: 'meta', ...declaration };
    assert.throws(() => actionsById([...actions, handMade]), UnknownMetaActionError);
  });
});
