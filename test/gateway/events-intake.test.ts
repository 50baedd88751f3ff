import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { actionsById } from '../../activities';
import type { FlowEvent } from '../../common/run-types';
import { parseApiTokens } from '../../config';
import type { AcceptedEvent } from '../../intake';
import { createApp } from '../../gateway/app';
import { findFreePort } from '../../devstack/ports';
import { DefinitionStore } from '../../registry';
import { startHarness, type Harness } from '../support/harness';
import { openTestMongo, uniqueName } from '../support/stack';

describe('gateway: POST /events/:source/:type', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ worker: false });
  });
  after(() => harness.stop());
  const post = (path: string) => request(harness.app).post(path).set('Authorization', harness.auth);

  /** Lists dispatchers on this harness's task queue: proof that a rejected request started nothing. */
  async function dispatchersStarted(): Promise<number> {
    let count = 0;
    for await (const _ of harness.client.workflow.list({ query: `TaskQueue = "${harness.taskQueue}"` })) count++;
    return count;
  }

  it('rejects bodies that are not JSON objects, bad names and bad keys with a 4xx that says what to fix', async () => {
    const cases: [request.Test, number, RegExp][] = [
      [
        post('/events/jira/issue_transitioned').type('text/plain').send('hello'),
        415,
        /Content-Type: application\/json/,
      ],
      [post('/events/jira/issue_transitioned').type('application/json').send('{"truncated": '), 400, /not valid JSON/],
      [post('/events/jira/issue_transitioned').type('application/json').send('[1,2]'), 400, /must be a JSON object/],
      [post('/events/Jira!/issue_transitioned').send({}), 400, /event source "Jira!" is not valid/],
      [
        post('/events/jira/issue_transitioned').set('Idempotency-Key', 'x'.repeat(201)).send({}),
        400,
        /Idempotency-Key/,
      ],
      [
        post('/events/jira/issue_transitioned')
          .type('application/json')
          .send(JSON.stringify({ big: 'x'.repeat(1024 * 1024) })),
        413,
        /larger than the limit of 1 MB/,
      ],
    ];
    for (const [pending, status, detail] of cases) {
      const res = await pending;
      assert.equal(res.status, status, res.text);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(res.body.detail, detail);
    }
    assert.equal(await dispatchersStarted(), 0);
  });

  it('answers 503 with Retry-After when Temporal is unreachable, and says the event was not accepted', async () => {
    const closed = await findFreePort();
    const connection = Connection.lazy({ address: `127.0.0.1:${closed}` });
    const mongo = openTestMongo();
    try {
      const app = createApp({
        health: {},
        apiToken: 't',
        catalog: actionsById(),
        store: new DefinitionStore(mongo, actionsById()),
        intake: { client: new Client({ connection }), taskQueue: 'unused', timeoutMs: 1_500 },
        webhooks: { adapters: [], env: {} },
      });
      const res = await request(app).post('/events/git/push').set('Authorization', 'Bearer t').send({ ref: 'main' });
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
      assert.match(res.body.detail, /Temporal is unreachable, so the event was not accepted/);
    } finally {
      await connection.close();
      await mongo.close();
    }
  });
});

describe('gateway: the actor of an event', () => {
  const ALICE = 'alices-write-token-0123456789';
  const BOB = 'bobs-write-token-0123456789';
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      worker: false,
      gateway: {
        extraTokens: parseApiTokens({ FLOW_API_TOKENS: `alice:write:${ALICE}, bob@example.com:write:${BOB}` }),
      },
      webhookEnv: { FLOW_ALLOW_UNSIGNED: 'jira' },
    });
  });
  after(() => harness.stop());

  /** The event the dispatcher workflow was started with, read from its history in Temporal. */
  async function dispatchedEvent(workflowId: string): Promise<FlowEvent> {
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.ok(payload, `${workflowId} has no input`);
    return defaultPayloadConverter.fromPayload<FlowEvent>(payload);
  }

  /** POSTs `{name: 'Ada'}` as demo/hello with `token`, and with `key` as its Idempotency-Key when given. */
  async function post(token: string, key?: string): Promise<AcceptedEvent> {
    const pending = request(harness.app).post('/events/demo/hello').set('Authorization', `Bearer ${token}`);
    if (key !== undefined) pending.set('Idempotency-Key', key);
    return (await pending.send({ name: 'Ada' }).expect(202)).body as AcceptedEvent;
  }

  it("hands the dispatcher the token's name as the event's actor, outside the event's id and dedup", async () => {
    const key = uniqueName('actor');
    const first = await post(ALICE, key);
    assert.deepEqual([first.eventId, first.duplicate], [`demo-${key}`, false]);
    const event = await dispatchedEvent(first.workflowId);
    assert.deepEqual([event.id, event.actor, event.body], [`demo-${key}`, 'alice', { name: 'Ada' }]);

    // The same key from another token is the same event: a duplicate, still acted by the first sender.
    assert.deepEqual(await post(BOB, key), { ...first, duplicate: true });
    assert.equal((await dispatchedEvent(first.workflowId)).actor, 'alice');

    assert.equal((await dispatchedEvent((await post(BOB)).workflowId)).actor, 'bob@example.com');
    assert.equal((await dispatchedEvent((await post(harness.token)).workflowId)).actor, 'api-token');
  });

  it("hands the dispatcher a Jira transition with the user's id as user_id and as the actor", async () => {
    const file = path.join(__dirname, 'fixtures', 'webhooks', 'jira-issue-updated-status.json');
    const res = await request(harness.app)
      .post('/webhooks/jira')
      .set('X-Atlassian-Webhook-Identifier', uniqueName('jira'))
      .type('application/json')
      .send(readFileSync(file, 'utf8'))
      .expect(202);
    assert.equal(res.body.type, 'issue_transitioned');
    const event = await dispatchedEvent(res.body.workflowId);
    assert.equal(event.actor, '5b10a2844c20165700ede21g');
    assert.deepEqual(
      [event.body['to'], event.body['user'], event.body['user_id']],
      ['Ready for release', 'Mia Krystof', '5b10a2844c20165700ede21g'],
    );
  });
});
