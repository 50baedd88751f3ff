import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';
import {
  assertNotStarted,
  assertOnlySentinelOnTaskQueue,
  assertProblem,
  assertPrototypesUnpolluted,
  bodyHashKey,
  dispatcherIdFor,
  gatewayFor,
  sendRaw,
  terminateAll,
  type ExpectedProblem,
} from './support';

const SECRET = {
  github: 'bad-input-github-secret',
  jira: 'bad-input-jira-secret',
  gitlab: 'bad-input-gitlab-token',
  jenkins: 'bad-input-jenkins-token',
} as const;
const WEBHOOK_ENV = {
  FLOW_WEBHOOK_SECRET_GITHUB: SECRET.github,
  FLOW_WEBHOOK_SECRET_JIRA: SECRET.jira,
  FLOW_WEBHOOK_SECRET_GITLAB: SECRET.gitlab,
  FLOW_WEBHOOK_SECRET_JENKINS: SECRET.jenkins,
};

const hmac = (body: string | Buffer, secret: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** A delivery as sent: headers (Content-Type included unless null) and the raw body. */
interface Delivery {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
  readonly contentType?: string | null;
  /** Delivery keys the router could dedupe this delivery by, besides the body hash. */
  readonly keys: readonly string[];
}

/** One crafted webhook request. */
interface WebhookCase extends ExpectedProblem {
  readonly name: string;
  /** The `:source` segment as sent (percent-encoded where it matters). */
  readonly source: string;
  readonly decodedSource?: string;
  /** `unsigned`: a gateway with no webhook secrets at all (FLOW_ALLOW_UNSIGNED=gitlab only). */
  readonly gateway?: 'unsigned';
  readonly method?: 'get';
  readonly build: (delivery: string) => Delivery;
}

/** A GitHub push body made unique by the delivery id, so its body hash is unique too. */
const pushBody = (delivery: string): string =>
  JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: '1'.repeat(40),
    repository: { full_name: 'acme/shop' },
    pusher: { name: delivery },
    commits: [],
  });

function github(
  delivery: string,
  body: string | Buffer,
  options: { signature?: string | null; event?: string | null; contentType?: string | null } = {},
): Delivery {
  const headers: Record<string, string> = { 'X-GitHub-Delivery': delivery };
  const signature = options.signature === undefined ? hmac(body, SECRET.github) : options.signature;
  if (signature !== null) headers['X-Hub-Signature-256'] = signature;
  const event = options.event === undefined ? 'push' : options.event;
  if (event !== null) headers['X-GitHub-Event'] = event;
  return {
    headers,
    body,
    keys: [delivery],
    ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
  };
}

function jira(delivery: string, payload: unknown, signature?: string | null): Delivery {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'X-Atlassian-Webhook-Identifier': delivery };
  const sent = signature === undefined ? hmac(body, SECRET.jira) : signature;
  if (sent !== null) headers['X-Hub-Signature'] = sent;
  return { headers, body, keys: [delivery] };
}

function gitlab(delivery: string, payload: unknown, token: string | null = SECRET.gitlab): Delivery {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'Idempotency-Key': delivery };
  if (token !== null) headers['X-Gitlab-Token'] = token;
  return { headers, body, keys: [delivery] };
}

/** A Jenkins Notification plugin delivery for job `delivery`; the plugin's dedupe key is job#number#phase. */
function jenkins(
  delivery: string,
  build: Record<string, unknown>,
  token: string | null = SECRET.jenkins,
  extra: Record<string, unknown> = { name: delivery },
): Delivery {
  const body = JSON.stringify({ ...extra, url: `job/${delivery}/`, build });
  const headers: Record<string, string> = {};
  if (token !== null) headers['X-Flow-Token'] = token;
  return { headers, body, keys: [`${delivery}#${String(build['number'])}#${String(build['phase'])}`] };
}

const jiraTransition = (delivery: string) => ({
  webhookEvent: 'jira:issue_updated',
  issue: { key: 'REL-7', fields: { project: { key: 'REL' } } },
  changelog: { items: [{ field: 'status', fromString: 'Open', toString: delivery }] },
});
const finalized = { number: 7, phase: 'FINALIZED', status: 'SUCCESS', full_url: 'http://ci/job/x/7/' };
const withBytes = (...bytes: number[]) =>
  Buffer.concat([Buffer.from('{"ref":"refs/heads/main","note":"'), Buffer.from(bytes), Buffer.from('"}')]);
