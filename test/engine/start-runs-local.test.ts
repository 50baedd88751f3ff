import { Context } from '@temporalio/activity';
import { ServiceError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Definition } from '../../common/definition';
import type { DispatchResult, StartRunsResult } from '../../common/run-types';
import { TRAIN_HANDLERS, trainWorkflowId, type TrainState } from '../../common/train-types';
import { startRuns } from '../../intake';
import { START_RUNS_LOCAL_PATCH } from '../../workflows/dispatcher';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A definition bound to `ci/built` that posts its own id once; the `train-*` ones share one concurrency group. */
const definition = (id: string, receiver: string): Omit<Definition, 'enabled'> => ({
  id,
  name: `Local start ${id}`,
  on: [{ source: 'ci', type: 'built' }],
  ...(id.startsWith('train-')
    ? { concurrency: { group: 'local-start', when_busy: 'queue' as const, max_queue: 10 } }
    : {}),
  steps: [{ id: 'post', action: 'http.request', with: { method: 'POST', url: `${receiver}/hit/${id}` } }],
});

/**
 * The harness's client, except that while the dispatcher's local `startRuns` runs, Temporal refuses the starts of
 * the runs whose ids `refused` matches, as a server shedding load does (RESOURCE_EXHAUSTED); the durable attempt
 * that follows gets the real client.
 */
function refusingClient(client: Client, refused: RegExp): Client {
  const workflow = new Proxy(client.workflow, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'start' || typeof value !== 'function') return value;
      return (type: string, options: { workflowId: string }) => {
        if (refused.test(options.workflowId))
          return Promise.reject(new ServiceError('namespace rate limit exceeded (RESOURCE_EXHAUSTED)'));
        return (value as (...args: unknown[]) => unknown).call(target, type, options);
      };
    },
  });
  return new Proxy(client, {
    get: (target, property) => (property === 'workflow' ? workflow : (Reflect.get(target, property) as unknown)),
  });
}

/** The ids of the patches a history's markers recorded. */
function patchesOf(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((event) => {
    const data = event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString()) as { id: string }).id] : [];
  });
}

/** The activity types of the local activities a history recorded, with whether each failed. */
function localActivities(events: readonly HistoryEvent[]): { type: string; failed: boolean }[] {
  return events.flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    const data =
      marker?.markerName === 'core_local_activity' ? marker.details?.['data']?.payloads?.[0]?.data : undefined;
    if (!data) return [];
    const { activity_type: type } = JSON.parse(Buffer.from(data).toString()) as { activity_type: string };
    return [{ type, failed: marker?.failure !== null && marker?.failure !== undefined }];
  });
}

const count = (events: readonly HistoryEvent[], type: temporal.api.enums.v1.EventType): number =>
  events.filter((event) => event.eventType === type).length;

describe('engine: the dispatcher starts its runs in its own workflow task, with a durable fallback', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  const ids = ['plain-a', 'plain-b', 'plain-c', 'plain-d', 'train-a', 'train-b'];

  before(async function () {
    this.timeout(60_000);
    receiver = await HttpReceiver.start();
    harness = await startHarness({
      deps: {
        // The real startRuns; only its local attempt has its starts of plain-c and train-b refused.
        startRuns: (input) =>
          startRuns(
            {
              client: Context.current().info.isLocal
                ? refusingClient(harness.client, /^(plain-c|train-b)-/)
                : harness.client,
              taskQueue: harness.taskQueue,
            },
            input,
          ),
      },
    });
    for (const id of ids) {
      const res = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send(definition(id, receiver.url));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => {
    await harness?.stop();
    await receiver?.stop();
  });

  it('starts every run once when the local attempt fails after starting some, and the dispatcher lists them all', async function () {
    this.timeout(120_000);
    const posted = await request(harness.app).post('/events/ci/built').set('Authorization', harness.auth).send({});
    assert.equal(posted.status, 202);
    const eventId = posted.body.eventId as string;
    const dispatcher = harness.client.workflow.getHandle(posted.body.workflowId as string);
    const dispatch = (await dispatcher.result()) as DispatchResult;
    assert.deepEqual(
      dispatch.matched.map((run) => run.workflowId),
      ids.map((id) => `${id}-${eventId}`),
    );
    // Both runs of the group entered the train and none was refused (the durable attempt re-asked it for both).
    assert.deepEqual(
      dispatch.matched.filter((run) => run.train).map((run) => run.definition),
      ['train-a', 'train-b'],
    );
    assert.equal(dispatch.rejected, undefined);

    const events = (await dispatcher.fetchHistory()).events ?? [];
    assert.ok(patchesOf(events).includes(START_RUNS_LOCAL_PATCH));
    assert.deepEqual(localActivities(events), [
      { type: 'lookUpEvent', failed: false },
      { type: 'startRuns', failed: true },
    ]);
    const completed = events.find(
      (event) => event.activityTaskCompletedEventAttributes,
    )?.activityTaskCompletedEventAttributes;
    const answer = JSON.parse(Buffer.from(completed!.result!.payloads![0]!.data!).toString()) as StartRunsResult;
    // The local attempt started the four runs not refused; the durable one the two that were.
    assert.equal(answer.started, 2);
    assert.equal(answer.alreadyStarted, 4);

    for (const run of dispatch.matched) await harness.client.workflow.getHandle(run.workflowId).result();
    assert.deepEqual(
      receiver.requests.map((req) => req.path).sort(),
      ids.map((id) => `/hit/${id}`).sort(),
      'every definition ran exactly once',
    );
    // The train was asked twice for each of its runs and let each go once: both departed closed, once each.
    const trainHandle = harness.client.workflow.getHandle(trainWorkflowId('local-start'));
    const train = await eventually(
      async () => {
        const state = await trainHandle.query<TrainState>(TRAIN_HANDLERS.state);
        return state.recent.length === 2 ? state : undefined;
      },
      30_000,
      'both train runs to depart',
    );
    assert.equal(train.holder, undefined);
    assert.deepEqual(train.queue, []);
    assert.deepEqual(train.recent.map((departure) => [departure.workflowId, departure.exit]).sort(), [
      [`train-a-${eventId}`, 'closed'],
      [`train-b-${eventId}`, 'closed'],
    ]);
  });

  it('costs a matched event one dispatcher workflow task and no activity task when the local attempt succeeds', async function () {
    this.timeout(60_000);
    // No train-b and no plain-c in this event's runs: nothing is refused.
    const deleted = await Promise.all(
      ['plain-c', 'train-b'].map((id) =>
        request(harness.app).delete(`/api/definitions/${id}`).set('Authorization', harness.auth),
      ),
    );
    for (const res of deleted) assert.equal(res.status, 200, JSON.stringify(res.body));
    const posted = await request(harness.app).post('/events/ci/built').set('Authorization', harness.auth).send({});
    assert.equal(posted.status, 202);
    const dispatcher = harness.client.workflow.getHandle(posted.body.workflowId as string);
    const dispatch = (await dispatcher.result()) as DispatchResult;
    assert.equal(dispatch.matched.length, 4);
    const events = (await dispatcher.fetchHistory()).events ?? [];
    assert.equal(count(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 1);
    assert.equal(count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 0);
    assert.deepEqual(localActivities(events), [
      { type: 'lookUpEvent', failed: false },
      { type: 'startRuns', failed: false },
    ]);
    for (const run of dispatch.matched) await harness.client.workflow.getHandle(run.workflowId).result();
  });
});
