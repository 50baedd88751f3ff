import assert from 'node:assert/strict';
import express, { type Request } from 'express';
import fc from 'fast-check';
import { ProblemError } from '../../gateway/problem';
import { MAX_JSON_DEPTH } from '../../common/json-depth';
import { parseJsonObject } from '../../gateway/request-body';
import { assertPrototypesIntact, FUZZ_TIMEOUT_MS, fuzzParameters, POLLUTION_KEYS, RUNS } from './fuzz-runs';

/** A real Express request object (so `req.is()` and `req.get()` behave as in the gateway) with the given head. */
function requestWith(contentType: string | undefined, body?: unknown): Request {
  const req = Object.create(express.request) as Request;
  const headers: Record<string, string> = { 'content-length': '1' };
  if (contentType !== undefined) headers['content-type'] = contentType;
  Object.assign(req, { headers, body });
  return req;
}

type Outcome = { kind: 'object'; value: Record<string, unknown> } | { kind: 'problem'; error: ProblemError };

/** Runs `parse`, failing the property on anything but a plain object or a 4xx ProblemError with a detail. */
function outcomeOf(parse: () => Record<string, unknown>): Outcome {
  let value: Record<string, unknown>;
  try {
    value = parse();
  } catch (error) {
    assert.ok(error instanceof ProblemError, `threw something other than a ProblemError: ${String(error)}`);
    assert.ok(error.status >= 400 && error.status < 500, `status ${error.status} is not a 4xx`);
    assert.ok(error.detail.trim().length > 0, 'the problem has an empty detail');
    assertPrototypesIntact();
    return { kind: 'problem', error };
  }
  assert.equal(typeof value, 'object');
  assert.notEqual(value, null);
  assert.ok(!Array.isArray(value), 'returned an array');
  assertPrototypesIntact();
  return { kind: 'object', value };
}

/** Nesting depth the way the gateway counts it: the top-level object is depth 1. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

/** What the gateway must make of `raw`, computed independently: the parsed object, or the reason it refuses it. */
function expectedFor(raw: Uint8Array): { accept: unknown } | { refuse: 'utf-8' | 'json' | 'shape' | 'depth' } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { refuse: 'utf-8' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { refuse: 'json' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { refuse: 'shape' };
  if (depthOf(parsed) > MAX_JSON_DEPTH) return { refuse: 'depth' };
  return { accept: parsed };
}

const DETAIL_FOR = {
  'utf-8': /not valid UTF-8/,
  json: /not valid JSON|is empty/,
  shape: /must be a JSON object/,
  depth: /deeper than 64 levels/,
} as const;

/** Checks one raw body against the independent oracle above. */
function checkRawBody(raw: Uint8Array): void {
  const outcome = outcomeOf(() => parseJsonObject(requestWith('application/json'), Buffer.from(raw)));
  const expected = expectedFor(raw);
  if ('accept' in expected) {
    assert.equal(outcome.kind, 'object', outcome.kind === 'problem' ? outcome.error.detail : '');
    assert.deepEqual(outcome.kind === 'object' ? outcome.value : undefined, expected.accept);
  } else {
    assert.equal(outcome.kind, 'problem', `accepted a body that should be refused for ${expected.refuse}`);
    if (outcome.kind === 'problem') {
      assert.equal(outcome.error.status, 400);
      assert.match(outcome.error.detail, DETAIL_FOR[expected.refuse]);
    }
  }
}

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** Any UTF-16 code unit, so strings hold lone surrogates and unpaired halves. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const wildString = fc.oneof(fc.string({ unit: anyCodeUnit, maxLength: 40 }), fc.string({ maxLength: 40 }));

/** JSON-shaped keys, including those that reach prototypes. */
const key = fc.oneof(fc.constantFrom(...POLLUTION_KEYS, 'polluted', ''), fc.string({ maxLength: 8 }));
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(2 ** 53 + 1, -(2 ** 63), 1e308, 5e-324, -0),
    wildString,
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(key, tie('json'), { maxKeys: 5 }),
  ),
}));
const jsonObject = fc.dictionary(key, json, { maxKeys: 6 });

