import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { startRuns } from '../../intake';
import { startWorkerProcess } from '../support/worker-process';
import { startHarness, type Harness } from '../support/harness';
import { killableWorkers } from '../support/killable-workers';
import { eventually, HttpReceiver } from '../support/http-receiver';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { TimeoutType } = temporal.api.enums.v1;

/** The seconds of a duration in a history event, such as an activity's heartbeat timeout (`seconds` may be a Long). */
function seconds(
  duration: { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined,
): number | undefined {
  if (!duration) return undefined;
  const whole = duration.seconds ?? 0;
  return (typeof whole === 'number' ? whole : whole.toNumber()) + (duration.nanos ?? 0) / 1e9;
}

/** The scheduling attributes of a workflow's activities of one type. */
function scheduled(events: HistoryEvent[], type: string) {
  return events
    .map((event) => event.activityTaskScheduledEventAttributes)
    .filter((attributes) => attributes?.activityType?.name === type);
}

/** The attempt with which a workflow's one activity of `type` completed (its `ActivityTaskStarted` records it). */
function completedAttempt(events: HistoryEvent[], type: string): number | undefined {
  const scheduledId = events.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === type,
  )?.eventId;
  const started = events.find(
    (event) => String(event.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduledId),
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? undefined;
}

/**
 * Saves a definition whose one step calls `url` with `http.request` as a remote step (`execution: remote`, the
 * action's default too, said here because a local step has no heartbeat timeout) and no other step options (the
 * action's defaults set only its 2 min timeout, so Flow's heartbeat timeout applies), bound to `test/<type>`.
 */
async function saveOneCall(harness: Harness, type: string, url: string): Promise<void> {
  const definition = {
    id: `one-call-${type}`,
    name: `One call (${type})`,
    on: [{ source: 'test', type }],
    steps: [{ id: 'call', action: 'http.request', with: { url, timeout: '2m' }, execution: 'remote' }],
  };
  const saved = await request(harness.app)
    .put(`/api/definitions/${definition.id}`)
    .set('Authorization', harness.auth)
    .send(definition);
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
}

/** Longer than the 30 s heartbeat timeout: what an attempt that works without a word of its own must outlast. */
const SILENT_MS = 35_000;

describe('engine: a killed worker is noticed by its heartbeat timeout', () => {
  const suite = killableWorkers();

  it("retries a step without a heartbeat of its own after its heartbeat timeout, not after the step's timeout", async function () {
    this.timeout(300_000);
    const { harness, receiver, workers } = suite;
    // The first call hangs at the peer until the worker that made it is dead; the retry is answered at once.
    let releaseHeld: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    receiver.respondWith(async (req) => {
      if (req.path === '/hang' && receiver.to('/hang').length === 1) await held;
      return undefined;
    });
    await saveOneCall(harness, 'heartbeat', `${receiver.url}/hang`);

    const workerA = await startWorkerProcess(harness, workers);
    const posted = await request(harness.app)
      .post('/events/test/heartbeat')
      .set('Authorization', harness.auth)
      .send({});
    assert.equal(posted.status, 202);
    await eventually(() => (receiver.to('/hang').length > 0 ? true : undefined), 60_000, 'the step to call the peer');

    workerA.child.kill('SIGKILL');
    await workerA.exited;
    releaseHeld();
    await startWorkerProcess(harness, workers);

    const { dispatch, run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [['call', 'completed']],
    );
    assert.equal(receiver.to('/hang').length, 2, 'the step ran once more, on worker B');

    const events = (await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).fetchHistory()).events;
    const [step] = scheduled(events ?? [], 'http.request');
    assert.equal(seconds(step?.startToCloseTimeout), 120, "http.request's default timeout");
    assert.equal(seconds(step?.heartbeatTimeout), 30, "the steps' default heartbeat timeout");
    // Retried attempts leave no events of their own: the attempt that completed carries its predecessor's failure.
    const started = (events ?? []).map((event) => event.activityTaskStartedEventAttributes).find(Boolean);
    assert.equal(started?.attempt, 2);
    const timeout = started?.lastFailure?.timeoutFailureInfo;
    assert.ok(timeout, `the first attempt timed out: ${JSON.stringify(started?.lastFailure)}`);
    assert.equal(timeout.timeoutType, TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    assert.ok(
      (events ?? []).some((event) => event.activityTaskCompletedEventAttributes),
      'the second attempt completed',
    );

    // The dispatcher started its run from a local startRuns, in its workflow task: no activity to time out. Its
    // durable fallback has the same heartbeat timeout (the keep-alive test below, where the local attempt gives up).
    const dispatcher = (await harness.client.workflow.getHandle(posted.body.workflowId as string).fetchHistory())
      .events;
    assert.deepEqual(scheduled(dispatcher ?? [], 'startRuns'), [], 'the dispatcher started its run locally');
  });
});

describe('engine: the keep-alive holds an attempt that works silently past its heartbeat timeout', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    // The real startRuns, after a silence longer than its heartbeat timeout: the dispatcher's local attempt gives up
    // after its 15 s, and the durable startRuns that takes over must be kept alive past its 30 s heartbeat timeout.
    harness = await startHarness({
      deps: {
        startRuns: async (input) => {
          await delay(SILENT_MS);
          return startRuns({ client: harness.client, taskQueue: harness.taskQueue }, input);
        },
      },
    });
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  it('completes a startRuns and a step that each say nothing for longer than 30 s on their first attempts', async function () {
    this.timeout(300_000);
    receiver.respondWith(async () => {
      await delay(SILENT_MS);
      return undefined;
    });
    await saveOneCall(harness, 'silent', `${receiver.url}/silent`);
    const posted = await request(harness.app).post('/events/test/silent').set('Authorization', harness.auth).send({});
    assert.equal(posted.status, 202);

    const { dispatch, run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [['call', 'completed']],
    );
    assert.equal(receiver.to('/silent').length, 1, 'the step ran once');
    const history = async (workflowId: string) =>
      (await harness.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const dispatcher = await history(posted.body.workflowId as string);
    assert.equal(seconds(scheduled(dispatcher, 'startRuns')[0]?.heartbeatTimeout), 30);
    assert.equal(completedAttempt(dispatcher, 'startRuns'), 1, 'startRuns was kept alive');
    const steps = await history(dispatch.matched[0]!.workflowId);
    assert.equal(seconds(scheduled(steps, 'http.request')[0]?.heartbeatTimeout), 30);
    assert.equal(completedAttempt(steps, 'http.request'), 1, 'the step was kept alive');
  });
});
