import assert from 'node:assert/strict';
import request from 'supertest';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { Gates } from '../support/gates';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

/**
 * Definitions with `concurrency`, end to end through the gateway, the dispatcher, the trains and the interpreter:
 * what a release manager sees in the dispatcher's result and in the trains API, and what the peers receive.
 */
const READ_TOKEN = 'train-runs-read-only-token';

describe('engine: definitions with a concurrency group', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  /** Requests to `/hold/<n>` wait until the test opens gate n, so a run holds its train for as long as needed. */
  const gates = new Gates();
  const open = (n: string): void => gates.open(n);

  before(async function () {
    this.timeout(120_000);
    receiver = await HttpReceiver.start();
    receiver.respondWith(gates.responder);
    harness = await startHarness({ gateway: { extraTokens: [{ token: READ_TOKEN, scope: 'read', name: 'reader' }] } });
  });
  after(async () => {
    gates.openAll();
    await harness.stop();
    await receiver.stop();
  });

  const save = async (definition: object): Promise<void> => {
    const res = await request(harness.app)
      .put(`/api/definitions/${(definition as { id: string }).id}`)
      .set('Authorization', harness.auth)
      .send(definition);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const post = async (type: string, body: object): Promise<DispatchResult> => {
    const res = await request(harness.app).post(`/events/ci/${type}`).set('Authorization', harness.auth).send(body);
    assert.equal(res.status, 202);
    return (await harness.client.workflow.getHandle(res.body.workflowId as string).result()) as DispatchResult;
  };
  const holdingStep = (path: string) => ({
    id: 'hold',
    action: 'http.request',
    with: { method: 'POST', url: `${receiver.url}/hold/${path}`, timeout: '2m' },
    timeout: '3m',
  });
  const trainOf = async (group: string) =>
    request(harness.app)
      .get(`/api/trains/${encodeURIComponent(group)}`)
      .set('Authorization', harness.auth);

  it('queues runs of one group in arrival order, shows the line in the API, and runs them one at a time', async function () {
    this.timeout(180_000);
    await save({
      id: 'deploy',
      name: 'Deploy',
      on: [{ source: 'ci', type: 'deploy' }],
      concurrency: { group: 'deploy-${{ event.env }}' },
      steps: [holdingStep('${{ event.n }}')],
    });
    const first = await post('deploy', { env: 'test', n: 'd1' });
    const second = await post('deploy', { env: 'test', n: 'd2' });
    const third = await post('deploy', { env: 'test', n: 'd3' });
    const other = await post('deploy', { env: 'prod', n: 'p1' });
    assert.deepEqual(first.matched[0]?.train, { group: 'deploy-test', outcome: 'holding', position: 0 });
    assert.deepEqual(second.matched[0]?.train, {
      group: 'deploy-test',
      outcome: 'queued',
      position: 1,
      holder: first.matched[0].workflowId,
    });
    assert.deepEqual(third.matched[0]?.train?.position, 2);
    assert.deepEqual(other.matched[0]?.train, { group: 'deploy-prod', outcome: 'holding', position: 0 });

    await eventually(() => (receiver.to('/hold/d1').length === 1 ? true : undefined));
    const line = await trainOf('deploy-test');
    assert.equal(line.status, 200);
    assert.equal(line.body.holder.workflowId, first.matched[0].workflowId);
    assert.deepEqual(
      (line.body.queue as { workflowId: string; position: number; eventId: string }[]).map((entry) => [
        entry.workflowId,
        entry.position,
        entry.eventId,
      ]),
      [
        [second.matched[0].workflowId, 1, second.eventId],
        [third.matched[0].workflowId, 2, third.eventId],
      ],
    );
    // The list comes from Temporal's visibility, which can show a new train a moment after it started.
    await eventually(
      async () => {
        const all = await request(harness.app).get('/api/trains').set('Authorization', harness.auth);
        const groups = (all.body.items as { group: string }[]).map((train) => train.group);
        return groups.includes('deploy-test') && groups.includes('deploy-prod') ? true : undefined;
      },
      30_000,
      'both busy groups in GET /api/trains',
    );

    // The other group is not held up by this one, and the queued runs have not started their steps.
    await eventually(() => (receiver.to('/hold/p1').length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(receiver.to('/hold/d2').length + receiver.to('/hold/d3').length, 0);

    for (const [n, next] of [
      ['d1', 'd2'],
      ['d2', 'd3'],
    ] as const) {
      open(n);
      await eventually(() => (receiver.to(`/hold/${next}`).length === 1 ? true : undefined), 30_000, `${next}`);
    }
    open('d3');
    open('p1');
    const runs = await Promise.all(
      [first, second, third].map(async (dispatch) => {
        const handle = harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId);
        const result = (await handle.result()) as RunResult;
        const { startTime, closeTime } = await handle.describe();
        return { result, startTime, closeTime: closeTime! };
      }),
    );
    assert.ok(runs.every((run) => run.result.steps.length === 1 && !run.result.dequeued));
    // Each step started only after the run before it had closed: the hold requests arrived in order.
    assert.deepEqual(
      receiver.to('/hold/d').map((req) => req.path),
      ['/hold/d1', '/hold/d2', '/hold/d3'],
    );
    await eventually(async () => ((await trainOf('deploy-test')).status === 404 ? true : undefined), 30_000);
  });

  it('with reject, records the refused event with the holder and starts nothing for it', async function () {
    this.timeout(120_000);
    await save({
      id: 'release',
      name: 'Release',
      on: [{ source: 'ci', type: 'release' }],
      concurrency: { group: 'release-${{ event.project }}', when_busy: 'reject' },
      steps: [holdingStep('${{ event.n }}')],
    });
    const first = await post('release', { project: 'shop', n: 'r1' });
    const second = await post('release', { project: 'shop', n: 'r2' });
    const holder = first.matched[0]!.workflowId;
    assert.deepEqual(second.matched, []);
    assert.equal(second.rejected?.length, 1);
    assert.equal(second.rejected?.[0]?.holder, holder);
    assert.equal(second.rejected?.[0]?.group, 'release-shop');
    assert.match(second.rejected?.[0]?.reason ?? '', /is busy/);
    const runs = await harness.client.workflow.count(`FlowEventId = "${second.eventId}"`);
    assert.equal(runs.count, 1, 'only the dispatcher of the rejected event exists');
    const line = await trainOf('release-shop');
    assert.equal(line.body.holder.workflowId, holder);
    assert.deepEqual(line.body.queue, []);
    open('r1');
    await harness.client.workflow.getHandle(holder).result();
  });

  it('removes a waiting run through the API (write scope), and the run ends without a step, saying who removed it', async function () {
    this.timeout(120_000);
    await save({
      id: 'migrate',
      name: 'Migrate',
      on: [{ source: 'ci', type: 'migrate' }],
      concurrency: { group: 'db' },
      steps: [holdingStep('${{ event.n }}')],
    });
    const first = await post('migrate', { n: 'm1' });
    const second = await post('migrate', { n: 'm2' });
    const forbidden = await request(harness.app)
      .delete(`/api/trains/db/queue/${second.eventId}`)
      .set('Authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(forbidden.status, 403);
    assert.equal((await trainOf('db')).body.queue.length, 1, 'a read token removed a run');
    const removed = await request(harness.app)
      .delete(`/api/trains/db/queue/${second.eventId}`)
      .set('Authorization', harness.auth);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual([removed.body.exit, removed.body.by], ['removed', 'api-token']);
    const result = (await harness.client.workflow.getHandle(second.matched[0]!.workflowId).result()) as RunResult;
    assert.deepEqual(result.dequeued, { group: 'db', reason: 'removed', by: 'api-token' });
    assert.deepEqual(result.steps, []);
    const again = await request(harness.app)
      .delete(`/api/trains/db/queue/${second.eventId}`)
      .set('Authorization', harness.auth);
    assert.equal(again.status, 404);
    assert.match(again.body.detail, /waits in train db/);
    const unknown = await trainOf('no-such-group');
    assert.equal(unknown.status, 404);
    open('m1');
    await harness.client.workflow.getHandle(first.matched[0]!.workflowId).result();
    assert.equal(receiver.to('/hold/m2').length, 0);
  });

  it('skips a definition whose group does not render, saying why, instead of blocking a train', async function () {
    this.timeout(60_000);
    await save({
      id: 'bad-group',
      name: 'Bad group',
      on: [{ source: 'ci', type: 'bad-group' }],
      concurrency: { group: 'g-${{ event.project }}' },
      steps: [holdingStep('never')],
    });
    const missing = await post('bad-group', {});
    assert.deepEqual(missing.matched, []);
    assert.match(missing.skipped[0]?.reason ?? '', /concurrency\.group could not be rendered/);
    const unusable = await post('bad-group', { project: 'has spaces' });
    assert.match(unusable.skipped[0]?.reason ?? '', /cannot name a group/);
  });

  it('lists a train nobody answers for as unavailable instead of failing, and answers 503 for it alone', async function () {
    this.timeout(60_000);
    // A gateway whose task queue no worker polls: its train exists but cannot answer a query.
    const lonely = await startHarness({ worker: false });
    try {
      const handle = await lonely.client.workflow.start('train', {
        workflowId: 'train-orphaned',
        taskQueue: lonely.taskQueue,
        args: [{ group: 'orphaned' }],
      });
      // The listing reads Temporal's visibility, which may show a workflow started a moment ago only a moment later.
      const items = await eventually(async () => {
        const all = await request(lonely.app).get('/api/trains').set('Authorization', lonely.auth);
        assert.equal(all.status, 200);
        const listed = all.body.items as { group: string; unavailable?: string }[];
        return listed.length > 0 ? listed : undefined;
      }, 30_000);
      assert.deepEqual(
        items.map((train) => [train.group, /did not answer .* task queue/.test(train.unavailable ?? '')]),
        [['orphaned', true]],
      );
      const one = await request(lonely.app).get('/api/trains/orphaned').set('Authorization', lonely.auth);
      assert.equal(one.status, 503);
      assert.match(one.body.detail, /did not answer/);
      // The other gateway lists only its own deployment's trains.
      const other = await request(harness.app).get('/api/trains').set('Authorization', harness.auth);
      assert.ok(!(other.body.items as { group: string }[]).some((train) => train.group === 'orphaned'));
      await handle.terminate('test cleanup');
    } finally {
      await lonely.stop();
    }
  });

  it('runs the holders of many busy groups although the worker has few activity slots (watchers have their own)', async function () {
    this.timeout(120_000);
    // Two activity slots on the main worker. Were the trains' watchers, which wait for as long as their holders run,
    // on the same worker, two busy groups would take both slots and no holder could run its step.
    const small = await startHarness({ workerOptions: { maxConcurrentActivityTaskExecutions: 2 } });
    try {
      const saved = await request(small.app)
        .put('/api/definitions/per-group')
        .set('Authorization', small.auth)
        .send({
          id: 'per-group',
          name: 'Per group',
          on: [{ source: 'ci', type: 'per-group' }],
          concurrency: { group: 'slot-${{ event.g }}' },
          steps: [
            // The holders all wait a moment (a timer, no slot) while their watchers start, then need a slot.
            { id: 'settle', action: 'flow.sleep', with: { duration: '2s' } },
            { id: 'ping', action: 'http.request', with: { url: `${receiver.url}/slots/\${{ event.g }}` } },
          ],
        });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
      const runs = await Promise.all(['a', 'b', 'c'].map((g) => small.startRun('ci', 'per-group', { g })));
      await Promise.all(runs.map((runId) => small.client.workflow.getHandle(runId).result()));
      assert.equal(receiver.to('/slots/').length, 3);
    } finally {
      await small.stop();
    }
  });
});
