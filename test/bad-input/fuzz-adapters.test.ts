import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { EVENT_NAME } from '../../common/definition';
import type { AdapterResult } from '../../gateway/webhooks/adapter';
import { jenkins, webhookAdapters } from '../../gateway/webhooks/adapters';
import { assertPrototypesIntact, FUZZ_TIMEOUT_MS, fuzzParameters, POLLUTION_KEYS, RUNS } from './fuzz-runs';
import { editAt, put, snapshot, type Container, type TreeEdit } from './json-tree';

/**
 * Every adapter in `webhookAdapters` gets the same hostile deliveries, so a new source is fuzzed without touching
 * this file. Header-derived delivery keys are capped at 200 characters; Jenkins' composite key
 * `<job path>#<build number>#<phase>` is at most 200 + 1 + 15 + 1 + 9 characters.
 */
const DELIVERY_KEY_MAX = 256;
/**
 * Adapters copy fields out of the payload, so an event body is never much larger than the payload itself. The
 * allowance covers fixed fields set to null and up to 100 commits, each `{}` in the payload becoming
 * `{"id":null,"message":null,"author":null}` in the event.
 */
const BODY_OVERHEAD_MAX = 10_000;

const FIXTURES = path.join(__dirname, '..', 'gateway', 'fixtures', 'webhooks');
const fixtureNames = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length))
  .sort();

const fixtureTexts = new Map(
  fixtureNames.map((name) => [name, readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')]),
);

/** A fixture parsed afresh, so a case can change it freely. */
function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fixtureTexts.get(name)!) as Record<string, unknown>;
}

