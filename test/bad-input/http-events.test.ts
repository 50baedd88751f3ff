import assert from 'node:assert/strict';
import type { Express } from 'express';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';
import {
  assertNotStarted,
  assertOnlySentinelOnTaskQueue,
  assertProblem,
  assertPrototypesUnpolluted,
  dispatcherIdFor,
  gatewayFor,
  postSentinelEvent,
  READ_TOKEN,
  sendRaw,
  terminateAll,
  type ExpectedProblem,
} from './support';

/** One crafted request to `POST /events/:source/:type`. */
interface EventCase extends ExpectedProblem {
  readonly name: string;
  /** Route segments as sent (already URL-encoded where it matters); `source` also names the would-be event. */
  readonly source?: string;
  readonly type?: string;
  /** The decoded source, when `source` is percent-encoded. */
  readonly decodedSource?: string;
  /** The Idempotency-Key to send, derived from this case's unique key (default: the unique key itself). */
  readonly key?: (unique: string) => string;
  /** `Authorization` header value; null sends none (default: the write token). */
  readonly auth?: (harness: Harness) => string | null;
  readonly method?: 'post' | 'put';
  readonly path?: (source: string, type: string) => string;
  /** Completes the request: headers and body. */
  readonly send: (pending: request.Test) => request.Test;
}

const json = (body: string | Buffer) => (pending: request.Test) =>
  sendRaw(pending.set('Content-Type', 'application/json'), body);
const typed = (contentType: string, body: string | Buffer) => (pending: request.Test) =>
  sendRaw(pending.set('Content-Type', contentType), body);
/** `{"a":"<bytes>"}` with raw bytes inside the string. */
const withBytes = (...bytes: number[]) =>
  Buffer.concat([Buffer.from('{"issue":"REL-1","note":"'), Buffer.from(bytes), Buffer.from('"}')]);
const nested = (open: string, close: string, levels: number, inner = '1') =>
  `{"a":${open.repeat(levels)}${inner}${close.repeat(levels)}}`;
const ONE_MIB = 1024 * 1024;

