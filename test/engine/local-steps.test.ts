import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import type { DispatchResult } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';
import { killableWorkers } from '../support/killable-workers';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { localActivityMarkers, type LocalActivityMarker } from '../support/local-activity-markers';
import { startWorkerProcess } from '../support/worker-process';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Saves a definition bound to `test/<id>`. Its `http.request` steps run local unless a step has the key `execution`
 * (`execution: undefined` saves the step without one, so it takes the action's default): the action defaults to
 * remote (a re-run after a crash would repeat its request), and these tests are about local steps.
 */
async function save(harness: Harness, id: string, steps: readonly Record<string, unknown>[]): Promise<void> {
  const local = steps.map((step) =>
    step['action'] === 'http.request' && !('execution' in step) ? { ...step, execution: 'local' } : step,
  );
  const definition = { id, name: `Local steps: ${id}`, on: [{ source: 'test', type: id }], steps: local };
  const saved = await request(harness.app)
    .put(`/api/definitions/${id}`)
    .set('Authorization', harness.auth)
    .send(definition);
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
}

/** Posts the event of definition `id` and returns its dispatcher's workflow id. */
async function post(harness: Harness, id: string): Promise<string> {
  const posted = await request(harness.app).post(`/events/test/${id}`).set('Authorization', harness.auth).send({});
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return posted.body.workflowId as string;
}

async function historyOf(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

function count(events: readonly HistoryEvent[], type: temporal.api.enums.v1.EventType): number {
  return events.filter((event) => event.eventType === type).length;
}

/** The activity types a history scheduled as activity tasks (remote steps), in order. */
function remoteSteps(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((event) => {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/** What a test reads of a local step's marker: its activity type, attempt and summary. */
function markersOf(
  events: readonly HistoryEvent[],
): Pick<LocalActivityMarker, 'activityType' | 'attempt' | 'summary'>[] {
  return localActivityMarkers(events).map(({ activityType, attempt, summary }) => ({ activityType, attempt, summary }));
}

describe('engine: short steps run as local activities', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness();
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  it('runs three local http.request steps in one workflow task, recorded as markers', async function () {
    this.timeout(120_000);
    await save(
      harness,
      'three-local',
      ['one', 'two', 'three'].map((id) => ({
        id,
        name: `Post ${id}`,
        action: 'http.request',
        with: { method: 'POST', url: `${receiver.url}/three-local/${id}`, json: { step: id } },
      })),
    );
    const { dispatch, run } = await harness.finished(await post(harness, 'three-local'));
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['one', 'completed'],
        ['two', 'completed'],
        ['three', 'completed'],
      ],
    );
    for (const id of ['one', 'two', 'three']) assert.equal(receiver.to(`/three-local/${id}`).length, 1, id);

    const events = await historyOf(harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId));
    assert.deepEqual(remoteSteps(events), [], 'no activity task');
    assert.deepEqual(markersOf(events), [
      { activityType: 'http.request', attempt: 1, summary: 'Post one' },
      { activityType: 'http.request', attempt: 1, summary: 'Post two' },
      { activityType: 'http.request', attempt: 1, summary: 'Post three' },
    ]);
    assert.equal(
      count(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
      1,
      'the three steps in one workflow task',
    );
  });

  it("runs a step with execution: remote, and one without execution (http.request's default), as activity tasks beside a local one", async function () {
    this.timeout(120_000);
    await save(harness, 'remote-override', [
      { id: 'local', action: 'http.request', with: { url: `${receiver.url}/override/local` } },
      { id: 'remote', action: 'http.request', with: { url: `${receiver.url}/override/remote` }, execution: 'remote' },
      {
        id: 'default',
        action: 'http.request',
        with: { url: `${receiver.url}/override/default` },
        execution: undefined,
      },
    ]);
    const { dispatch, run } = await harness.finished(await post(harness, 'remote-override'));
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['local', 'completed'],
        ['remote', 'completed'],
        ['default', 'completed'],
      ],
    );
    const events = await historyOf(harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId));
    assert.deepEqual(remoteSteps(events), ['http.request', 'http.request'], 'the remote and the default step');
    assert.deepEqual(
      markersOf(events).map(({ summary }) => summary),
      ['local'],
    );
    // The remote step keeps a remote step's options: the heartbeat timeout local steps do not have.
    const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes)!;
    assert.equal(Number(scheduled.activityTaskScheduledEventAttributes!.heartbeatTimeout?.seconds), 30);
  });

  it('retries a local step in the worker: it fails twice, then succeeds, in one marker with attempt 3', async function () {
    this.timeout(120_000);
    receiver.respondWith((req) =>
      req.path === '/flaky' && receiver.to('/flaky').length <= 2 ? { status: 503, body: { error: 'busy' } } : undefined,
    );
    await save(harness, 'local-retry', [
      {
        id: 'flaky',
        action: 'http.request',
        with: { url: `${receiver.url}/flaky` },
        retry: { initialInterval: '100ms' },
      },
    ]);
    const { dispatch, run } = await harness.finished(await post(harness, 'local-retry'));
    receiver.respondWith(() => undefined);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [['flaky', 'completed']],
    );
    assert.equal(receiver.to('/flaky').length, 3, 'three attempts reached the peer');
    const events = await historyOf(harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId));
    assert.deepEqual(markersOf(events), [{ activityType: 'http.request', attempt: 3, summary: 'flaky' }]);
    assert.equal(count(events, EventType.EVENT_TYPE_TIMER_STARTED), 0, 'backoffs under the threshold need no timer');
    assert.equal(count(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 1);
  });

  it('waits on a durable timer when a local retry backs off longer than 10 s', async function () {
    this.timeout(120_000);
    receiver.respondWith((req) =>
      req.path === '/slow-retry' && receiver.to('/slow-retry').length === 1
        ? { status: 503, body: { error: 'busy' } }
        : undefined,
    );
    await save(harness, 'local-timer', [
      {
        id: 'later',
        action: 'http.request',
        with: { url: `${receiver.url}/slow-retry` },
        retry: { initialInterval: '11s' },
      },
    ]);
    const { dispatch, run } = await harness.finished(await post(harness, 'local-timer'));
    receiver.respondWith(() => undefined);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [['later', 'completed']],
    );
    assert.equal(receiver.to('/slow-retry').length, 2);
    const events = await historyOf(harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId));
    assert.equal(count(events, EventType.EVENT_TYPE_TIMER_STARTED), 1, 'the backoff is a durable timer');
    const timer = events.find((event) => event.timerStartedEventAttributes)!.timerStartedEventAttributes!;
    assert.equal(Number(timer.startToFireTimeout?.seconds), 11);
    // The first attempt's marker records its failure and the backoff; the retry after the timer completes.
    assert.deepEqual(
      localActivityMarkers(events).map(({ attempt, failed }) => [attempt, failed]),
      [
        [1, true],
        [2, false],
      ],
    );
  });

  it('records a failed local step with continue_on_error, and the run goes on', async function () {
    this.timeout(120_000);
    receiver.respondWith((req) =>
      req.path === '/gone' ? { status: 404, body: { error: 'no such thing' } } : undefined,
    );
    await save(harness, 'local-continue', [
      { id: 'missing', action: 'http.request', with: { url: `${receiver.url}/gone` }, continue_on_error: true },
      { id: 'after', action: 'http.request', with: { url: `${receiver.url}/after-gone` } },
    ]);
    const { run } = await harness.finished(await post(harness, 'local-continue'));
    receiver.respondWith(() => undefined);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['missing', 'failed'],
        ['after', 'completed'],
      ],
    );
    const failed = run.steps[0]!;
    assert.equal(failed.error?.type, 'HttpClientError', JSON.stringify(failed.error));
    assert.match(failed.error?.message ?? '', /step "missing" \(steps\[0\]\) failed in http\.request: .*404/);
    assert.equal(receiver.to('/gone').length, 1, 'a 4xx is not retried');
    assert.equal(receiver.to('/after-gone').length, 1);
  });

  it('fails the run with StepFailed, naming the step, when a local step fails for good', async function () {
    this.timeout(120_000);
    receiver.respondWith((req) => (req.path === '/refused' ? { status: 403, body: { error: 'no' } } : undefined));
    await save(harness, 'local-fails', [
      { id: 'refused', action: 'http.request', with: { url: `${receiver.url}/refused` } },
    ]);
    const dispatcher = await post(harness, 'local-fails');
    const dispatched = (await harness.client.workflow.getHandle(dispatcher).result()) as DispatchResult;
    const handle = harness.client.workflow.getHandle(dispatched.matched[0]!.workflowId);
    const error = await handle.result().then(
      () => assert.fail('the run completed'),
      (failure: unknown) => failure,
    );
    receiver.respondWith(() => undefined);
    assert.ok(error instanceof WorkflowFailedError);
    const stepFailed = error.cause as { type?: string; message: string; cause?: unknown };
    assert.equal(stepFailed.type, 'StepFailed');
    assert.match(stepFailed.message, /step "refused" \(steps\[0\]\) failed in http\.request: .*403/);
    assert.ok(stepFailed.cause instanceof ActivityFailure, 'the cause chain keeps the activity failure');
    assert.equal(stepFailed.cause.activityType, 'http.request');
    assert.ok(stepFailed.cause.cause instanceof ApplicationFailure);
    assert.equal(stepFailed.cause.cause.type, 'HttpClientError');
  });

  it('ends the run Cancelled when it is cancelled during a local step, and aborts the step', async function () {
    this.timeout(120_000);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.respondWith(async (req) => {
      if (req.path === '/held') await held;
      return undefined;
    });
    await save(harness, 'local-cancel', [
      { id: 'wait', action: 'http.request', with: { url: `${receiver.url}/held`, timeout: '2m' } },
      { id: 'never', action: 'http.request', with: { url: `${receiver.url}/never-after-cancel` } },
    ]);
    const workflowId = await harness.startRun('test', 'local-cancel', {});
    await eventually(() => (receiver.to('/held').length > 0 ? true : undefined), 60_000, 'the step to call the peer');
    const handle = harness.client.workflow.getHandle(workflowId);
    await handle.cancel();
    const error = await handle.result().then(
      () => assert.fail('the run completed'),
      (failure: unknown) => failure,
    );
    release();
    receiver.respondWith(() => undefined);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof CancelledFailure, `cancelled, not failed: ${String(error.cause)}`);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.equal(receiver.to('/never-after-cancel').length, 0);
    assert.equal(receiver.to('/held').length, 1, 'the cancelled step was not retried');
  });
});

