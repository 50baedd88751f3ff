import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { WORKFLOW_TYPES } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { durableLookups, StoppableMongo } from '../support/stoppable-mongo';

describe('engine: events accepted while MongoDB is down', () => {
  let mongo: StoppableMongo;
  let harness: Harness;
  let receiver: HttpReceiver;

  before(async function () {
    this.timeout(600_000);
    mongo = await StoppableMongo.start();
    receiver = await HttpReceiver.start();
    harness = await startHarness({ mongo: mongo.handle });
  });
  after(async () => {
    await harness.stop();
    await mongo.stop();
    await receiver.stop();
  });

  it('accepts every event with 202 and runs them all once MongoDB is back', async function () {
    this.timeout(180_000);
    const saved = await request(harness.app)
      .put('/api/definitions/ping-on-push')
      .set('Authorization', harness.auth)
      .send({
        id: 'ping-on-push',
        name: 'Ping on push',
        on: [{ source: 'git', type: 'push' }],
        steps: [
          {
            id: 'ping',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/ping`, json: { ref: '${{ event.ref }}' } },
          },
        ],
      });
    assert.equal(saved.status, 201);

    await mongo.outage();
    const accepted = [];
    for (const ref of ['main', 'develop', 'release/2.4']) {
      const res = await request(harness.app).post('/events/git/push').set('Authorization', harness.auth).send({ ref });
      assert.equal(res.status, 202, 'accepted although MongoDB is down');
      accepted.push(res.body.workflowId as string);
    }
    // The quick lookup (a local activity) fails, and each dispatcher hands the lookup to a durable activity.
    const lengths = new Map<string, number>();
    for (const workflowId of accepted) {
      const handle = harness.client.workflow.getHandle(workflowId);
      await eventually(
        async () => ((await durableLookups(handle)) === 1 ? true : undefined),
        30_000,
        `${workflowId} to wait for the registry in a durable activity`,
      );
      lengths.set(workflowId, (await handle.describe()).historyLength);
    }
    // While it waits, the activity retries on the server: the history does not grow, and nothing has run.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const workflowId of accepted) {
      const description = await harness.client.workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'RUNNING');
      assert.equal(
        description.historyLength,
        lengths.get(workflowId),
        `${workflowId}'s history grew during the outage`,
      );
    }
    assert.equal(receiver.to('/ping').length, 0);

    await mongo.resume();
    for (const workflowId of accepted) {
      const { dispatch } = await harness.finished(workflowId);
      assert.equal(dispatch.matched.length, 1);
    }
    const refs = await eventually(() =>
      receiver.to('/ping').length === 3 ? receiver.to('/ping').map((r) => (r.json as { ref: string }).ref) : undefined,
    );
    assert.deepEqual(refs.sort(), ['develop', 'main', 'release/2.4']);
  });

  it('cancels a dispatcher that waits for the registry: it ends cancelled and starts nothing when MongoDB is back', async function () {
    this.timeout(180_000);
    const saved = await request(harness.app)
      .put('/api/definitions/ping-on-tag')
      .set('Authorization', harness.auth)
      .send({
        id: 'ping-on-tag',
        name: 'Ping on tag',
        on: [{ source: 'git', type: 'tag' }],
        steps: [
          {
            id: 'ping',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/tag`, json: { tag: '${{ event.tag }}' } },
          },
        ],
      });
    assert.equal(saved.status, 201);

    await mongo.outage();
    const res = await request(harness.app)
      .post('/events/git/tag')
      .set('Authorization', harness.auth)
      .send({ tag: 'v1' });
    assert.equal(res.status, 202);
    const handle = harness.client.workflow.getHandle(res.body.workflowId as string);
    await eventually(
      async () => ((await durableLookups(handle)) === 1 ? true : undefined),
      30_000,
      'the dispatcher to wait for the registry in a durable activity',
    );
    await handle.cancel();
    const failure = await handle.result().then(
      () => assert.fail('a cancelled dispatcher returned a result'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    assert.ok(failure.cause instanceof CancelledFailure, String(failure.cause));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    // The durable lookup was told to stop, so the server does not retry it.
    const { events } = await handle.fetchHistory();
    const EventType = temporal.api.enums.v1.EventType;
    assert.ok(events?.some((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED));

    await mongo.resume();
    // Long enough for a lookup retry (at most 30 s apart) to have started a run, were one still scheduled.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const runs = await harness.client.workflow.count(
      `FlowEventId = "${res.body.eventId as string}" AND WorkflowType = "${WORKFLOW_TYPES.interpret}"`,
    );
    assert.equal(runs.count, 0);
    assert.equal(receiver.to('/tag').length, 0);
  });
});