/**
 * JSON text, with the tricks a hostile sender uses: number forms beyond 2^53 and exponents, escapes of lone
 * surrogates, whitespace JSON allows and some it does not, and a BOM.
 */
const jsonText = fc.oneof(
  jsonObject.map((value) => JSON.stringify(value)),
  jsonObject.map((value) => JSON.stringify(value, null, '\t')),
  fc.constantFrom(
    '{"n": 123456789012345678901234567890}',
    '{"n": 1e999}',
    '{"n": -0}',
    '{"s": "\\ud800"}',
    '{"s": "\\udc00\\ud800"}',
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"a": 1, "a": 2}',
    '\ufeff{}',
    '{}\u0000',
    '{\u00a0}',
    ' \r\n\t{} \r\n\t',
    '{"a": [1, 2, ]}',
    "{'a': 1}",
    '{"a": NaN}',
    '{"a": undefined}',
    '',
    'null',
    '[]',
    '"text"',
    '0',
  ),
);

/** Objects and arrays wrapped `depth` times around a leaf, mixed the way a hostile sender would. */
const nested = fc
  .record({
    depth: fc.integer({ min: 1, max: 3 * MAX_JSON_DEPTH }),
    kinds: fc.array(fc.constantFrom('object', 'array', 'proto'), { minLength: 1, maxLength: 8 }),
    leaf: fc.constantFrom('1', 'null', '"x"', '{}', '[]'),
  })
  .map(({ depth, kinds, leaf }) => {
    let text: string = leaf;
    for (let level = depth; level >= 1; level--) {
      const kind = level === 1 ? 'object' : kinds[level % kinds.length];
      if (kind === 'array') text = `[${text}]`;
      else if (kind === 'proto') text = `{"__proto__":${text}}`;
      else text = `{"k":${text}}`;
    }
    return text;
  });

