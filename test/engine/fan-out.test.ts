import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Definition } from '../../common/definition';
import type { DispatchResult, FlowEvent, RunResult, StartRunsInput } from '../../common/run-types';
import { flowSearchAttributes } from '../../common/search-attributes';
import { startRuns } from '../../intake';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';

/** Definitions bound to one event, each posting its own id once to the receiver. */
const fanDefinition = (id: string, receiver: string): Omit<Definition, 'enabled'> => ({
  id,
  name: `Fan ${id}`,
  description: `Posts ${id}.`,
  on: [{ source: 'ci', type: 'fanned', if: 'event.go' }],
  steps: [{ id: 'post', action: 'http.request', with: { method: 'POST', url: `${receiver}/hit/${id}` } }],
});

describe('engine: one event fanning out to many definitions', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  const ids = Array.from({ length: 25 }, (_, index) => `fan-${String(index).padStart(2, '0')}`);

  before(async function () {
    this.timeout(60_000);
    receiver = await HttpReceiver.start();
    harness = await startHarness();
    for (const id of ids) {
      const res = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send(fanDefinition(id, receiver.url));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
  });

  it('starts one run per matched definition, each exactly once, and each says which event started it', async function () {
    this.timeout(60_000);
    const posted = await request(harness.app)
      .post('/events/ci/fanned')
      .set('Authorization', harness.auth)
      .send({ go: true, build: 7 });
    assert.equal(posted.status, 202);
    const eventId = posted.body.eventId as string;
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
    assert.deepEqual(
      dispatch.matched.map((run) => run.workflowId),
      ids.map((id) => `${id}-${eventId}`),
    );
    for (const run of dispatch.matched) {
      const result = (await harness.client.workflow.getHandle(run.workflowId).result()) as RunResult;
      assert.deepEqual(result.steps, [{ id: 'post', action: 'http.request', status: 'completed' }]);
    }
    assert.deepEqual(receiver.requests.map((req) => req.path).sort(), ids.map((id) => `/hit/${id}`).sort());

    const description = await harness.client.workflow.getHandle(dispatch.matched[3]!.workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(flowSearchAttributes.FlowEventId), eventId);
    assert.equal(description.typedSearchAttributes.get(flowSearchAttributes.FlowDefinition), 'fan-03');
    assert.match((await description.staticSummary()) ?? '', /^Fan fan-03 r1 · ci\/fanned · build=7$/);
    assert.equal(
      await description.staticDetails(),
      `Posts fan-03.\n\nStarted for event \`${eventId}\` (ci/fanned) by \`event-${eventId}\`.`,
    );
  });

  it('starts only the missing runs when the start is retried, and never a finished run again', async function () {
    this.timeout(60_000);
    const snapshots = await harness.store.findForEvent('ci', 'fanned');
    const event: FlowEvent = {
      id: `retried-${Date.now()}`,
      source: 'ci',
      type: 'fanned',
      body: { go: true },
      receivedAt: new Date().toISOString(),
      causation: { rootEventId: 'retried', depth: 0 },
    };
    const runs = snapshots.map((snapshot) => ({ workflowId: `${snapshot.definition.id}-${event.id}`, snapshot }));
    const input = (count: number): StartRunsInput => ({ event, runs: runs.slice(0, count) });
    const deps = { client: harness.client, taskQueue: harness.taskQueue };

    // A first attempt that got through 10 starts before its worker died.
    assert.deepEqual(await startRuns(deps, input(10)), { started: 10, alreadyStarted: 0 });
    for (const run of runs.slice(0, 10)) await harness.client.workflow.getHandle(run.workflowId).result();
    await assert.rejects(harness.client.workflow.getHandle(runs[10]!.workflowId).describe(), WorkflowNotFoundError);

    // The retry starts the other 15; the 10 finished runs are not run again.
    assert.deepEqual(await startRuns(deps, input(runs.length)), { started: 15, alreadyStarted: 10 });
    for (const run of runs) await harness.client.workflow.getHandle(run.workflowId).result();
    // And a third attempt starts nothing.
    assert.deepEqual(await startRuns(deps, input(runs.length)), { started: 0, alreadyStarted: 25 });

    const hits = receiver.requests.map((req) => req.path).sort();
    assert.deepEqual(hits, ids.map((id) => `/hit/${id}`).sort(), 'every definition ran exactly once');
  });

  it('dispatches the revision saved just before the event, and stops at once for a definition moved or deleted', async function () {
    this.timeout(60_000);
    const put = async (id: string, body: object): Promise<void> => {
      const res = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send(body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    // The lookup reads each binding's snapshots: a save, a move and a delete must all be in them by the next event.
    await put('fan-00', { ...fanDefinition('fan-00', receiver.url), name: 'Fan fan-00, renamed' });
    await put('fan-01', { ...fanDefinition('fan-01', receiver.url), on: [{ source: 'ci', type: 'elsewhere' }] });
    const deleted = await request(harness.app).delete('/api/definitions/fan-02').set('Authorization', harness.auth);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

    const posted = await request(harness.app)
      .post('/events/ci/fanned')
      .set('Authorization', harness.auth)
      .send({ go: true });
    assert.equal(posted.status, 202);
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
    assert.deepEqual(
      dispatch.matched.map((run) => [run.definition, run.revision]),
      ids.filter((id) => id !== 'fan-01' && id !== 'fan-02').map((id) => [id, id === 'fan-00' ? 2 : 1]),
    );
    const renamed = await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).describe();
    assert.match((await renamed.staticSummary()) ?? '', /^Fan fan-00, renamed r2 · ci\/fanned/);
    for (const run of dispatch.matched) await harness.client.workflow.getHandle(run.workflowId).result();
  });
});
