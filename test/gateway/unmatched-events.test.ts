import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import express from 'express';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { EventDispatchResult } from '../../common/event-waits';
import { problemErrorHandler } from '../../gateway/problem';
import {
  skipReasons,
  unmatchedEventsRouter,
  whyUnmatched,
  type UnmatchedEvents,
} from '../../gateway/unmatched-events-router';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { connectClient, uniqueName } from '../support/stack';

const READ_TOKEN = 'unmatched-read-token-0123456';

/**
 * `GET /api/events/unmatched` on the real stack: events nothing is bound to, whose definition's condition is false or
 * whose definition is disabled are listed with why, found through the dispatchers' `FlowMatchedRuns = 0`; a matched
 * one is not, and no event body is shown.
 */
describe('gateway: events that matched nothing', function () {
  this.timeout(120_000);
  let harness: Harness;
  let source: string;
  before(async () => {
    harness = await startHarness({ gateway: { extraTokens: [{ token: READ_TOKEN, scope: 'read', name: 'reader' }] } });
    source = uniqueName('unmatched');
    for (const definition of [
      {
        id: 'prod-only',
        name: 'Prod only',
        on: [{ source, type: 'deployed', if: 'event.env == "prod"' }],
        steps: [{ id: 'note', action: 'flow.set', with: { env: '${{ event.env }}' } }],
      },
      {
        id: 'switched-off',
        name: 'Switched off',
        enabled: false,
        on: [{ source, type: 'paused' }],
        steps: [{ id: 'note', action: 'flow.set', with: { n: 1 } }],
      },
    ]) {
      const res = await request(harness.app)
        .put(`/api/definitions/${definition.id}`)
        .set('Authorization', harness.auth)
        .send(definition);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => harness?.stop());

  /** Posts an event and waits for its dispatcher; returns its id and result. */
  async function post(type: string, body: Record<string, unknown>): Promise<EventDispatchResult> {
    const posted = await request(harness.app)
      .post(`/events/${source}/${type}`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', uniqueName(type))
      .send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    return (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as EventDispatchResult;
  }

  it('lists the events nothing was bound to, whose condition was false or whose definition is disabled, with why', async () => {
    const nobody = await post('unknown', { secret: 'hunter2-unbound' });
    const falseCondition = await post('deployed', { env: 'staging', secret: 'hunter2-staging' });
    const disabled = await post('paused', { secret: 'hunter2-paused' });
    const matched = await post('deployed', { env: 'prod' });
    assert.equal(matched.matched.length, 1, 'the prod event starts a run');
    await harness.client.workflow.getHandle(matched.matched[0]!.workflowId).result();

    const listed = await eventually(
      async () => {
        const res = await request(harness.app)
          .get('/api/events/unmatched?limit=100')
          .set('Authorization', `Bearer ${READ_TOKEN}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const body = res.body as UnmatchedEvents;
        // Visibility may lag a moment behind the dispatchers' close.
        return body.items.length >= 3 ? body : undefined;
      },
      30_000,
      'three unmatched events in visibility',
    );
    const byId = new Map(listed.items.map((item) => [item.eventId, item]));
    assert.deepEqual(
      listed.items.map((item) => item.eventId),
      [disabled.eventId, falseCondition.eventId, nobody.eventId],
      'only the unmatched events of this deployment, newest first',
    );
    assert.deepEqual(byId.get(nobody.eventId)?.why, [`no definition is bound to ${source}/unknown`]);
    assert.deepEqual(byId.get(falseCondition.eventId)?.why, ['prod-only: condition `event.env == "prod"` was false']);
    assert.deepEqual(byId.get(disabled.eventId)?.why, ['switched-off: disabled']);
    const item = byId.get(falseCondition.eventId)!;
    assert.equal(item.source, source);
    assert.equal(item.type, 'deployed');
    assert.equal(item.workflowId, `event-${falseCondition.eventId}`);
    assert.ok(item.receivedAt && Date.now() - Date.parse(item.receivedAt) < 120_000, `receivedAt ${item.receivedAt}`);
    assert.match(item.ui, /\/workflows\/event-/);
    assert.ok(!byId.has(matched.eventId), 'a matched event is not listed');
    assert.ok(listed.dispatched >= 4, `four dispatchers of this deployment, counted: ${listed.dispatched}`);
    assert.equal(listed.limit, 100);
    assert.ok(!JSON.stringify(listed).includes('hunter2'), 'no event body is shown');
  });

  it('narrows to a source and type, and honours the limit', async () => {
    const deployed = await request(harness.app)
      .get(`/api/events/unmatched?source=${source}&type=deployed`)
      .set('Authorization', harness.auth);
    assert.equal(deployed.status, 200);
    const body = deployed.body as UnmatchedEvents;
    assert.ok(body.items.length >= 1);
    assert.ok(body.items.every((item) => item.type === 'deployed' && item.source === source));
    assert.equal(body.limit, 20);
    const one = await request(harness.app).get('/api/events/unmatched?limit=1').set('Authorization', harness.auth);
    assert.equal((one.body as UnmatchedEvents).items.length, 1);
  });

  it('refuses a limit over 100, unknown parameters and names that are not event names', async () => {
    for (const query of ['limit=101', 'limit=0', 'limit=abc', 'since=1', "source=a'b", 'type=A B']) {
      const res = await request(harness.app).get(`/api/events/unmatched?${query}`).set('Authorization', harness.auth);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
    }
    const anonymous = await request(harness.app).get('/api/events/unmatched');
    assert.equal(anonymous.status, 401);
  });
});

describe('gateway: the unmatched list on a namespace without FlowMatchedRuns', () => {
  it('answers 503 naming the command that registers the attribute', async () => {
    const { connection } = await connectClient();
    try {
      // A namespace of its own has none of Flow's search attributes, like a cluster no worker has prepared.
      const namespace = uniqueName('bare');
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const client = new Client({ connection, namespace });
      const app = express()
        .use('/api', unmatchedEventsRouter({ temporal: { client, taskQueue: 'flow' }, temporalUiUrl: 'http://ui' }))
        .use(problemErrorHandler(() => undefined));
      const res = await eventually(async () => {
        const answer = await request(app).get('/api/events/unmatched');
        // A namespace just registered may take a moment to be served.
        return answer.status === 503 && String(answer.body.detail).includes('FlowMatchedRuns') ? answer : undefined;
      }, 30_000);
      assert.ok(
        String(res.body.detail).includes(
          `temporal operator search-attribute create --namespace ${namespace} --name FlowMatchedRuns --type Int`,
        ),
        String(res.body.detail),
      );
    } finally {
      await connection.close();
    }
  });
});

describe('gateway: the reasons of skipped definitions in the unmatched list', () => {
  it('words each binding of the event, and keeps reasons it does not know', () => {
    assert.deepEqual(skipReasons('the definition is disabled (enabled: false)'), ['disabled']);
    assert.deepEqual(skipReasons('on[0].if "event.a == \\"x; on[1].if y\\"" is false; on[2].if "b" is false'), [
      'condition `event.a == "x; on[1].if y"` was false',
      'condition `b` was false',
    ]);
    assert.deepEqual(skipReasons('on[1].if could not be evaluated: No such key: x; on[3].if "c" is false'), [
      'a condition could not be evaluated: No such key: x',
      'condition `c` was false',
    ]);
    assert.deepEqual(skipReasons('concurrency.group: rendered to ""'), ['concurrency.group: rendered to ""']);
    assert.deepEqual(skipReasons('the definition is not bound to a/b'), ['the definition is not bound to a/b']);
  });
});

describe('gateway: why an event that started no run is listed', () => {
  it('says when subscribers were told all the same', () => {
    const result: EventDispatchResult = {
      eventId: 'e1',
      source: 'jira',
      type: 'issue_created',
      matched: [],
      skipped: [],
      subscriptions: {
        sent: [
          { id: 'alice-jira', channels: ['slack'] },
          { id: 'bob-jira', channels: ['email'] },
        ],
        skipped: [{ id: 'carol-jira', reason: 'muted until 2026-12-06T09:00:00.000Z' }],
      },
    };
    assert.deepEqual(whyUnmatched(result), [
      'no definition is bound to jira/issue_created',
      'notified 2 subscriptions: alice-jira, bob-jira',
    ]);
    assert.deepEqual(whyUnmatched({ ...result, subscriptions: { sent: [], skipped: [] } }), [
      'no definition is bound to jira/issue_created',
    ]);
  });
});