describe('bad input: raw request bodies (gateway/request-body.ts)', function () {
  this.timeout(FUZZ_TIMEOUT_MS);

  it(`answers any ${RUNS} random byte strings with a plain object or a 400 that says why`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => checkRawBody(raw)),
      fuzzParameters(),
    );
  });

  it(`answers ${RUNS} random strings, lone surrogates included, sent as UTF-8 as JSON.parse would`, () => {
    // Node writes a lone surrogate as U+FFFD, so these bytes are valid UTF-8 and only the JSON can be wrong.
    const text = fc.oneof(
      fc.string({ unit: anyCodeUnit, maxLength: 60 }),
      fc.tuple(jsonText, fc.string({ unit: anyCodeUnit, maxLength: 4 }), fc.nat()).map(([json, noise, at]) => {
        const cut = at % (json.length + 1);
        return json.slice(0, cut) + noise + json.slice(cut);
      }),
    );
    fc.assert(
      fc.property(text, (value) => checkRawBody(utf8(value))),
      fuzzParameters(),
    );
  });

  it(`refuses ${RUNS} bodies that are not UTF-8, such as lone surrogates encoded byte by byte, with a 400`, () => {
    // A lone surrogate written as its three UTF-8-style bytes (CESU-8/WTF-8) is not UTF-8, wherever it sits.
    const loneSurrogate = fc
      .integer({ min: 0xd800, max: 0xdfff })
      .map((unit) => [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]);
    const invalidSequence = fc.oneof(
      loneSurrogate,
      fc.constantFrom([0xc0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xfe], [0x80], [0xed, 0xa0], [0xf0, 0x90, 0x80]),
    );
    fc.assert(
      fc.property(jsonText, invalidSequence, fc.nat(), (text, bad, at) => {
        const bytes = utf8(text);
        const cut = bytes.length === 0 ? 0 : at % (bytes.length + 1);
        const raw = new Uint8Array([...bytes.subarray(0, cut), ...bad, ...bytes.subarray(cut)]);
        checkRawBody(raw);
        const outcome = outcomeOf(() => parseJsonObject(requestWith('application/json'), Buffer.from(raw)));
        assert.equal(outcome.kind, 'problem');
      }),
      fuzzParameters(),
    );
  });

  it(`answers ${RUNS} JSON texts, whole, truncated or with a byte changed, exactly as JSON.parse and the depth limit say`, () => {
    fc.assert(
      fc.property(
        jsonText,
        fc.oneof(
          fc.constant({ edit: 'none' as const }),
          fc.record({ edit: fc.constant('truncate' as const), at: fc.nat() }),
          fc.record({ edit: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        ),
        (text, change) => {
          let raw = utf8(text);
          if (change.edit === 'truncate') raw = raw.subarray(0, raw.length === 0 ? 0 : change.at % raw.length);
          if (change.edit === 'flip' && raw.length > 0) {
            raw = Uint8Array.from(raw);
            raw[change.at % raw.length] = change.byte;
          }
          checkRawBody(raw);
        },
      ),
      fuzzParameters(),
    );
  });

  it(`accepts ${RUNS} nestings up to ${MAX_JSON_DEPTH} levels and refuses deeper ones with a 400`, () => {
    fc.assert(
      fc.property(nested, (text) => checkRawBody(utf8(text))),
      fuzzParameters(),
    );
  });

  it('refuses bodies nested 100,000 deep with a 400 rather than overflowing the stack', () => {
    for (const [open, close] of [
      ['{"a":', '}'],
      ['[', ']'],
    ] as const) {
      const depth = 100_000;
      const text = `{"x":${open.repeat(depth)}1${close.repeat(depth)}}`;
      const outcome = outcomeOf(() => parseJsonObject(requestWith('application/json'), Buffer.from(text)));
      assert.equal(outcome.kind, 'problem');
      if (outcome.kind === 'problem') assert.match(outcome.error.detail, /deeper than 64 levels/);
    }
  });

  it(`keeps __proto__ and constructor keys as plain data in ${RUNS} bodies, never touching Object.prototype`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...POLLUTION_KEYS),
        fc.constantFrom(...POLLUTION_KEYS),
        json,
        (outer, inner, value) => {
          const text = `{${JSON.stringify(outer)}: {${JSON.stringify(inner)}: {"polluted": ${JSON.stringify(value)}}}}`;
          const outcome = outcomeOf(() => parseJsonObject(requestWith('application/json'), Buffer.from(text)));
          assert.equal(outcome.kind, 'object');
          if (outcome.kind === 'object') {
            assert.ok(Object.hasOwn(outcome.value, outer), `${outer} is not an own key of the result`);
            assert.equal(Object.getPrototypeOf(outcome.value), Object.prototype);
          }
        },
      ),
      fuzzParameters(),
    );
  });

  it(`answers ${RUNS} requests with random Content-Types with 415 unless they declare JSON`, () => {
    const contentType = fc.option(
      fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'application/vnd.api+json',
          'APPLICATION/JSON',
          'text/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/',
          '*/*',
          ';',
        ),
        fc.string({ maxLength: 30 }),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(contentType, jsonText, (type, text) => {
        const req = requestWith(type);
        const declaresJson = Boolean(req.is('application/json') || req.is('application/*+json'));
        const outcome = outcomeOf(() => parseJsonObject(req, Buffer.from(text)));
        if (!declaresJson) {
          assert.equal(outcome.kind, 'problem');
          if (outcome.kind === 'problem') assert.equal(outcome.error.status, 415);
        } else if (outcome.kind === 'problem') {
          // A JSON type naming a charset other than UTF-8 is refused as a media type, anything else as a bad body.
          const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type ?? '')?.[1]?.toLowerCase();
          const foreignCharset = charset !== undefined && charset !== 'utf-8' && charset !== 'utf8';
          assert.equal(outcome.error.status, foreignCharset ? 415 : 400, outcome.error.detail);
        }
      }),
      fuzzParameters(),
    );
  });
});
