/**
 * Shared checks of the crafted bad-input HTTP suite (`http-*.test.ts`): every refusal is problem+json with a detail
 * that names the problem, starts no dispatcher workflow, and stores nothing in the registry.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import request from 'supertest';
import { actionsById } from '../../activities';
import { dispatchWorkflowId } from '../../common/run-types';
import { createApp } from '../../gateway/app';
import type { ApiToken } from '../../gateway/auth';
import { webhookAdapters } from '../../gateway/webhooks/adapters';
import { eventIdFor } from '../../intake';
import type { Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

/** A read-scoped token the suites give their harness (`gateway.extraTokens`), to prove writes need `write`. */
export const READ_TOKEN: ApiToken = { token: 'bad-input-read-scope-token', scope: 'read', name: 'reader' };

/** The registry's MongoDB collections (see the stores in `registry/`), which a refused request must leave as they were. */
export const REGISTRY_COLLECTIONS = [
  'definitions',
  'definition_revisions',
  'definition_bindings',
  'registry_locks',
  'registry_meta',
  'approver_groups',
  'subscriptions',
  'subscription_bindings',
  'subscription_owners',
  'action_catalog',
  'action_packs',
];

/** What a refusal must look like. */
export interface ExpectedProblem {
  readonly status: number;
  /** Matched against `detail`, which must name the problem. */
  readonly detail: RegExp;
  /** For 422s: each must match one entry of `errors` (its path exactly, its message by pattern). */
  readonly errors?: readonly { readonly path: string; readonly message: RegExp }[];
}

/** Titles that must go with a status, whichever layer answers (a handler or the body parser). */
const TITLES: Readonly<Record<number, string>> = { 413: 'Content Too Large', 415: 'Unsupported Media Type' };

