import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import request from 'supertest';
import { actionsById } from '../../activities';
import { createApp } from '../../gateway/app';
import { findFreePort } from '../../devstack/ports';
import { DefinitionStore } from '../../registry';
import { startHarness, type Harness } from '../support/harness';
import { openTestMongo } from '../support/stack';

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
