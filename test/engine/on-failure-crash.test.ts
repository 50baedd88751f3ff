import { ActivityFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { ManagedProcess } from '../../devstack/managed-process';
import {
  RUN_HANDLERS,
  type CancelRecord,
  type CancelRequest,
  type FailureContext,
  type RunStatus,
} from '../../common/run-control';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';
import { startWorkerProcess } from '../support/worker-process';

const EventType = temporal.api.enums.v1.EventType;

/** One activity of a run's history: how often it was scheduled and completed, and its last attempt. */
interface ActivityRecord {
  scheduled: number;
  completed: number;
  attempt: number;
}

/** The activities of a run's history by summary (the step's name or id), as the interpreter schedules them. */
async function activitiesOf(handle: WorkflowHandle): Promise<Map<string, ActivityRecord>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const bySchedule = new Map<string, string>();
  const records = new Map<string, ActivityRecord>();
  for (const event of events) {
    const summaryPayload = event.userMetadata?.summary;
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const summary = summaryPayload?.data ? JSON.parse(Buffer.from(summaryPayload.data).toString('utf8')) : '';
      bySchedule.set(String(event.eventId), String(summary));
      const record = records.get(String(summary)) ?? { scheduled: 0, completed: 0, attempt: 0 };
      records.set(String(summary), { ...record, scheduled: record.scheduled + 1 });
    }
    const started = event.activityTaskStartedEventAttributes;
    const completed = event.activityTaskCompletedEventAttributes;
    const step = bySchedule.get(String(started?.scheduledEventId ?? completed?.scheduledEventId));
    const record = step === undefined ? undefined : records.get(step);
    if (record && started) record.attempt = started.attempt ?? 0;
    if (record && completed) record.completed += 1;
  }
  return records;
}