describe('engine: a worker killed during a local step', () => {
  const suite = killableWorkers();

  it('completes on another worker, running again every local step of the workflow task the worker never completed', async function () {
    this.timeout(240_000);
    const { harness, receiver, workers } = suite;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    receiver.respondWith(async (req) => {
      if (req.path === '/crash/two' && holding) await held;
      return undefined;
    });
    await save(
      harness,
      'local-crash',
      ['one', 'two', 'three'].map((id) => ({
        id,
        action: 'http.request',
        with: { method: 'POST', url: `${receiver.url}/crash/${id}`, timeout: '2m' },
      })),
    );
    const crashing = await startWorkerProcess(harness, workers);
    const dispatcher = await post(harness, 'local-crash');
    await eventually(() => (receiver.to('/crash/two').length > 0 ? true : undefined), 60_000, 'step two to start');

    crashing.child.kill('SIGKILL');
    await crashing.exited;
    holding = false;
    release();
    await startWorkerProcess(harness, workers);

    const { dispatch, run } = await harness.finished(dispatcher);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['one', 'completed'],
        ['two', 'completed'],
        ['three', 'completed'],
      ],
    );
    // Step one had completed, but its marker is written only when the workflow task completes, and the killed worker
    // never completed it: the new worker runs both again. At least once, as documented (docs/engine.md#local-steps).
    assert.equal(receiver.to('/crash/one').length, 2, 'the completed local step of the lost task ran again');
    assert.equal(receiver.to('/crash/two').length, 2, 'the interrupted step ran again');
    assert.equal(receiver.to('/crash/three').length, 1);
    // A query of the closed run replays its whole history on a worker: the timed-out task, then the markers.
    const status = await harness.client.workflow
      .getHandle(dispatch.matched[0]!.workflowId)
      .query<RunStatus>(RUN_HANDLERS.status);
    assert.deepEqual(
      status.steps.map((step) => [step.id, step.status]),
      [
        ['one', 'completed'],
        ['two', 'completed'],
        ['three', 'completed'],
      ],
    );

    const events = await historyOf(harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId));
    assert.equal(count(events, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 1, "the killed worker's task timed out");
    assert.deepEqual(remoteSteps(events), []);
    assert.deepEqual(
      markersOf(events).map(({ summary }) => summary),
      ['one', 'two', 'three'],
      'each step recorded once',
    );
  });

  it('replays a run whose local steps outlived a killed worker, on a worker that never saw it', async function () {
    this.timeout(300_000);
    const { harness, receiver, workers } = suite;
    // Only this test's workers poll: none that ran an earlier test's run.
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    receiver.respondWith(async (req) => {
      if (req.path === '/replayed/two' && holding) await held;
      return undefined;
    });
    await save(harness, 'local-crash-replay', [
      ...['one', 'two'].map((id) => ({
        id,
        action: 'http.request',
        with: { method: 'POST', url: `${receiver.url}/replayed/${id}`, timeout: '2m' },
      })),
      { id: 'pause', action: 'flow.sleep', with: { duration: '15s' } },
      { id: 'last', action: 'http.request', with: { method: 'POST', url: `${receiver.url}/replayed/last` } },
    ]);
    const crashing = await startWorkerProcess(harness, workers);
    const dispatcher = await post(harness, 'local-crash-replay');
    await eventually(() => (receiver.to('/replayed/two').length > 0 ? true : undefined), 60_000, 'step two to start');
    crashing.child.kill('SIGKILL');
    await crashing.exited;
    holding = false;
    release();
    const second = await startWorkerProcess(harness, workers);
    // Once the second worker recorded the local steps and sleeps, it stops; a third, with an empty cache, replays the
    // whole history (the timed-out task, then the markers) when the timer fires.
    await eventually(() => (receiver.to('/replayed/two').length > 1 ? true : undefined), 120_000, 'step two again');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await second.stop();
    await startWorkerProcess(harness, workers);
    const { run } = await harness.finished(dispatcher);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['one', 'completed'],
        ['two', 'completed'],
        ['pause', 'completed'],
        ['last', 'completed'],
      ],
    );
    assert.equal(receiver.to('/replayed/last').length, 1);
  });
});