const cases: EventCase[] = [
  // Truncated or invalid JSON: 400 naming the JSON error and where it is.
  {
    name: 'truncated JSON after a member',
    send: json('{"issue": "REL-1", '),
    status: 400,
    detail: /not valid JSON: .*position 19/,
  },
  {
    name: 'truncated JSON inside a string',
    send: json('{"issue": "REL'),
    status: 400,
    detail: /not valid JSON: Unterminated string in JSON at position 14/,
  },
  { name: 'a lone opening brace', send: json('{'), status: 400, detail: /not valid JSON: .*position 1/ },
  {
    name: 'single-quoted keys',
    send: json("{'issue': 'REL-1'}"),
    status: 400,
    detail: /not valid JSON: .*property name.*position 1/,
  },
  { name: 'unquoted keys', send: json('{issue: "REL-1"}'), status: 400, detail: /not valid JSON: .*position 1/ },
  { name: 'a trailing comma', send: json('{"a": 1,}'), status: 400, detail: /not valid JSON: .*position 8/ },
  { name: 'a NaN literal', send: json('{"a": NaN}'), status: 400, detail: /not valid JSON: Unexpected token 'N'/ },
  {
    name: 'a JavaScript comment',
    send: json('{"a": 1 /* note */}'),
    status: 400,
    detail: /not valid JSON: .*position 8/,
  },
  {
    name: 'YAML sent as JSON',
    send: json('issue: REL-1\nto: Done\n'),
    status: 400,
    detail: /not valid JSON: Unexpected token 'i'/,
  },
  { name: 'a top-level JSON string', send: json('"REL-1"'), status: 400, detail: /must be a JSON object/ },
  { name: 'a top-level null', send: json('null'), status: 400, detail: /must be a JSON object/ },
  { name: 'a top-level number', send: json('42'), status: 400, detail: /must be a JSON object/ },
  { name: 'a top-level array', send: json('[{"issue": "REL-1"}]'), status: 400, detail: /must be a JSON object/ },
  {
    name: 'an empty body declared as JSON',
    send: json(''),
    status: 400,
    detail: /The body is empty; send a JSON object/,
  },
  {
    name: 'invalid JSON under an application/*+json type',
    send: typed('application/vnd.flow+json', '{"a": }'),
    status: 400,
    detail: /not valid JSON: Unexpected token '\}'/,
  },

  // Wrong content type or encoding: 415 saying what to send.
  {
    name: 'text/plain',
    send: typed('text/plain', '{"issue": "REL-1"}'),
    status: 415,
    detail: /Content-Type: application\/json \(got text\/plain\)/,
  },
  {
    name: 'no Content-Type at all',
    send: (pending) => sendRaw(pending, Buffer.from('{"issue": "REL-1"}')),
    status: 415,
    detail: /Content-Type: application\/json \(got none\)/,
  },
  {
    name: 'a form-encoded body',
    send: typed('application/x-www-form-urlencoded', 'issue=REL-1'),
    status: 415,
    detail: /got application\/x-www-form-urlencoded/,
  },
  {
    name: 'a multipart body',
    send: (pending) => pending.field('issue', 'REL-1'),
    status: 415,
    detail: /got multipart\/form-data/,
  },
  {
    name: 'application/xml',
    send: typed('application/xml', '<issue>REL-1</issue>'),
    status: 415,
    detail: /got application\/xml/,
  },
  { name: 'text/json', send: typed('text/json', '{"issue": "REL-1"}'), status: 415, detail: /got text\/json/ },
  {
    name: 'a latin1 charset',
    send: typed('application/json; charset=latin1', '{"issue": "REL-1"}'),
    status: 415,
    detail: /must be UTF-8/,
  },
  {
    name: 'valid JSON encoded as UTF-16',
    send: typed('application/json; charset=utf-16le', Buffer.from('{"issue": "REL-1"}', 'utf16le')),
    status: 415,
    detail: /must be UTF-8/,
  },
  {
    name: 'an unsupported Content-Encoding',
    send: (pending) => json('{"issue": "REL-1"}')(pending.set('Content-Encoding', 'compress')),
    status: 415,
    detail: /Content-Encoding/,
  },
  {
    name: 'a gzip Content-Encoding whose body is not gzip',
    send: (pending) => json('{"issue": "REL-1"}')(pending.set('Content-Encoding', 'gzip')),
    status: 400,
    detail: /gzip|Content-Encoding|compress/i,
  },

  // Invalid UTF-8: 400 naming the encoding, never U+FFFD smuggled into the event.
  { name: 'an invalid UTF-8 byte (0xFF)', send: json(withBytes(0xff, 0xfe)), status: 400, detail: /UTF-8/ },
  { name: 'an overlong UTF-8 encoding of "/"', send: json(withBytes(0xc0, 0xaf)), status: 400, detail: /UTF-8/ },
  { name: 'a UTF-8-encoded lone surrogate', send: json(withBytes(0xed, 0xa0, 0x80)), status: 400, detail: /UTF-8/ },
  { name: 'a truncated multi-byte sequence', send: json(withBytes(0xe2, 0x82)), status: 400, detail: /UTF-8/ },

  // Size and depth.
  {
    name: 'a body of 1 MiB plus one byte',
    send: (pending) => {
      const prefix = '{"big":"';
      const filler = 'x'.repeat(ONE_MIB + 1 - prefix.length - 2);
      return json(`${prefix}${filler}"}`)(pending);
    },
    status: 413,
    detail: /larger than the limit of 1 MB/,
  },
  {
    name: 'a 5 MB body',
    send: json(JSON.stringify({ big: 'x'.repeat(5 * ONE_MIB) })),
    status: 413,
    detail: /larger than the limit of 1 MB/,
  },
  {
    name: 'objects nested 65 levels deep',
    send: json(nested('{"a":', '}', 64)),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  { name: 'arrays nested 65 levels deep', send: json(nested('[', ']', 64)), status: 400, detail: /deeper than 64/ },
  {
    name: 'arrays nested 100,000 levels deep',
    send: json(nested('[', ']', 100_000)),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'deep nesting hidden under "__proto__" keys',
    send: json(`${'{"__proto__":'.repeat(70)}{"polluted":true}${'}'.repeat(70)}`),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'deep nesting hidden under "constructor"/"prototype" keys',
    send: json(`${'{"constructor":{"prototype":'.repeat(35)}{"polluted":true}${'}}'.repeat(35)}`),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a "__proto__" payload wrapped in a top-level array',
    send: json('[{"__proto__": {"polluted": true}}]'),
    status: 400,
    detail: /must be a JSON object/,
  },

  // Bad names in the route.
  {
    name: 'a source with punctuation',
    source: 'Jira!',
    send: json('{}'),
    status: 400,
    detail: /event source "Jira!" is not valid/,
  },
  {
    name: 'a source of 65 characters',
    source: `s${'x'.repeat(64)}`,
    send: json('{}'),
    status: 400,
    detail: /event source "sx{63}" is not valid: use 1-64/,
  },
  {
    name: 'the source "__proto__"',
    source: '__proto__',
    send: json('{}'),
    status: 400,
    detail: /event source "__proto__" is not valid/,
  },
  {
    name: 'a source with an encoded path traversal',
    source: '..%2F..%2Fapi',
    decodedSource: '../../api',
    send: json('{}'),
    status: 400,
    detail: /event source "\.\.\/\.\.\/api" is not valid/,
  },
  {
    name: 'a source with an encoded NUL',
    source: 'jira%00',
    decodedSource: 'jira\u0000',
    send: json('{}'),
    status: 400,
    detail: /event source "jira\\u0000" is not valid/,
  },
  {
    name: 'a type with capitals',
    type: 'IssueTransitioned',
    send: json('{}'),
    status: 400,
    detail: /event type "IssueTransitioned" is not valid/,
  },
  {
    name: 'a type with non-ASCII letters',
    type: '%C3%A9v%C3%A9nement',
    send: json('{}'),
    status: 400,
    detail: /event type "événement" is not valid/,
  },

  // Bad Idempotency-Key headers.
  {
    name: 'an Idempotency-Key of 201 characters',
    key: (unique) => `${unique}-${'k'.repeat(201 - unique.length - 1)}`,
    send: json('{}'),
    status: 400,
    detail: /Idempotency-Key header must be 1-200 visible ASCII characters/,
  },
  {
    name: 'an Idempotency-Key with a space',
    key: (unique) => `${unique} retry`,
    send: json('{}'),
    status: 400,
    detail: /Idempotency-Key header must be 1-200 visible ASCII/,
  },
  {
    name: 'an Idempotency-Key with non-ASCII characters',
    key: (unique) => `${unique}-cl\u00e9`,
    send: json('{}'),
    status: 400,
    detail: /Idempotency-Key header must be 1-200 visible ASCII/,
  },

  // Authentication and scope.
  {
    name: 'no Authorization header',
    auth: () => null,
    send: json('{}'),
    status: 401,
    detail: /needs `Authorization: Bearer <token>`/,
  },
  {
    name: 'a wrong bearer token',
    auth: () => 'Bearer not-the-token',
    send: json('{}'),
    status: 401,
    detail: /bearer token is not valid/,
  },
  {
    name: 'Basic credentials instead of a bearer token',
    auth: (harness) => `Basic ${Buffer.from(`flow:${harness.token}`).toString('base64')}`,
    send: json('{}'),
    status: 401,
    detail: /bearer token is not valid/,
  },
  {
    name: 'a read-scoped token',
    auth: () => `Bearer ${READ_TOKEN.token}`,
    send: json('{}'),
    status: 403,
    detail: /read scope; POST \/events\/.* needs a token with the write scope/,
  },

  // Routes that do not exist.
  {
    name: 'a path without an event type',
    path: (source) => `/events/${source}`,
    send: json('{}'),
    status: 404,
    detail: /No route for POST \/events\/badinput/,
  },
  {
    name: 'an extra path segment',
    path: (source, type) => `/events/${source}/${type}/extra`,
    send: json('{}'),
    status: 404,
    detail: /No route for POST \/events\/badinput\/ping\/extra/,
  },
  { name: 'PUT instead of POST', method: 'put', send: json('{}'), status: 404, detail: /No route for PUT \/events\// },
];

describe('bad input: POST /events/:source/:type', () => {
  let harness: Harness;
  let limited: Express;
  before(async () => {
    harness = await startHarness({ worker: false, gateway: { extraTokens: [READ_TOKEN] } });
    limited = gatewayFor(harness, { rateLimitPerMinute: 2 });
  });
  after(async () => {
    if (!harness) return;
    await terminateAll(harness);
    await harness.stop();
  });

  for (const c of cases) {
    it(`refuses ${c.name} (${c.status})`, async () => {
      const source = c.source ?? 'badinput';
      const type = c.type ?? 'ping';
      const unique = uniqueName('bad-event');
      const key = c.key ? c.key(unique) : unique;
      const path = c.path ? c.path(source, type) : `/events/${source}/${type}`;
      let pending = request(harness.app)[c.method ?? 'post'](path).set('Idempotency-Key', key);
      const auth = c.auth ? c.auth(harness) : harness.auth;
      if (auth !== null) pending = pending.set('Authorization', auth);
      const res = await c.send(pending);
      assertProblem(res, c);
      if (c.status === 401) assert.equal(res.headers['www-authenticate'], 'Bearer realm="flow"');
      await assertNotStarted(harness, [dispatcherIdFor(c.decodedSource ?? source, key)]);
    });
  }

  it('refuses the third request a minute from one source (429), even a valid one, and starts nothing', async () => {
    const source = uniqueName('noisy');
    for (let i = 0; i < 2; i++) {
      const res = await sendRaw(
        request(limited).post(`/events/${source}/ping`).set('Authorization', harness.auth).type('text/plain'),
        'not json',
      );
      assert.equal(res.status, 415);
    }
    const key = uniqueName('bad-event');
    const res = await request(limited)
      .post(`/events/${source}/ping`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send({ issue: 'REL-1' });
    assertProblem(res, { status: 429, detail: new RegExp(`More than 2 requests a minute from source ${source}`) });
    assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After says when to retry');
    await assertNotStarted(harness, [dispatcherIdFor(source, key)]);
  });

  it('started no workflow at all: only the sentinel is on the task queue, and no prototype was polluted', async () => {
    const sentinel = await postSentinelEvent(harness);
    await assertOnlySentinelOnTaskQueue(harness, sentinel);
    assertPrototypesUnpolluted();
  });
});