/** The headers the real product sends with a fixture, so mutated fixtures get past the event-type header. */
function fixtureHeaders(name: string): Record<string, string> {
  if (name.startsWith('github-')) {
    const event = name.startsWith('github-pull-request') ? 'pull_request' : name.split('-')[1]!;
    return { 'x-github-event': event, 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
  }
  if (name.startsWith('gitlab-'))
    return { 'x-gitlab-event': 'Push Hook', 'idempotency-key': 'f1b8c1d2-0000-4000-8000-1' };
  if (name.startsWith('jira-')) return { 'x-atlassian-webhook-identifier': '1715678400123-abc' };
  return {};
}

/** True when `value` is data JSON can carry unchanged: no functions, no NaN, no class instances, no odd prototypes. */
function assertJsonData(value: unknown, at: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${at} is ${value}, which JSON cannot carry`);
    return;
  }
  assert.equal(typeof value, 'object', `${at} is a ${typeof value}`);
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertJsonData(item, `${at}[${index}]`));
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  assert.ok(proto === Object.prototype || proto === null, `${at} has a prototype other than Object.prototype`);
  for (const [key, inner] of Object.entries(value as object)) assertJsonData(inner, `${at}.${key}`);
}

/** The checks every result must pass, whatever the input; `inputSize` is the payload's length as JSON. */
function assertWellFormed(result: AdapterResult, inputSize: number): void {
  switch (result.kind) {
    case 'event': {
      assert.match(result.type, EVENT_NAME);
      assert.equal(typeof result.body, 'object');
      assertJsonData(result.body, 'body');
      const text = JSON.stringify(result.body);
      assert.equal(JSON.stringify(JSON.parse(text)), text, 'the event body does not survive JSON');
      assert.ok(
        text.length <= inputSize + BODY_OVERHEAD_MAX,
        `the event body (${text.length} characters) is far larger than the payload (${inputSize})`,
      );
      if (result.deliveryKey !== undefined) {
        assert.equal(typeof result.deliveryKey, 'string');
        assert.ok(result.deliveryKey.trim().length > 0, 'the delivery key is blank');
        assert.ok(result.deliveryKey.length <= DELIVERY_KEY_MAX, `delivery key of ${result.deliveryKey.length} chars`);
      }
      break;
    }
    case 'ignored':
      assert.equal(typeof result.reason, 'string');
      assert.ok(result.reason.trim().length > 0, 'an ignored delivery without a reason');
      break;
    case 'invalid':
      assert.ok(result.status === 400 || result.status === 422, `status ${String(result.status)}`);
      assert.equal(typeof result.detail, 'string');
      assert.ok(result.detail.trim().length > 0, 'an invalid delivery without a detail');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(result.detail, /[\u0000-\u001f\u007f]/, 'the detail carries control characters');
      break;
    default:
      assert.fail(`unexpected result ${JSON.stringify(result)}`);
  }
}

/**
 * Runs every adapter the way the router does, and checks totality, the shape of each result, that the adapter left
 * the payload alone, and that it answers the same request the same way twice.
 */
function checkAllAdapters(
  headers: Readonly<Record<string, string | undefined>>,
  body: Readonly<Record<string, unknown>>,
): void {
  const before = snapshot(body);
  const inputSize = JSON.stringify(body).length;
  for (const adapter of webhookAdapters) {
    let result: AdapterResult;
    try {
      result = adapter.normalize({ headers, body });
    } catch (error) {
      assert.fail(`${adapter.source} threw ${error instanceof Error ? error.stack : String(error)}`);
    }
    assertWellFormed(result, inputSize);
    assert.deepEqual(adapter.normalize({ headers, body }), result, `${adapter.source} is not a function of its input`);
  }
  assert.deepEqual(body, before, 'an adapter changed the payload it was given');
  assertPrototypesIntact();
}

// Keys and values the adapters look for, mixed with arbitrary ones, so generated objects reach deep branches.
const fieldNames = [
  'webhookEvent',
  'transition',
  'transitionName',
  'from_status',
  'to_status',
  'issue',
  'key',
  'fields',
  'project',
  'user',
  'changelog',
  'items',
  'field',
  'fieldId',
  'fromString',
  'toString',
  'version',
  'name',
  'projectId',
  'comment',
  'body',
  'author',
  'displayName',
  'accountId',
  'build',
  'number',
  'phase',
  'status',
  'parameters',
  'value',
  'scm',
  'full_url',
  'url',
  'display_name',
  'ref',
  'before',
  'after',
  'commits',
  'id',
  'message',
  'email',
  'repository',
  'full_name',
  'pusher',
  'action',
  'pull_request',
  'base',
  'head',
  'login',
  'html_url',
  'release',
  'tag_name',
  'object_kind',
  'path_with_namespace',
  'user_username',
  ...POLLUTION_KEYS,
];
const fieldValues = [
  'jira:issue_updated',
  'jira:issue_created',
  'jira:issue_deleted',
  'jira:version_released',
  'jira:worklog_updated',
  'comment_created',
  'comment_deleted',
  'status',
  'QUEUED',
  'STARTED',
  'COMPLETED',
  'FINALIZED',
  'refs/heads/main',
  'refs/tags/v1',
  'refs/heads/',
  'push',
  'tag_push',
  'opened',
  'closed',
  'published',
  'job/a/job/main/',
  'job/%2e%2e/job/main/',
  'https://ci/jenkins/job/a/job/main/7/',
  ...POLLUTION_KEYS,
];
/** Any UTF-16 code unit, so strings hold lone surrogates, control characters and unpaired halves. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const oddString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: anyCodeUnit, maxLength: 12 }),
  fc.constantFrom('', ' ', '\t\n', 'x'.repeat(1_500), '\ud83d'.repeat(300), 'A\u0000B', '\u202e'),
);
const key = fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 8 }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(2 ** 53, 1e21, -0, 1e308),
    oddString,
    fc.constantFrom(...fieldValues),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
}));
const body = fc.dictionary(key, value, { maxKeys: 8 });

/** Event-type headers with the values the adapters switch on, and delivery ids with odd characters. */
const headerName = fc.oneof(
  fc.constantFrom(
    'x-github-event',
    'x-github-delivery',
    'x-gitlab-event',
    'x-gitlab-event-uuid',
    'x-atlassian-webhook-identifier',
    'idempotency-key',
    ...POLLUTION_KEYS,
  ),
  fc.string({ maxLength: 8 }),
);
const headerValue = fc.option(
  fc.oneof(
    fc.constantFrom('push', 'pull_request', 'release', 'ping', 'issues', 'Push Hook', 'Tag Push Hook', '', ' '),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: anyCodeUnit, maxLength: 40 }),
    fc.constantFrom('../../etc/passwd', 'a/b\\c', '%00', 'x'.repeat(5_000), '  padded  ', '\u00ff\u00fe', '#1#2'),
  ),
  { nil: undefined },
);
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 4 });

/** One change to a JSON tree at a path chosen by index among all of its paths. */
type Mutation = TreeEdit & { at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), to: key }),
  fc.record({
    op: fc.constant('wrap' as const),
    at: fc.nat(),
    key: fc.constantFrom('__proto__', 'constructor', 'value'),
  }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), times: fc.integer({ min: 2, max: 150 }) }),
);

function mutate(root: Record<string, unknown>, change: Mutation): void {
  editAt(root, change.at, change);
}

describe('bad input: webhook adapters (gateway/webhooks/adapters)', function () {
  this.timeout(FUZZ_TIMEOUT_MS);

  it('fuzzes every adapter in webhookAdapters', () => {
    assert.ok(webhookAdapters.length >= 4);
    assert.ok(fixtureNames.length >= webhookAdapters.length, 'each source should have a fixture to mutate');
  });

  it(`never throws on ${RUNS} generated bodies and headers, and answers with an event, an ignored reason or an invalid detail`, () => {
    fc.assert(
      fc.property(body, headers, (generatedBody, generatedHeaders) =>
        checkAllAdapters(generatedHeaders, generatedBody),
      ),
      fuzzParameters(),
    );
  });

  // Arbitrary objects rarely get past the first check, so real payloads with fields overwritten reach the rest.
  it(`never throws on ${RUNS} real payloads whose fields are overwritten with arbitrary values`, () => {
    fc.assert(
      fc.property(fc.constantFrom(...fixtureNames), body, body, headers, (name, top, nested, generatedHeaders) => {
        const payload = fixture(name);
        for (const child of Object.values(payload)) {
          if (typeof child === 'object' && child !== null && !Array.isArray(child)) Object.assign(child, nested);
        }
        Object.assign(payload, top);
        checkAllAdapters({ ...fixtureHeaders(name), ...generatedHeaders }, payload);
      }),
      fuzzParameters(),
    );
  });

  it(`never throws on ${RUNS} real payloads mutated at random depths: deleted, renamed, retyped, wrapped in __proto__, repeated`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtureNames),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.option(headers, { nil: undefined }),
        (name, changes, extraHeaders) => {
          const payload = fixture(name);
          // At most one list blow-up per case keeps a case small; several would multiply into huge payloads.
          let repeated = false;
          for (const change of changes) {
            if (change.op === 'repeat' && repeated) continue;
            repeated ||= change.op === 'repeat';
            mutate(payload, change);
          }
          checkAllAdapters({ ...fixtureHeaders(name), ...extraHeaders }, payload);
        },
      ),
      fuzzParameters(),
    );
  });

  it(`never throws on ${RUNS} fully random JSON objects, including __proto__ and constructor keys`, () => {
    const jsonKey = fc.oneof(fc.constantFrom(...POLLUTION_KEYS, ...fieldNames), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(
        fc.dictionary(jsonKey, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 10 }),
        fc.oneof(headers, fc.constantFrom(...fixtureNames).map(fixtureHeaders)),
        (generatedBody, generatedHeaders) => checkAllAdapters(generatedHeaders, generatedBody),
      ),
      fuzzParameters(),
    );
  });

  // The job path comes from URLs in the payload, so they get a grammar of their own: real `job/<name>` pairs,
  // odd segments and odd escapes.
  it(`derives a Jenkins job path from ${RUNS} generated URLs only when every name in it is sound and the last is the job's`, () => {
    const segment = fc.oneof(
      { arbitrary: fc.constantFrom('job', 'main', 'team-a', 'Ops%20Team', 'feature%252Fx'), weight: 24 },
      fc.constantFrom('.', '..', '', '%2e%2e', '%2F', '%5C', '%00', '%E0%A4%A', '%', 'a b', '\u00e9', '?x', '#f'),
      fc.constantFrom('7', 'constructor', '__proto__', 'x'.repeat(120)),
      fc.string({ maxLength: 6 }),
      fc.string({ unit: anyCodeUnit, maxLength: 4 }),
    );
    const url = fc.record({
      prefix: fc.constantFrom('', '/', 'https://ci/', 'http://ci/jenkins/', 'javascript:'),
      folders: fc.array(segment, { maxLength: 5 }),
      // Most URLs end in the job's own name, as the plugin's do, so that the folder names decide the outcome.
      ownName: fc.boolean(),
      suffix: fc.constantFrom('', '/', '/7/', '/8/'),
    });
    type UrlParts = { prefix: string; folders: string[]; ownName: boolean; suffix: string };
    const asUrl = (parts: UrlParts, name: string): string =>
      parts.prefix +
      [...parts.folders, ...(parts.ownName ? [name] : [])].map((part) => `job/${part}`).join('/') +
      parts.suffix;
    let derived = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('main', 'team-a', '..', 'a/b', 'constructor'),
        fc.option(url, { nil: undefined }),
        fc.option(url, { nil: undefined }),
        fc.option(url, { nil: undefined }),
        (name, jobUrl, buildUrl, fullUrl) => {
          const build: Record<string, unknown> = { number: 7, phase: 'FINALIZED' };
          const body: Record<string, unknown> = { name, build };
          if (jobUrl) body['url'] = asUrl(jobUrl, name);
          if (buildUrl) build['url'] = asUrl(buildUrl, name);
          if (fullUrl) build['full_url'] = asUrl(fullUrl, name);
          const result = jenkins.normalize({ headers: {}, body });
          assert.equal(result.kind, 'event', JSON.stringify(result));
          if (result.kind !== 'event') return;
          const job = String(result.body['job']);
          assert.equal(result.body['job_name'], name);
          assert.equal(result.deliveryKey, `${job}#7#FINALIZED`);
          if (job === name) return;
          derived++;
          const names = job.split('/');
          assert.equal(names.at(-1), name, `${job} does not end in the job's name`);
          assert.ok(job.length <= 200, 'the job path is longer than 200 characters');
          for (const part of names) {
            assert.ok(part !== '' && part !== '.' && part !== '..', `${job} has an empty or dot segment`);
            // eslint-disable-next-line no-control-regex
            assert.doesNotMatch(part, /[\u0000-\u001f\u007f\\]/, `${job} has a control character or "\\"`);
            // encodeURIComponent throws on a lone surrogate, which no job name may hold.
            assert.doesNotThrow(() => encodeURIComponent(part), `${job} has a lone surrogate`);
          }
        },
      ),
      fuzzParameters(),
    );
    assert.ok(derived >= RUNS / 20, `only ${derived} of ${RUNS} cases reached a derived job path`);
  });

  it('keeps at most 100 list entries and bounded strings from payloads blown up to the size limit', () => {
    for (const name of fixtureNames) {
      const payload = fixture(name);
      const many = Array.from({ length: 1_000 }, (_, index) => ({
        id: `c${index}`,
        message: 'm'.repeat(1_200),
        author: { email: 'a@example.com' },
        name: `P${index}`,
        value: 'v'.repeat(1_200),
        field: 'status',
      }));
      for (const field of ['commits', 'parameters']) put(payload, field, many);
      const build = payload['build'];
      if (typeof build === 'object' && build !== null) {
        put(build as Container, 'parameters', many);
        put(build as Container, 'scm', Object.fromEntries(many.map((item) => [item.id, [item.value, item.value]])));
      }
      checkAllAdapters(fixtureHeaders(name), payload);
    }
  });
});