/** Asserts `res` is an RFC 9457 problem with the expected status and a detail (and errors) naming the problem. */
export function assertProblem(res: request.Response, expected: ExpectedProblem): void {
  const summary = `${res.status} ${res.headers['content-type'] ?? '(no content-type)'} ${res.text.slice(0, 600)}`;
  assert.equal(res.status, expected.status, `expected ${expected.status}, got ${summary}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/, summary);
  const problem = JSON.parse(res.text) as { status?: unknown; detail?: unknown; errors?: unknown };
  assert.equal(problem.status, expected.status, `the body's status differs from the response's: ${summary}`);
  const title = TITLES[expected.status];
  if (title) assert.equal((problem as { title?: unknown }).title, title, summary);
  assert.equal(typeof problem.detail, 'string', summary);
  assert.match(problem.detail as string, expected.detail, summary);
  if (expected.errors) {
    assert.ok(Array.isArray(problem.errors), `a 422 lists its errors: ${summary}`);
    const errors = problem.errors as { path: string; message: string }[];
    for (const wanted of expected.errors) {
      assert.ok(
        errors.some((error) => error.path === wanted.path && wanted.message.test(error.message)),
        `no error at ${wanted.path} matching ${String(wanted.message)} in ${JSON.stringify(errors)}`,
      );
    }
  }
}

/** The dispatcher workflow id an event with this source and key gets (`event-<source>-<key>`). */
export function dispatcherIdFor(source: string, key: string): string {
  return dispatchWorkflowId(eventIdFor(source, key));
}

/** The key a webhook delivery without a delivery id is deduplicated by: a hash of the raw body. */
export function bodyHashKey(raw: string | Buffer): string {
  return `body-${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`;
}

/** Asserts that Temporal has no workflow with any of these ids: nothing was started for the request. */
export async function assertNotStarted(harness: Harness, workflowIds: readonly string[]): Promise<void> {
  assert.ok(workflowIds.length > 0, 'a case must name the workflow ids it could have started');
  for (const workflowId of workflowIds) {
    await assert.rejects(
      harness.client.workflow.getHandle(workflowId).describe(),
      (error: unknown) => error instanceof WorkflowNotFoundError,
      `workflow ${workflowId} exists: the refused request started it`,
    );
  }
}

/** Document counts of the registry collections, to compare before and after a refused request. */
export async function registryCounts(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of REGISTRY_COLLECTIONS) counts[name] = await db.collection(name).countDocuments();
  return counts;
}

/** Sends `body` byte for byte: superagent would otherwise serialize a Buffer as JSON. */
export function sendRaw(pending: request.Test, body: string | Buffer): request.Test {
  return pending.serialize((raw: unknown) => raw as string).send(body);
}

/** A second gateway on the harness's store, client and task queue, with its own limits and webhook environment. */
export function gatewayFor(
  harness: Harness,
  options: { webhookEnv?: Readonly<Record<string, string | undefined>>; rateLimitPerMinute?: number },
): Express {
  return createApp({
    health: {},
    apiToken: harness.token,
    extraTokens: [READ_TOKEN],
    store: harness.store,
    catalog: actionsById(),
    intake: { client: harness.client, taskQueue: harness.taskQueue },
    webhooks: { adapters: webhookAdapters, env: options.webhookEnv ?? {} },
    ...(options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute }),
  });
}

/** Posts one valid event through the generic intake and returns its dispatcher workflow id. */
export async function postSentinelEvent(harness: Harness): Promise<string> {
  const res = await request(harness.app)
    .post('/events/sentinel/ping')
    .set('Authorization', harness.auth)
    .set('Idempotency-Key', uniqueName('sentinel'))
    .send({ sentinel: true });
  assert.equal(res.status, 202, `the sentinel event was not accepted: ${res.text}`);
  return res.body.workflowId as string;
}

async function workflowIdsOn(harness: Harness, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of harness.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

/**
 * Asserts, through Temporal's visibility, that the only workflow on the harness's task queue is the sentinel. The
 * sentinel must be visible first, so visibility lag cannot make an empty answer pass.
 */
export async function assertOnlySentinelOnTaskQueue(harness: Harness, sentinelWorkflowId: string): Promise<void> {
  const onQueue = `TaskQueue = "${harness.taskQueue}"`;
  await eventually(
    async () =>
      (await workflowIdsOn(harness, `${onQueue} AND WorkflowId = "${sentinelWorkflowId}"`)).length === 1
        ? true
        : undefined,
    30_000,
    `the sentinel ${sentinelWorkflowId} to become visible`,
  );
  const { count } = await harness.client.workflow.count(onQueue);
  const ids = await workflowIdsOn(harness, onQueue);
  assert.equal(count, 1, `workflows on ${harness.taskQueue}: ${ids.join(', ')}`);
  assert.deepEqual(ids, [sentinelWorkflowId]);
}

/** Terminates whatever is still running on the harness's task queue (the sentinel, or anything a bug started). */
export async function terminateAll(harness: Harness): Promise<void> {
  for (const id of await workflowIdsOn(harness, `TaskQueue = "${harness.taskQueue}" AND ExecutionStatus = "Running"`)) {
    await harness.client.workflow
      .getHandle(id)
      .terminate('bad-input suite cleanup')
      .catch(() => undefined);
  }
}

const objectPrototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
const arrayPrototypeNames = Object.getOwnPropertyNames(Array.prototype).sort();

/** Asserts that no request polluted the prototypes of this process (the gateway runs in it through supertest). */
export function assertPrototypesUnpolluted(): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), objectPrototypeNames);
  assert.deepEqual(Object.getOwnPropertyNames(Array.prototype).sort(), arrayPrototypeNames);
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'url', 'isAdmin', 'to', 'ref', 'webhookEvent', 'number', 'enabled']) {
    assert.equal(probe[key], undefined, `Object.prototype.${key} was set`);
  }
  const inherited: string[] = [];
  for (const key in probe) inherited.push(key);
  assert.deepEqual(inherited, [], 'Object.prototype gained enumerable properties');
  assert.equal(Object.getPrototypeOf(probe), Object.prototype);
}
