import assert from 'node:assert/strict';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';
import {
  assertOnlySentinelOnTaskQueue,
  assertProblem,
  assertPrototypesUnpolluted,
  postSentinelEvent,
  READ_TOKEN,
  registryCounts,
  sendRaw,
  terminateAll,
  type ExpectedProblem,
} from './support';

type Json = Record<string, unknown>;

/** A valid definition with id `id`; cases break one thing in it. */
function valid(id: string, patch: Json = {}): Json {
  return {
    id,
    name: 'Bad input probe',
    on: [{ source: 'badinput', type: 'ping' }],
    steps: [{ id: 'first', action: 'flow.set', with: { issue: '${{ event.issue }}' } }],
    ...patch,
  };
}

/** A valid definition whose only step is `step` (an id and action are filled in unless given). */
const withStep = (id: string, step: Json): Json => valid(id, { steps: [{ id: 'first', action: 'flow.set', ...step }] });
/** A valid definition whose steps are `steps`. */
const withSteps = (id: string, steps: Json[]): Json => valid(id, { steps });
/** A valid definition whose binding condition is `condition`. */
const withCondition = (id: string, condition: string): Json =>
  valid(id, { on: [{ source: 'badinput', type: 'ping', if: condition }] });

/** One crafted request against `/api/definitions`. */
interface DefinitionCase extends ExpectedProblem {
  readonly name: string;
  /** The id segment of the URL as sent; default a fresh valid id. */
  readonly urlId?: string;
  /** What `GET /api/definitions/<urlId>` must answer afterwards: 404, or 400 for an id the API refuses. */
  readonly getStatus?: 400 | 404;
  readonly method?: 'put' | 'post' | 'delete' | 'get';
  /** The path, when it is not `PUT /api/definitions/<urlId>`. */
  readonly path?: (urlId: string) => string;
  /** Content-Type; null sends none (default application/json). */
  readonly contentType?: string | null;
  /** The body for this id: an object is sent as JSON text, a string or Buffer as is. */
  readonly body?: (id: string) => Json | unknown[] | string | Buffer;
  /** `Authorization` header value; null sends none (default: the write token). */
  readonly auth?: (harness: Harness) => string | null;
}

const ONE_MIB = 1024 * 1024;
const utf8Broken = (id: string): Buffer => {
  const [head, tail] = JSON.stringify(valid(id, { name: 'Bad \u0000 probe' })).split('\\u0000') as [string, string];
  return Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]);
};
const deepWith = (id: string, levels: number): string =>
  JSON.stringify(withStep(id, { with: { deep: '@' } })).replace('"@"', `${'['.repeat(levels)}${']'.repeat(levels)}`);
const notAnId = /is not a definition id: use 1-64 lowercase letters, digits and dashes/;