const ONE_MIB = 1024 * 1024;

const cases: WebhookCase[] = [
  // Unknown sources: 404 naming the known ones; a Map lookup, so prototype names are not sources either.
  {
    name: 'an unknown source',
    source: 'bitbucket',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /There is no webhook source "bitbucket"; the sources are jira, jenkins, github, gitlab/,
  },
  {
    name: 'the source "__proto__"',
    source: '__proto__',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /no webhook source "__proto__"; the sources are jira, jenkins, github, gitlab/,
  },
  {
    name: 'the source "constructor"',
    source: 'constructor',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /no webhook source "constructor"/,
  },
  {
    name: 'the source "toString"',
    source: 'toString',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /no webhook source "toString"/,
  },
  {
    name: 'a source with an encoded path traversal',
    source: '..%2F..%2Fevents%2Fjira%2Fissue_created',
    decodedSource: '../../events/jira/issue_created',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /no webhook source "\.\.\/\.\.\/events\/jira\/issue_created"/,
  },
  {
    name: 'a source in the wrong case',
    source: 'GitHub',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /no webhook source "GitHub"/,
  },
  {
    name: 'GET instead of POST',
    source: 'github',
    method: 'get',
    build: (d) => github(d, pushBody(d)),
    status: 404,
    detail: /No route for GET \/webhooks\/github/,
  },

  // GitHub signatures (HMAC-SHA256 of the raw body in X-Hub-Signature-256).
  {
    name: 'a GitHub delivery without a signature',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: null }),
    status: 401,
    detail: /The X-Hub-Signature-256 header is missing/,
  },
  {
    name: 'a GitHub signature made with another secret',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), 'not-the-secret') }),
    status: 401,
    detail: /X-Hub-Signature-256 signature does not match the body/,
  },
  {
    name: 'a replayed GitHub signature with one changed character in the body',
    source: 'github',
    build: (d) =>
      github(d, pushBody(d).replace('refs/heads/main', 'refs/heads/mair'), {
        signature: hmac(pushBody(d), SECRET.github),
      }),
    status: 401,
    detail: /signature does not match the body; the secret differs or the body was changed in transit/,
  },
  {
    name: 'a replayed GitHub signature with the body re-indented',
    source: 'github',
    build: (d) =>
      github(d, JSON.stringify(JSON.parse(pushBody(d)), null, 2), { signature: hmac(pushBody(d), SECRET.github) }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a replayed GitHub signature with a field appended to the body',
    source: 'github',
    build: (d) =>
      github(d, pushBody(d).replace(/}$/, ',"forced":true}'), { signature: hmac(pushBody(d), SECRET.github) }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub signature with the sha1= prefix',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), SECRET.github).replace('sha256=', 'sha1=') }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub signature with the prefix in capitals',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), SECRET.github).replace('sha256=', 'SHA256=') }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub signature without its prefix',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), SECRET.github).slice('sha256='.length) }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub signature that is not hex',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: `sha256=${'zz'.repeat(32)}` }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a truncated GitHub signature',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), SECRET.github).slice(0, 39) }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub delivery signed with the Jira secret',
    source: 'github',
    build: (d) => github(d, pushBody(d), { signature: hmac(pushBody(d), SECRET.jira) }),
    status: 401,
    detail: /signature does not match the body/,
  },
  {
    name: 'a GitHub signature in the Jira header (X-Hub-Signature)',
    source: 'github',
    build: (d) => {
      const delivery = github(d, pushBody(d), { signature: null });
      return { ...delivery, headers: { ...delivery.headers, 'X-Hub-Signature': hmac(pushBody(d), SECRET.github) } };
    },
    status: 401,
    detail: /The X-Hub-Signature-256 header is missing/,
  },

  // Jira signatures (HMAC-SHA256 in X-Hub-Signature).
  {
    name: 'a Jira delivery without a signature',
    source: 'jira',
    build: (d) => jira(d, jiraTransition(d), null),
    status: 401,
    detail: /The X-Hub-Signature header is missing/,
  },
  {
    name: 'a replayed Jira signature with a changed status in the body',
    source: 'jira',
    build: (d) =>
      jira(d, { ...jiraTransition(d), issue: { key: 'REL-8' } }, hmac(JSON.stringify(jiraTransition(d)), SECRET.jira)),
    status: 401,
    detail: /The X-Hub-Signature signature does not match the body/,
  },
  {
    name: 'a Jira delivery signed with the GitHub secret',
    source: 'jira',
    build: (d) => jira(d, jiraTransition(d), hmac(JSON.stringify(jiraTransition(d)), SECRET.github)),
    status: 401,
    detail: /X-Hub-Signature signature does not match the body/,
  },

  // Token sources: GitLab (X-Gitlab-Token) and Jenkins (X-Flow-Token).
  {
    name: 'a GitLab delivery without its token',
    source: 'gitlab',
    build: (d) => gitlab(d, { object_kind: 'push', ref: `refs/heads/${d}` }, null),
    status: 401,
    detail: /The X-Gitlab-Token header is missing/,
  },
  {
    name: 'a GitLab token that is a prefix of the secret',
    source: 'gitlab',
    build: (d) => gitlab(d, { object_kind: 'push', ref: `refs/heads/${d}` }, SECRET.gitlab.slice(0, 8)),
    status: 401,
    detail: /The X-Gitlab-Token header does not match the configured secret/,
  },
  {
    name: 'a GitLab token with extra characters',
    source: 'gitlab',
    build: (d) => gitlab(d, { object_kind: 'push', ref: `refs/heads/${d}` }, `${SECRET.gitlab}x`),
    status: 401,
    detail: /The X-Gitlab-Token header does not match the configured secret/,
  },
  {
    name: 'a GitLab delivery with an HMAC signature instead of the token',
    source: 'gitlab',
    build: (d) => {
      const delivery = gitlab(d, { object_kind: 'push', ref: `refs/heads/${d}` }, null);
      return {
        ...delivery,
        headers: { ...delivery.headers, 'X-Hub-Signature-256': hmac(delivery.body, SECRET.gitlab) },
      };
    },
    status: 401,
    detail: /The X-Gitlab-Token header is missing/,
  },
  {
    name: 'a Jenkins delivery without its token',
    source: 'jenkins',
    build: (d) => jenkins(d, finalized, null),
    status: 401,
    detail: /The X-Flow-Token header is missing/,
  },
  {
    name: 'a wrong Jenkins token',
    source: 'jenkins',
    build: (d) => jenkins(d, finalized, 'not-the-token'),
    status: 401,
    detail: /The X-Flow-Token header does not match the configured secret/,
  },
  {
    name: 'a Jenkins delivery carrying the GitLab token header',
    source: 'jenkins',
    build: (d) => {
      const delivery = jenkins(d, finalized, null);
      return { ...delivery, headers: { 'X-Gitlab-Token': SECRET.jenkins } };
    },
    status: 401,
    detail: /The X-Flow-Token header is missing/,
  },

  // Sources without a configured secret are refused unless FLOW_ALLOW_UNSIGNED names them.
  {
    name: 'a Jenkins delivery when no Jenkins secret is configured',
    source: 'jenkins',
    gateway: 'unsigned',
    build: (d) => jenkins(d, finalized),
    status: 401,
    detail:
      /No secret is configured for jenkins webhooks.*Set FLOW_WEBHOOK_SECRET_JENKINS.*FLOW_ALLOW_UNSIGNED=jenkins/,
  },
  {
    name: 'a correctly signed Jira delivery when no Jira secret is configured',
    source: 'jira',
    gateway: 'unsigned',
    build: (d) => jira(d, jiraTransition(d)),
    status: 401,
    detail: /No secret is configured for jira webhooks.*FLOW_WEBHOOK_SECRET_JIRA/,
  },
  {
    name: 'a GitHub delivery when no GitHub secret is configured',
    source: 'github',
    gateway: 'unsigned',
    build: (d) => github(d, pushBody(d)),
    status: 401,
    detail: /No secret is configured for github webhooks.*FLOW_ALLOW_UNSIGNED=github/,
  },
  {
    name: 'an unsigned delivery with a wrong content type (authentication comes first)',
    source: 'github',
    gateway: 'unsigned',
    build: (d) => github(d, 'not json', { contentType: 'text/plain' }),
    status: 401,
    detail: /No secret is configured for github webhooks/,
  },
  {
    name: 'an unsigned delivery with invalid UTF-8 (authentication comes first)',
    source: 'github',
    build: (d) => github(d, withBytes(0xff), { signature: null }),
    status: 401,
    detail: /The X-Hub-Signature-256 header is missing/,
  },

  // Authenticated deliveries whose bodies are not UTF-8 JSON objects of sane depth.
  {
    name: 'a signed body with an invalid UTF-8 byte',
    source: 'github',
    build: (d) => github(d, withBytes(0xff, 0xfe)),
    status: 400,
    detail: /The body is not valid UTF-8/,
  },
  {
    name: 'a signed body with an overlong UTF-8 encoding',
    source: 'github',
    build: (d) => github(d, withBytes(0xc0, 0xaf)),
    status: 400,
    detail: /not valid UTF-8/,
  },
  {
    name: 'a signed body with a UTF-8-encoded lone surrogate',
    source: 'jira',
    build: (d) => {
      const body = Buffer.concat([
        Buffer.from('{"webhookEvent":"'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]);
      return {
        headers: { 'X-Atlassian-Webhook-Identifier': d, 'X-Hub-Signature': hmac(body, SECRET.jira) },
        body,
        keys: [d],
      };
    },
    status: 400,
    detail: /not valid UTF-8/,
  },
  {
    name: 'a signed truncated JSON body',
    source: 'github',
    build: (d) => github(d, '{"ref": "refs/heads/main", '),
    status: 400,
    detail: /The body is not valid JSON: .*position 27/,
  },
  {
    name: 'a signed empty body',
    source: 'github',
    build: (d) => github(d, ''),
    status: 400,
    detail: /The body is empty; send a JSON object/,
  },
  {
    name: 'a signed JSON array',
    source: 'github',
    build: (d) => github(d, `[${pushBody(d)}]`),
    status: 400,
    detail: /must be a JSON object/,
  },
  {
    name: 'a signed JSON null',
    source: 'gitlab',
    build: (d) => ({ headers: { 'Idempotency-Key': d, 'X-Gitlab-Token': SECRET.gitlab }, body: 'null', keys: [d] }),
    status: 400,
    detail: /must be a JSON object/,
  },
  {
    name: 'a signed body nested 65 levels deep',
    source: 'github',
    build: (d) => github(d, `{"ref":"refs/heads/main","x":${'{"a":'.repeat(64)}1${'}'.repeat(64)}}`),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a signed body nested 100,000 levels deep',
    source: 'github',
    build: (d) => github(d, `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a signed body nested deeply under "__proto__" keys',
    source: 'jenkins',
    build: (d) => ({
      headers: { 'X-Flow-Token': SECRET.jenkins },
      body: `{"name":"${d}","build":${'{"__proto__":'.repeat(70)}{}${'}'.repeat(70)}}`,
      keys: [d],
    }),
    status: 400,
    detail: /deeper than 64 levels/,
  },
  {
    name: 'a signed body sent as text/plain',
    source: 'github',
    build: (d) => github(d, pushBody(d), { contentType: 'text/plain' }),
    status: 415,
    detail: /Content-Type: application\/json \(got text\/plain\)/,
  },
  {
    name: 'a signed body without a Content-Type',
    source: 'github',
    build: (d) => github(d, pushBody(d), { contentType: null }),
    status: 415,
    detail: /\(got none\)/,
  },
  {
    name: 'a signed body of 1 MiB plus one byte',
    source: 'github',
    build: (d) => {
      const prefix = '{"ref":"refs/heads/main","x":"';
      return github(d, `${prefix}${'x'.repeat(ONE_MIB + 1 - prefix.length - 2)}"}`);
    },
    status: 413,
    detail: /The request body is larger than the limit of 1 MB/,
  },

  // Authenticated, well-formed JSON that the adapter cannot map: 400/422 naming the missing field.
  {
    name: 'a GitHub delivery without X-GitHub-Event',
    source: 'github',
    build: (d) => github(d, pushBody(d), { event: null }),
    status: 400,
    detail: /GitHub delivery has no X-GitHub-Event header/,
  },
  {
    name: 'a GitHub push without a ref',
    source: 'github',
    build: (d) => github(d, JSON.stringify({ after: d })),
    status: 422,
    detail: /GitHub push payload has no ref/,
  },
  {
    name: 'a GitHub push whose ref is only reachable through "__proto__"',
    source: 'github',
    build: (d) => github(d, `{"__proto__":{"ref":"refs/heads/main"},"after":"${d}"}`),
    status: 422,
    detail: /GitHub push payload has no ref/,
  },
  {
    name: 'a GitHub push whose ref is a number',
    source: 'github',
    build: (d) => github(d, JSON.stringify({ ref: 42, after: d })),
    status: 422,
    detail: /GitHub push payload has no ref/,
  },
  {
    name: 'a GitHub pull_request whose action has path characters',
    source: 'github',
    build: (d) =>
      github(d, JSON.stringify({ action: '../../opened', number: 1, pull_request: { title: d } }), {
        event: 'pull_request',
      }),
    status: 422,
    detail: /GitHub pull_request payload has no valid action/,
  },
  {
    name: 'a GitHub release without a tag',
    source: 'github',
    build: (d) => github(d, JSON.stringify({ action: 'published', release: { name: d } }), { event: 'release' }),
    status: 422,
    detail: /GitHub release payload has no release.tag_name/,
  },
  {
    name: 'a Jira webhookEvent that maps to the type "__proto__"',
    source: 'jira',
    build: (d) => jira(d, { webhookEvent: 'jira:__proto__', note: d }),
    status: 422,
    detail: /Event type "__proto__" is not a valid Flow event type/,
  },
  {
    name: 'a Jira webhookEvent only reachable through "__proto__"',
    source: 'jira',
    build: (d) => jira(d, `{"__proto__":{"webhookEvent":"jira:issue_created"},"note":"${d}"}`),
    status: 422,
    detail: /Jira payload has no webhookEvent and no transition object/,
  },
  {
    name: 'a Jira webhookEvent named "hasOwnProperty"',
    source: 'jira',
    build: (d) => jira(d, { webhookEvent: 'hasOwnProperty', note: d }),
    status: 422,
    detail: /Jira webhookEvent "hasOwnProperty" does not name an event Flow can match/,
  },
  {
    name: 'a Jira webhookEvent with path characters',
    source: 'jira',
    build: (d) => jira(d, { webhookEvent: 'jira:../../issue_created', note: d }),
    status: 422,
    detail: /Jira webhookEvent "jira:\.\.\/\.\.\/issue_created" does not name an event/,
  },
  {
    name: 'a Jira issue_updated without issue.key',
    source: 'jira',
    build: (d) => jira(d, { webhookEvent: 'jira:issue_updated', issue: { id: d } }),
    status: 422,
    detail: /Jira "jira:issue_updated" payload has no issue.key/,
  },
  {
    name: 'a Jira transition whose to_status is only reachable through "__proto__"',
    source: 'jira',
    build: (d) =>
      jira(d, `{"issue":{"key":"REL-7"},"transition":{"__proto__":{"to_status":"Done"},"transitionName":"${d}"}}`),
    status: 422,
    detail: /Jira transition payload has no transition.to_status/,
  },
  {
    name: 'a Jenkins payload without a job name',
    source: 'jenkins',
    build: (d) => jenkins(d, finalized, SECRET.jenkins, { display: d }),
    status: 422,
    detail: /Jenkins payload has no job name \(name\)/,
  },
  {
    name: 'a Jenkins build phase named "constructor"',
    source: 'jenkins',
    build: (d) => jenkins(d, { number: 7, phase: 'constructor' }),
    status: 422,
    detail: /Jenkins build.phase "constructor" is not QUEUED, STARTED, COMPLETED or FINALIZED/,
  },
  {
    name: 'a Jenkins build phase named "__proto__"',
    source: 'jenkins',
    build: (d) => jenkins(d, { number: 7, phase: '__proto__' }),
    status: 422,
    detail: /Jenkins build.phase "__proto__" is not QUEUED/,
  },
  {
    name: 'a Jenkins build whose number and phase are only reachable through "__proto__"',
    source: 'jenkins',
    build: (d) => ({
      headers: { 'X-Flow-Token': SECRET.jenkins },
      body: `{"name":"${d}","build":{"__proto__":{"number":7,"phase":"FINALIZED"}}}`,
      keys: [`${d}#7#FINALIZED`],
    }),
    status: 422,
    detail: /Jenkins payload has no build number \(build.number\)/,
  },
  {
    name: 'a Jenkins build with a negative number',
    source: 'jenkins',
    build: (d) => jenkins(d, { number: -7, phase: 'FINALIZED' }),
    status: 422,
    detail: /Jenkins payload has no build number/,
  },
  {
    name: 'a GitLab payload without object_kind',
    source: 'gitlab',
    build: (d) => gitlab(d, { ref: `refs/heads/${d}` }),
    status: 422,
    detail: /GitLab payload has no object_kind/,
  },
  {
    name: 'a GitLab object_kind only reachable through "__proto__"',
    source: 'gitlab',
    build: (d) => {
      const body = `{"__proto__":{"object_kind":"push"},"ref":"refs/heads/${d}"}`;
      return { headers: { 'Idempotency-Key': d, 'X-Gitlab-Token': SECRET.gitlab }, body, keys: [d] };
    },
    status: 422,
    detail: /GitLab payload has no object_kind/,
  },
  {
    name: 'a GitLab push without a ref',
    source: 'gitlab',
    build: (d) => gitlab(d, { object_kind: 'push', after: d }),
    status: 422,
    detail: /GitLab push payload has no ref/,
  },
];