describe('engine: a worker killed while on_failure runs', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let workers: ManagedProcess[] = [];
  /** Requests to a path starting with `/hold` wait here until the test lets them go. */
  let holding = true;
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();

  before(async () => {
    receiver = await HttpReceiver.start();
    receiver.respondWith(async (req) => {
      if (req.path.includes('/broken')) return { status: 409, body: { error: 'conflict' } };
      if (req.path.includes('/hold') && holding) await held;
      return undefined;
    });
    harness = await startHarness({ worker: false });
  });
  beforeEach(() => {
    holding = true;
    held = new Promise<void>((resolve) => (release = resolve));
  });
  // Each test's workers leave with it, so the next test's run is polled only by the workers it starts.
  afterEach(async () => {
    release();
    await Promise.all(workers.map((worker) => worker.stop()));
    workers = [];
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  /** Saves a definition bound to `test/<type>` whose on_failure holds in its first step, then reports `failure`. */
  async function define(id: string, type: string, steps: unknown[]): Promise<void> {
    const saved = await request(harness.app)
      .put(`/api/definitions/${id}`)
      .set('Authorization', harness.auth)
      .send({
        id,
        name: id,
        on: [{ source: 'test', type }],
        steps,
        on_failure: [
          {
            id: 'drain',
            action: 'http.request',
            // Remote: a killed worker's remote step is retried alone (local steps: test/engine/local-steps.test.ts).
            execution: 'remote',
            // The attempt cut off by the kill is retried once its start-to-close timeout passes.
            timeout: '4s',
            retry: { initialInterval: '500ms' },
            with: { method: 'POST', url: `${receiver.url}/${id}/hold`, timeout: '2m' },
          },
          {
            id: 'report',
            action: 'http.request',
            execution: 'remote',
            with: { method: 'POST', url: `${receiver.url}/${id}/report`, json: { failure: '${{ failure }}' } },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  }

  /** Kills the worker once on_failure's first step has reached the receiver, lets it go, and starts another. */
  async function killDuringOnFailure(crashing: ManagedProcess, id: string): Promise<void> {
    await eventually(() => (receiver.to(`/${id}/hold`).length > 0 ? true : undefined), 60_000, 'on_failure to start');
    crashing.child.kill('SIGKILL');
    await crashing.exited;
    assert.equal(receiver.to(`/${id}/report`).length, 0, 'the kill came before the second on_failure step');
    holding = false;
    release();
    await startWorkerProcess(harness, workers);
  }

  /** Asserts the on_failure steps each ran to the end once in the history, and what the receiver got. */
  async function assertCleanedUpOnce(handle: WorkflowHandle, id: string): Promise<FailureContext> {
    const activities = await activitiesOf(handle);
    const drain = activities.get('drain');
    assert.ok(drain, 'on_failure drain was scheduled');
    assert.equal(drain.scheduled, 1, 'drain is one activity, not started again by the new worker');
    assert.equal(drain.completed, 1);
    assert.ok(drain.attempt >= 2, `the attempt cut off by the kill was retried (attempt ${drain.attempt})`);
    // At least once: the attempt the kill cut off reached the receiver, and so did the retry that completed.
    assert.ok(receiver.to(`/${id}/hold`).length >= 2, `${receiver.to(`/${id}/hold`).length} drain requests`);
    assert.deepEqual(activities.get('report'), { scheduled: 1, completed: 1, attempt: 1 });
    const reports = receiver.to(`/${id}/report`);
    assert.equal(reports.length, 1, 'the second on_failure step ran exactly once');
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.deepEqual(
      status.onFailure?.map((step) => `${step.id}:${step.status}`),
      ['drain:completed', 'report:completed'],
    );
    return (reports[0]!.json as { failure: FailureContext }).failure;
  }

  it('runs on_failure to the end once after a SIGKILL during its first step, and the run fails with the original failure', async function () {
    this.timeout(300_000);
    const id = 'fails-then-drains';
    await define(id, 'fail', [
      { id: 'mark', action: 'flow.set', with: { stage: 'deploying' } },
      {
        id: 'deploy',
        action: 'http.request',
        execution: 'remote',
        with: { method: 'POST', url: `${receiver.url}/${id}/broken` },
      },
      { id: 'never', action: 'flow.set', with: { reached: true } },
    ]);
    const crashing = await startWorkerProcess(harness, workers);
    const runId = await harness.startRun('test', 'fail', { n: uniqueName('n') });
    const handle = harness.client.workflow.getHandle(runId);
    await killDuringOnFailure(crashing, id);

    const error = await handle.result().then(
      () => assert.fail('the run should fail'),
      (failed: unknown) => failed,
    );
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
    assert.equal(error.cause.type, 'StepFailed', 'the original failure, not the cleanup');
    assert.match(error.cause.message, /step "deploy" \(steps\[1\]\) failed in http\.request/);
    assert.ok(error.cause.cause instanceof ActivityFailure, String(error.cause.cause));
    assert.ok(error.cause.cause.cause instanceof ApplicationFailure, String(error.cause.cause.cause));
    assert.equal(error.cause.cause.cause.type, 'HttpClientError');
    assert.equal((await handle.describe()).status.name, 'FAILED');

    assert.equal(receiver.to(`/${id}/broken`).length, 1, 'the failed step is not run again');
    const failure = await assertCleanedUpOnce(handle, id);
    assert.equal(failure.step, 'deploy');
    assert.equal(failure.type, 'HttpClientError');
    assert.equal(failure.cancelled, false);
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.equal(status.phase, 'failed');
  });

  it('runs on_failure to the end once after a cancel and a SIGKILL during its first step, and the run ends cancelled', async function () {
    this.timeout(300_000);
    const id = 'cancelled-then-drains';
    await define(id, 'cancel', [{ id: 'soak', action: 'flow.sleep', with: { duration: '1h' } }]);
    const crashing = await startWorkerProcess(harness, workers);
    const runId = await harness.startRun('test', 'cancel', { n: uniqueName('n') });
    const handle = harness.client.workflow.getHandle(runId);
    await eventually(
      async () => {
        const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
        return status.steps[0]?.status === 'running' ? true : undefined;
      },
      60_000,
      'the run to sleep',
    );
    await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, {
      args: [{ by: 'alice', reason: 'wrong branch' }],
    });
    await handle.cancel();
    await killDuringOnFailure(crashing, id);

    const error = await handle.result().then(
      () => assert.fail('the run should end cancelled'),
      (failed: unknown) => failed,
    );
    assert.ok(error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure, String(error));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');

    const failure = await assertCleanedUpOnce(handle, id);
    assert.deepEqual(
      { step: failure.step, cancelled: failure.cancelled, by: failure.by, message: failure.message },
      { step: 'soak', cancelled: true, by: 'alice', message: 'wrong branch' },
    );
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.equal(status.phase, 'cancelled');
  });
});