const cases: DefinitionCase[] = [
  // Ids with path characters, control characters, unicode and prototype names: 400 before anything is read.
  {
    name: 'an id with an encoded "../"',
    urlId: '..%2Fetc',
    getStatus: 400,
    status: 400,
    detail: /"\.\.\/etc" is not a definition id/,
  },
  {
    name: 'an id climbing to another API',
    urlId: '..%2F..%2Fapi%2Factions',
    getStatus: 400,
    status: 400,
    detail: /"\.\.\/\.\.\/api\/actions" is not a definition id/,
  },
  { name: 'an id with an encoded backslash', urlId: '..%5Cetc', getStatus: 400, status: 400, detail: notAnId },
  { name: 'an id with an encoded slash', urlId: 'release%2Fv2', getStatus: 400, status: 400, detail: /"release\/v2"/ },
  {
    name: 'an id with a NUL byte',
    urlId: 'release%00',
    getStatus: 400,
    status: 400,
    detail: /"release\\u0000" is not a definition id/,
  },
  {
    name: 'an id with non-ASCII letters',
    urlId: 'r%C3%A9lease',
    getStatus: 400,
    status: 400,
    detail: /"rélease" is not a definition id/,
  },
  {
    name: 'an id with a right-to-left override character',
    urlId: '%E2%80%AEesaeler',
    getStatus: 400,
    status: 400,
    detail: notAnId,
  },
  { name: 'an id in capitals', urlId: 'Release', getStatus: 400, status: 400, detail: /"Release" is not a definition/ },
  { name: 'an id of 65 characters', urlId: 'r'.repeat(65), getStatus: 400, status: 400, detail: notAnId },
  { name: 'an id ending in a dash', urlId: 'release-', getStatus: 400, status: 400, detail: notAnId },
  { name: 'an id with a dot', urlId: 'release.v2', getStatus: 400, status: 400, detail: notAnId },
  { name: 'the id "__proto__"', urlId: '__proto__', getStatus: 400, status: 400, detail: /"__proto__" is not a/ },
  {
    name: 'an id with broken percent-encoding',
    urlId: '%E0%A4%A',
    getStatus: 400,
    status: 400,
    detail: /Failed to decode param '%E0%A4%A'/,
  },
  {
    name: 'a body id that differs from the URL',
    body: (id) => valid(`${id}-other`),
    status: 422,
    detail: /The definition was not saved: 1 error, the first at id: is ".*-other" but the URL says/,
    errors: [{ path: 'id', message: /but the URL says ".*"; they must match/ }],
  },
  {
    name: 'a body id with path characters',
    body: () => valid('../../etc/passwd'),
    status: 422,
    detail: /the first at id: is "\.\.\/\.\.\/etc\/passwd" but the URL says/,
    errors: [{ path: 'id', message: /they must match/ }],
  },

  // Bodies that are not YAML or JSON definitions at all.
  {
    name: 'invalid JSON',
    body: (id) => JSON.stringify(valid(id)).replace(/}$/, ',}'),
    status: 400,
    detail: /The definition is not valid JSON: .*double-quoted property name in JSON at position \d+/,
  },
  {
    name: 'truncated JSON',
    body: (id) => JSON.stringify(valid(id)).slice(0, 40),
    status: 400,
    detail: /The definition is not valid JSON: .*(end of JSON input|position)/,
  },
  {
    name: 'an empty JSON body',
    body: () => '',
    status: 400,
    detail: /The body is empty; send the definition as JSON/,
  },
  {
    name: 'invalid YAML',
    contentType: 'application/yaml',
    body: () => 'name: probe\nsteps: [\n',
    status: 400,
    detail: /The definition is not valid YAML \(line \d+, column \d+\)/,
  },
  {
    name: 'YAML with a duplicate key',
    contentType: 'application/yaml',
    body: (id) => `id: ${id}\nname: a\nname: b\n`,
    status: 400,
    detail: /not valid YAML \(line 3, column 1\): .*Map keys must be unique/,
  },
  {
    name: 'a YAML alias bomb',
    contentType: 'application/yaml',
    body: () =>
      [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
        'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
        'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
        'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      ].join('\n'),
    status: 400,
    detail: /not valid YAML: .*resource exhaustion/,
  },
  {
    name: 'text/plain',
    contentType: 'text/plain',
    body: (id) => JSON.stringify(valid(id)),
    status: 415,
    detail: /Send the definition as YAML \(Content-Type: application\/yaml\) or JSON .*got text\/plain/,
  },
  {
    name: 'no Content-Type',
    contentType: null,
    body: (id) => Buffer.from(JSON.stringify(valid(id))),
    status: 415,
    detail: /got no Content-Type/,
  },
  {
    name: 'a body of 1 MiB plus one byte',
    body: (id) => {
      const text = JSON.stringify(valid(id, { description: '@' }));
      return text.replace('"@"', `"${'d'.repeat(ONE_MIB + 1 - text.length + 1)}"`);
    },
    status: 413,
    detail: /larger than the limit of 1 MB/,
  },
  {
    name: 'invalid UTF-8 in the name',
    body: utf8Broken,
    status: 400,
    detail: /UTF-8/,
  },
  {
    name: 'a JSON array',
    body: (id) => [valid(id)],
    status: 422,
    detail: /the first at \(root\): Invalid input: expected object, received array/,
    errors: [{ path: '(root)', message: /expected object, received array/ }],
  },
  {
    name: 'an empty YAML document',
    contentType: 'application/yaml',
    body: () => '',
    status: 400,
    detail: /The body is empty; send the definition as YAML/,
  },

  // Deep nesting inside a step's input.
  {
    name: 'a step input nested 1,000 levels deep',
    body: (id) => deepWith(id, 1_000),
    status: 400,
    detail: /deeper than 64 levels|nest/,
  },
  {
    name: 'a step input nested 100,000 levels deep',
    body: (id) => deepWith(id, 100_000),
    status: 400,
    detail: /deeper than 64 levels|nest/,
  },

  // Unknown actions.
  {
    name: 'an unknown action with a near miss',
    body: (id) => withStep(id, { action: 'jira.transiton' }),
    status: 422,
    detail: /steps\[0\]\.action: unknown action "jira.transiton" \(did you mean .*"jira.transition"/,
    errors: [
      { path: 'steps[0].action', message: /unknown action "jira.transiton" \(did you mean .*"jira.transition".*\?\)/ },
    ],
  },
  {
    name: 'an unknown action in an unknown domain',
    body: (id) => withStep(id, { action: 'ftp.upload' }),
    status: 422,
    detail: /unknown action "ftp.upload"; GET \/api\/actions lists them/,
    errors: [{ path: 'steps[0].action', message: /^unknown action "ftp.upload"; GET \/api\/actions lists them$/ }],
  },
  {
    name: 'the action "constructor.prototype"',
    body: (id) => withStep(id, { action: 'constructor.prototype' }),
    status: 422,
    detail: /unknown action "constructor.prototype"/,
    errors: [{ path: 'steps[0].action', message: /unknown action "constructor.prototype"/ }],
  },
  {
    name: 'the action "__proto__"',
    body: (id) => withStep(id, { action: '__proto__' }),
    status: 422,
    detail: /steps\[0\]\.action: must be an action id such as http.request/,
    errors: [{ path: 'steps[0].action', message: /unknown action "__proto__"/ }],
  },
  {
    name: 'an action id with a space',
    body: (id) => withStep(id, { action: 'Http Request' }),
    status: 422,
    detail: /must be an action id such as http.request/,
  },

  // Expressions that do not parse, use unknown variables, or are unsafe.
  {
    name: 'a binding condition that does not parse',
    body: (id) => withCondition(id, 'event.to =='),
    status: 422,
    detail: /on\[0\]\.if: cannot parse "event.to =="/,
    errors: [{ path: 'on[0].if', message: /cannot parse "event.to =="/ }],
  },
  {
    name: 'a template that does not parse',
    body: (id) => withStep(id, { with: { issue: '${{ event. }}' } }),
    status: 422,
    detail: /steps\[0\]\.with\.issue: cannot parse "event\."/,
  },
  {
    name: 'an unclosed template',
    body: (id) => withStep(id, { with: { issue: '${{ event.issue' } }),
    status: 422,
    detail: /steps\[0\]\.with\.issue: opens "\$\{\{" without a closing "\}\}"/,
  },
  {
    name: 'an unknown variable (secrets)',
    body: (id) => withStep(id, { with: { token: '${{ secrets.token }}' } }),
    status: 422,
    detail: /steps\[0\]\.with\.token: "secrets.token" is invalid: Unknown variable: secrets/,
  },
  {
    name: 'matches() in a binding condition',
    body: (id) => withCondition(id, 'event.to.matches("^(a+)+$")'),
    status: 422,
    detail: /on\[0\]\.if: matches\(\) is not allowed: a regular expression can backtrack/,
  },
  {
    name: 'matches() in a step condition',
    body: (id) => withStep(id, { if: 'event.issue.matches("(x+x+)+y")' }),
    status: 422,
    detail: /steps\[0\]\.if: matches\(\) is not allowed/,
  },
  {
    name: 'a step condition that is empty',
    body: (id) => withStep(id, { if: '' }),
    status: 422,
    detail: /steps\[0\]\.if: /,
    errors: [{ path: 'steps[0].if', message: /expression is empty|Too small/ }],
  },

  // References to steps that come later or do not exist.
  {
    name: 'a forward reference to a later step',
    body: (id) =>
      withSteps(id, [
        { id: 'first', action: 'flow.set', with: { version: '${{ steps.later.output.version }}' } },
        { id: 'later', action: 'flow.set', with: {} },
      ]),
    status: 422,
    detail: /steps\[0\]\.with\.version: refers to steps.later, which runs later \(steps\[1\]\)/,
  },
  {
    name: 'a forward reference written with an index',
    body: (id) =>
      withSteps(id, [
        { id: 'first', action: 'flow.set', with: { version: '${{ steps["later"].output }}' } },
        { id: 'later', action: 'flow.set', with: {} },
      ]),
    status: 422,
    detail: /refers to steps.later, which runs later/,
  },
  {
    name: 'a forward reference in a step condition',
    body: (id) =>
      withSteps(id, [
        { id: 'first', action: 'flow.set', if: 'steps.later.output.ok == true', with: {} },
        { id: 'later', action: 'flow.set', with: {} },
      ]),
    status: 422,
    detail: /steps\[0\]\.if: refers to steps.later, which runs later/,
  },
  {
    name: 'a step that reads its own output',
    body: (id) => withStep(id, { with: { again: '${{ steps.first.output }}' } }),
    status: 422,
    detail: /refers to steps.first, which runs in this very step/,
  },
  {
    name: 'a reference to a step that does not exist',
    body: (id) => withStep(id, { with: { version: '${{ steps.nope.output }}' } }),
    status: 422,
    detail: /refers to steps.nope, but no step has that id/,
  },
  {
    name: 'a binding condition that reads steps',
    body: (id) => withCondition(id, 'steps.first.output != null'),
    status: 422,
    detail: /on\[0\]\.if: a binding condition runs before any step, so it cannot read steps/,
  },

  // Structure and limits.
  {
    name: '201 steps',
    body: (id) =>
      withSteps(
        id,
        Array.from({ length: 201 }, (_, index) => ({ id: `s${index}`, action: 'flow.set', with: {} })),
      ),
    status: 422,
    detail: /the first at steps: may have at most 200 steps/,
  },
  {
    name: '10,000 steps',
    body: (id) =>
      withSteps(
        id,
        Array.from({ length: 10_000 }, (_, index) => ({ id: `s${index}`, action: 'flow.set' })),
      ),
    status: 422,
    detail: /steps: may have at most 200 steps/,
  },
  { name: 'no steps', body: (id) => withSteps(id, []), status: 422, detail: /steps: needs at least one step/ },
  { name: 'no bindings', body: (id) => valid(id, { on: [] }), status: 422, detail: /on: needs at least one binding/ },
  {
    name: '21 bindings',
    body: (id) => valid(id, { on: Array.from({ length: 21 }, (_, i) => ({ source: 'badinput', type: `t${i}` })) }),
    status: 422,
    detail: /on: Too big: expected array to have <=20 items/,
  },
  {
    name: 'duplicate step ids',
    body: (id) =>
      withSteps(id, [
        { id: 'first', action: 'flow.set' },
        { id: 'first', action: 'flow.set' },
      ]),
    status: 422,
    detail: /steps\[1\]\.id: duplicate step id "first" \(first used by steps\[0\]\)/,
  },
  {
    name: 'a step id in capitals',
    body: (id) => withStep(id, { id: 'First' }),
    status: 422,
    detail: /steps\[0\]\.id: must start with a lowercase letter/,
  },
  {
    name: 'an unknown top-level key',
    body: (id) => valid(id, { stepz: [] }),
    status: 422,
    detail: /\(root\): Unrecognized key: "stepz"/,
  },
  {
    name: 'an event source in capitals',
    body: (id) => valid(id, { on: [{ source: 'Jira', type: 'issue_transitioned' }] }),
    status: 422,
    detail: /on\[0\]\.source: must be lowercase letters/,
  },
  {
    name: 'a timeout that is not a duration',
    body: (id) => withStep(id, { timeout: 'forever' }),
    status: 422,
    detail: /steps\[0\]\.timeout: must be a duration such as 500ms/,
  },
  {
    name: 'a billion retry attempts',
    body: (id) => withStep(id, { retry: { maximumAttempts: 1e9 } }),
    status: 422,
    detail: /steps\[0\]\.retry\.maximumAttempts: Too big: expected number to be <=1000/,
  },
  {
    name: 'enabled given as a string',
    body: (id) => valid(id, { enabled: 'yes' }),
    status: 422,
    detail: /enabled: Invalid input: expected boolean, received string/,
  },
  {
    name: 'a file:// URL for http.request',
    body: (id) => withStep(id, { action: 'http.request', with: { url: 'file:///etc/passwd' } }),
    status: 422,
    detail: /steps\[0\]\.with\.url: must be an http:\/\/ or https:\/\/ URL/,
  },

  // Steps that wait for a later event (flow.wait_for_event).
  {
    name: 'a wait without source',
    body: (id) => withStep(id, { action: 'flow.wait_for_event', with: { type: 'build_finished' } }),
    status: 422,
    detail: /steps\[0\]\.with\.source: /,
    errors: [{ path: 'steps[0].with.source', message: /expected string, received undefined|required/ }],
  },
  {
    name: 'a wait with a timeout over 90 days',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'jenkins', type: 'build_finished', timeout: '91d' },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.timeout: must be at most 90d/,
    errors: [{ path: 'steps[0].with.timeout', message: /^must be at most 90d$/ }],
  },
  {
    name: 'a wait whose if reads this run instead of the incoming event',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'jenkins', type: 'build_finished', if: 'event.status == vars.wanted' },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.if: /,
    errors: [{ path: 'steps[0].with.if', message: /sees only the incoming event \(event\), not vars/ }],
  },
  {
    name: 'a wait whose if is a template',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'jenkins', type: 'build_finished', if: '${{ event.ok }}' },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.if: /,
    errors: [
      {
        path: 'steps[0].with.if',
        message: /is CEL over the incoming event, evaluated when it arrives, not a template/,
      },
    ],
  },
  {
    name: 'a wait whose if does not parse',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'jenkins', type: 'build_finished', if: 'event. ==' },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.if: /,
    errors: [{ path: 'steps[0].with.if', message: /cannot parse/ }],
  },
  {
    name: 'a wait on a field path that is not one, and on too many fields, with templated values',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: {
          source: 'jenkins',
          type: 'build_finished',
          where: Object.fromEntries([
            ['job name', '${{ event.job }}'],
            ...Array.from({ length: 10 }, (_, index) => [`f${index}`, '${{ event.x }}']),
          ]),
        },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.where: /,
    errors: [
      { path: 'steps[0].with.where', message: /compares 11 fields; at most 10/ },
      { path: 'steps[0].with.where["job name"]', message: /must be a field path of the incoming event/ },
    ],
  },
  {
    name: 'a wait comparing a field with a list',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'jenkins', type: 'build_finished', where: { job: ['a', 'b'] } },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.where: /,
    errors: [{ path: 'steps[0].with.where', message: /job must be a string, a number or a boolean, not a list/ }],
  },
  {
    name: 'a wait with an unknown on_timeout and a source that is no event name',
    body: (id) =>
      withStep(id, {
        action: 'flow.wait_for_event',
        with: { source: 'Jenkins CI', type: 'build_finished', on_timeout: 'retry' },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.source: /,
    errors: [
      { path: 'steps[0].with.source', message: /must be lowercase letters/ },
      { path: 'steps[0].with.on_timeout', message: /fail|continue/ },
    ],
  },

  // Concurrency groups (release trains).
  {
    name: 'a max_queue out of range',
    body: (id) => valid(id, { concurrency: { group: 'release', max_queue: 5_000 } }),
    status: 422,
    detail: /concurrency\.max_queue: may be at most 1000/,
    errors: [{ path: 'concurrency.max_queue', message: /^may be at most 1000$/ }],
  },
  {
    name: 'an unknown when_busy',
    body: (id) => valid(id, { concurrency: { group: 'release', when_busy: 'cancel' } }),
    status: 422,
    detail: /concurrency\.when_busy: /,
    errors: [{ path: 'concurrency.when_busy', message: /queue.*reject.*replace/ }],
  },
  {
    name: 'a group template that reads a step',
    body: (id) => valid(id, { concurrency: { group: 'release-${{ steps.first.output }}' } }),
    status: 422,
    detail: /concurrency\.group: the group is chosen when the event is dispatched, before any step/,
  },
  {
    name: 'a static group that cannot name a train',
    body: (id) => valid(id, { concurrency: { group: 'release train/../x y' } }),
    status: 422,
    detail: /concurrency\.group: must be 1-100 letters/,
  },

  // Secrets written into a definition.
  {
    name: 'a static Authorization header',
    body: (id) =>
      withStep(id, {
        action: 'http.request',
        with: { url: 'https://x.example', headers: { Authorization: 'Bearer abc123' } },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.headers\.Authorization: looks like a credential written into the definition/,
  },
  {
    name: 'a static password',
    body: (id) => withStep(id, { with: { password: 'hunter2' } }),
    status: 422,
    detail: /steps\[0\]\.with\.password: looks like a credential/,
  },
  {
    name: 'an api_key deep inside a JSON payload',
    body: (id) =>
      withStep(id, {
        action: 'http.request',
        with: { url: 'https://x.example', json: { config: { api_key: 'k-123' } } },
      }),
    status: 422,
    detail: /steps\[0\]\.with\.json\.config\.api_key: looks like a credential/,
  },

  // "__proto__" and "constructor" keys.
  {
    name: 'a top-level "__proto__" key',
    body: (id) => `{"__proto__":{"enabled":false},${JSON.stringify(valid(id)).slice(1)}`,
    status: 422,
    detail: /\(root\): Unrecognized key: "__proto__"/,
  },
  {
    name: 'a top-level "constructor" key',
    body: (id) => valid(id, { constructor: { name: 'x' } }),
    status: 422,
    detail: /\(root\): Unrecognized key: "constructor"/,
  },
  {
    name: 'a "__proto__" key in a binding',
    body: (id) => JSON.stringify(valid(id)).replace('"type":"ping"', '"type":"ping","__proto__":{"if":"true"}'),
    status: 422,
    detail: /on\[0\]: Unrecognized key: "__proto__"/,
  },
  {
    name: 'a "__proto__" key in a step',
    body: (id) =>
      JSON.stringify(valid(id)).replace('"action":"flow.set"', '"action":"flow.set","__proto__":{"if":"true"}'),
    status: 422,
    detail: /steps\[0\]: Unrecognized key: "__proto__"/,
  },
  {
    name: 'a "constructor" key in a strict action input',
    body: (id) => withStep(id, { action: 'http.request', with: { url: 'https://x.example', constructor: { x: 1 } } }),
    status: 422,
    detail: /steps\[0\]\.with: Unrecognized key: "constructor"/,
  },
  {
    name: 'a "__proto__" key in JSON that hides the required url of http.request',
    body: (id) =>
      JSON.stringify(withStep(id, { action: 'http.request', with: {} })).replace(
        '"with":{}',
        '"with":{"__proto__":{"url":"https://x.example"}}',
      ),
    status: 422,
    detail: /steps\[0\]\.with/,
    errors: [{ path: 'steps[0].with.url', message: /expected string|Required|Invalid/i }],
  },
  {
    name: 'a "__proto__" key in YAML that hides the required url of http.request',
    contentType: 'application/yaml',
    body: (id) =>
      [
        `id: ${id}`,
        'name: Bad input probe',
        'on: [{ source: badinput, type: ping }]',
        'steps:',
        '  - id: first',
        '    action: http.request',
        '    with:',
        '      __proto__: { url: "https://x.example" }',
        '',
      ].join('\n'),
    status: 422,
    detail: /steps\[0\]\.with/,
    errors: [{ path: 'steps[0].with.url', message: /expected string|Required|Invalid/i }],
  },

  // Authentication and scope.
  {
    name: 'a save without a token',
    auth: () => null,
    body: (id) => valid(id),
    status: 401,
    detail: /needs `Authorization: Bearer <token>`/,
  },
  {
    name: 'a save with a read-scoped token',
    auth: () => `Bearer ${READ_TOKEN.token}`,
    body: (id) => valid(id),
    status: 403,
    detail: /read scope; PUT \/api\/definitions\/.* needs a token with the write scope/,
  },

  // Other definition routes with bad parameters, on ids that were never stored.
  {
    name: 'a restore of revision 0',
    method: 'post',
    path: (id) => `/api/definitions/${id}/revisions/0/restore`,
    status: 400,
    detail: /revision must be a positive whole number/,
  },
  {
    name: 'a restore of a revision written in exponent notation',
    method: 'post',
    path: (id) => `/api/definitions/${id}/revisions/1e3/restore`,
    status: 400,
    detail: /revision must be a positive whole number/,
  },
  {
    name: 'a restore of a definition that never existed',
    method: 'post',
    path: (id) => `/api/definitions/${id}/revisions/1/restore`,
    status: 404,
    detail: /Definition .* has no revision 1/,
  },
  {
    name: 'a read of a negative revision',
    method: 'get',
    path: (id) => `/api/definitions/${id}?revision=-1`,
    status: 400,
    detail: /revision must be a positive whole number, such as \?revision=3/,
  },
  {
    name: 'a delete of a definition that never existed',
    method: 'delete',
    path: (id) => `/api/definitions/${id}`,
    status: 404,
    detail: /There is no definition .*PUT \/api\/definitions\/.* creates it/,
  },
  {
    name: 'a read of the id "constructor", which was never stored',
    urlId: 'constructor',
    method: 'get',
    path: () => '/api/definitions/constructor',
    status: 404,
    detail: /There is no definition constructor\./,
  },
  {
    name: 'the revisions of the id "hasownproperty", which was never stored',
    urlId: 'hasownproperty',
    method: 'get',
    path: () => '/api/definitions/hasownproperty/revisions',
    status: 404,
    detail: /There is no definition hasownproperty\./,
  },
];

describe('bad input: /api/definitions', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ worker: false, gateway: { extraTokens: [READ_TOKEN] } });
    // One stored definition, so the registry's collections exist and their counts are not trivially zero.
    const seed = await request(harness.app)
      .put('/api/definitions/seed')
      .set('Authorization', harness.auth)
      .send(valid('seed'));
    assert.equal(seed.status, 201, seed.text);
  });
  after(async () => {
    if (!harness) return;
    await terminateAll(harness);
    await harness.stop();
  });

  for (const c of cases) {
    it(`refuses ${c.name} (${c.status}) and stores nothing`, async () => {
      const urlId = c.urlId ?? uniqueName('bad-def');
      const before = await registryCounts(harness.db);
      let pending = request(harness.app)[c.method ?? 'put'](c.path ? c.path(urlId) : `/api/definitions/${urlId}`);
      const auth = c.auth ? c.auth(harness) : harness.auth;
      if (auth !== null) pending = pending.set('Authorization', auth);
      const contentType = c.contentType === undefined ? 'application/json' : c.contentType;
      if (contentType !== null) pending = pending.set('Content-Type', contentType);
      const body = c.body?.(urlId);
      const res = await (body === undefined
        ? pending
        : sendRaw(pending, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)));
      assertProblem(res, c);
      assert.deepEqual(await registryCounts(harness.db), before, 'the registry collections changed');
      const get = await request(harness.app).get(`/api/definitions/${urlId}`).set('Authorization', harness.auth);
      assert.equal(get.status, c.getStatus ?? 404, `GET /api/definitions/${urlId}: ${get.text}`);
      assert.match(get.headers['content-type'] ?? '', /^application\/problem\+json/);
    });
  }

  it('started no workflow and kept the seed as the only definition; no prototype was polluted', async () => {
    const list = await request(harness.app).get('/api/definitions').set('Authorization', harness.auth);
    assert.deepEqual(
      list.body.items.map((item: { id: string }) => item.id),
      ['seed'],
    );
    const sentinel = await postSentinelEvent(harness);
    await assertOnlySentinelOnTaskQueue(harness, sentinel);
    assertPrototypesUnpolluted();
  });
});