describe('bad input: POST /webhooks/:source', () => {
  let harness: Harness;
  let unsigned: Express;
  let limited: Express;
  before(async () => {
    harness = await startHarness({ worker: false, webhookEnv: WEBHOOK_ENV });
    unsigned = gatewayFor(harness, { webhookEnv: { FLOW_ALLOW_UNSIGNED: 'gitlab' } });
    limited = gatewayFor(harness, { webhookEnv: WEBHOOK_ENV, rateLimitPerMinute: 2 });
  });
  after(async () => {
    if (!harness) return;
    await terminateAll(harness);
    await harness.stop();
  });

  function send(app: Express, method: 'post' | 'get', source: string, delivery: Delivery): request.Test {
    let pending = request(app)[method](`/webhooks/${source}`);
    for (const [name, value] of Object.entries(delivery.headers)) pending = pending.set(name, value);
    const contentType = delivery.contentType === undefined ? 'application/json' : delivery.contentType;
    if (contentType !== null) pending = pending.set('Content-Type', contentType);
    // superagent labels a string without a type as a form; a Buffer goes out with no Content-Type at all.
    return sendRaw(pending, contentType === null ? Buffer.from(delivery.body) : delivery.body);
  }

  for (const c of cases) {
    it(`refuses ${c.name} (${c.status})`, async () => {
      const delivery = c.build(uniqueName('bad-delivery'));
      const app = c.gateway === 'unsigned' ? unsigned : harness.app;
      const res = await send(app, c.method ?? 'post', c.source, delivery);
      assertProblem(res, c);
      const source = c.decodedSource ?? c.source;
      await assertNotStarted(harness, [
        ...delivery.keys.map((key) => dispatcherIdFor(source, key)),
        dispatcherIdFor(source, bodyHashKey(delivery.body)),
      ]);
    });
  }

  it('refuses the third delivery a minute from one source (429), even a correctly signed one, and starts nothing', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await send(limited, 'post', 'github', github(uniqueName('bad-delivery'), '{}', { signature: null }));
      assert.equal(res.status, 401);
    }
    const delivery = github(uniqueName('bad-delivery'), pushBody(uniqueName('pusher')));
    const res = await send(limited, 'post', 'github', delivery);
    assertProblem(res, { status: 429, detail: /More than 2 requests a minute from source github/ });
    assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After says when to retry');
    await assertNotStarted(harness, [
      dispatcherIdFor('github', delivery.keys[0]!),
      dispatcherIdFor('github', bodyHashKey(delivery.body)),
    ]);
  });

  it('started no workflow at all: only a valid sentinel delivery is on the task queue, and no prototype was polluted', async () => {
    const delivery = github(uniqueName('sentinel'), pushBody(uniqueName('sentinel')));
    const res = await send(harness.app, 'post', 'github', delivery);
    assert.equal(res.status, 202, `the sentinel delivery was not accepted: ${res.text}`);
    await assertOnlySentinelOnTaskQueue(harness, res.body.workflowId as string);
    assertPrototypesUnpolluted();
  });
});
