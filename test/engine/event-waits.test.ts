import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { EVENT_DELIVERED_SIGNAL, type EventDispatchResult, type WaitDelivery } from '../../common/event-waits';
import type { RunResult } from '../../common/run-types';
import { openMongo, WaitStore, type MongoHandle } from '../../registry';
import { startHarness, type Harness } from '../support/harness';
import { localActivityMarkers } from '../support/local-activity-markers';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { testConfig, uniqueName } from '../support/stack';

const EventType = temporal.api.enums.v1.EventType;

/**
 * `flow.wait_for_event` end to end, through the gateway, the dispatchers, the waits store and the interpreter: which
 * runs an event wakes, how often, what a late registration still catches, and what a timeout does.
 */
describe('engine: steps that wait for a later event', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let mongo: MongoHandle;
  /** The build events' source; unique, so no other test's dispatchers are looked back at. */
  const jenkins = uniqueName('jenkins');
  const trigger = uniqueName('jira');
  /** Runs of definition `between` post their build event from inside the registration, before the run blocks. */
  const between = new Map<string, Record<string, unknown>>();
  const gates = new Map<string, () => void>();
  const held = new Map<string, Promise<void>>();
  const gate = (n: string): Promise<void> => {
    if (!held.has(n)) held.set(n, new Promise<void>((resolve) => gates.set(n, resolve)));
    return held.get(n)!;
  };
  const open = (n: string): void => {
    void gate(n);
    gates.get(n)!();
  };

  before(async function () {
    this.timeout(120_000);
    receiver = await HttpReceiver.start();
    receiver.respondWith(async (req) => {
      const n = /^\/hold\/([^/?]+)/.exec(req.path)?.[1];
      if (n) await gate(n);
      return undefined;
    });
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('waits').replace(/-/g, '_')}`,
    });
    let waits: WaitStore | undefined;
    harness = await startHarness({
      mongo,
      deps: {
        registerWait: async (wait) => {
          waits ??= new WaitStore(mongo, harness.store);
          await waits.register(wait);
          const body = between.get(wait.workflowId);
          if (body) await postBuild(body);
        },
      },
    });
    for (const definition of definitions()) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${definition.id}`)
        .set('Authorization', harness.auth)
        .send(definition);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });
  after(async () => {
    for (const release of gates.values()) release();
    await harness.stop();
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
    await receiver.stop();
  });

  /** A step waiting for the build of this run's ticket. */
  const waitStep = (id: string, extra: Record<string, unknown>) => ({
    id,
    action: 'flow.wait_for_event',
    with: {
      source: jenkins,
      type: 'build_finished',
      where: { 'parameters.RELEASE_TICKET': '${{ event.issue }}' },
      ...extra,
    },
  });

  /** A wait for this run's green build, then a report of what it got. */
  function waitingSteps() {
    return [
      waitStep('build', { if: 'event.status == "SUCCESS"', timeout: '5m' }),
      {
        id: 'report',
        action: 'http.request',
        with: {
          method: 'POST',
          url: `${receiver.url}/report/\${{ event.issue }}`,
          json: { build: '${{ steps.build.output.body.number }}', event: '${{ steps.build.output.id }}' },
        },
      },
    ];
  }

  function definitions() {
    const on = (type: string) => [{ source: trigger, type }];
    return [
      { id: 'awaits-build', name: 'Awaits its build', on: on('start'), steps: waitingSteps() },
      {
        id: 'late-wait',
        name: 'Triggers, then waits',
        on: on('late'),
        steps: [
          {
            id: 'trigger',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/hold/\${{ event.issue }}`, timeout: '2m' },
            timeout: '3m',
          },
          ...waitingSteps(),
        ],
      },
      { id: 'between', name: 'Event between registration and blocking', on: on('between'), steps: waitingSteps() },
      {
        id: 'waits-twice',
        name: 'Waits for two builds',
        on: on('twice'),
        steps: [...waitingSteps(), waitStep('second', { timeout: '5m' })],
      },
      {
        id: 'times-out',
        name: 'Gives up',
        on: on('timeout'),
        steps: [
          waitStep('build', { timeout: '2s', on_timeout: '${{ event.on_timeout }}' }),
          {
            id: 'fallback',
            if: 'steps.build.output.timed_out',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/fallback/\${{ event.issue }}` },
          },
        ],
      },
    ];
  }

  /** Starts a run of `type` for a release ticket; resolves with its workflow id. */
  const startRun = (type: string, issue: string, body: Record<string, unknown> = {}): Promise<string> =>
    harness.startRun(trigger, type, { issue, ...body });

  /** Posts a Jenkins build event; resolves with its dispatcher's result. */
  async function postBuild(body: Record<string, unknown>, key = uniqueName('build')): Promise<EventDispatchResult> {
    const posted = await request(harness.app)
      .post(`/events/${jenkins}/build_finished`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    return (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as EventDispatchResult;
  }
  const build = (ticket: string, number: number, status = 'SUCCESS') => ({
    name: 'release',
    number,
    status,
    parameters: { RELEASE_TICKET: ticket },
  });

  /** Resolves once the run's wait for step `stepId` is in the waits store. */
  async function registered(workflowId: string, stepId = 'build'): Promise<void> {
    await eventually(
      async () => {
        const documents = await mongo.db.collection('waits').find({}).toArray();
        return documents.some((document) =>
          (document['waiters'] as { workflowId: string; stepId: string }[]).some(
            (waiter) => waiter.workflowId === workflowId && waiter.stepId === stepId,
          ),
        )
          ? true
          : undefined;
      },
      30_000,
      `the wait of ${workflowId}`,
    );
  }
  const details = async (workflowId: string): Promise<string | undefined> =>
    (
      await harness.client.workflow
        .getHandle(workflowId)
        .query<{ currentDetails: string }>('__temporal_workflow_metadata')
        .catch(() => undefined)
    )?.currentDetails;
  const result = (workflowId: string): Promise<RunResult> =>
    harness.client.workflow.getHandle(workflowId).result() as Promise<RunResult>;
  const signals = async (workflowId: string): Promise<number> =>
    ((await harness.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter(
      (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    ).length;
  const isRunning = async (workflowId: string): Promise<boolean> =>
    (await harness.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';

  it('wakes exactly the run whose where and if match, and says in the dispatcher result which waits it skipped', async function () {
    this.timeout(120_000);
    const first = await startRun('start', 'REL-1');
    const second = await startRun('start', 'REL-2');
    await registered(first);
    await registered(second);
    assert.match(
      (await details(first)) ?? '',
      new RegExp(
        `^Step 1/2: build \\(Waiting for ${jenkins}/build_finished \\(where parameters\\.RELEASE_TICKET = "REL-1"\\) until \\d{4}-\\d\\d-\\d\\dT`,
      ),
    );

    const other = await postBuild(build('REL-3', 1));
    assert.equal(other.waits, undefined, 'no wait is keyed by REL-3');
    const failed = await postBuild(build('REL-1', 2, 'FAILURE'));
    assert.deepEqual(failed.waits, {
      delivered: [],
      skipped: [{ workflowId: first, stepId: 'build', reason: 'if "event.status == \\"SUCCESS\\"" is false' }],
    });
    const green = await postBuild(build('REL-1', 3));
    assert.deepEqual(green.waits, { delivered: [{ workflowId: first, stepId: 'build' }], skipped: [] });
    assert.deepEqual(green.matched, []);

    const run = await result(first);
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      ['build:completed', 'report:completed'],
    );
    assert.deepEqual(
      receiver.to('/report/REL-1').map((req) => req.json),
      [{ build: 3, event: green.eventId }],
    );
    assert.ok(await isRunning(second), 'the run waiting for REL-2 still waits');
    // The wait is gone from the store once it ended, so later events for REL-1 signal nobody.
    assert.equal((await postBuild(build('REL-1', 4))).waits, undefined);

    const forSecond = await postBuild(build('REL-2', 5));
    await result(second);
    assert.deepEqual(
      receiver.to('/report/REL-2').map((req) => req.json),
      [{ build: 5, event: forSecond.eventId }],
    );
  });

  it('wakes every run that waits for the event', async function () {
    this.timeout(120_000);
    const runs = await Promise.all([1, 2, 3].map(() => startRun('start', 'REL-MANY')));
    for (const run of runs) await registered(run);
    const dispatched = await postBuild(build('REL-MANY', 7));
    assert.deepEqual([...dispatched.waits!.delivered].map((target) => target.workflowId).sort(), [...runs].sort());
    for (const run of runs) assert.equal((await result(run)).steps.length, 2);
    assert.equal(receiver.to('/report/REL-MANY').length, 3);
  });

  it('takes a redelivered event once: the same Idempotency-Key twice, and the same event id signalled again', async function () {
    this.timeout(120_000);
    const run = await startRun('twice', 'REL-TWICE');
    await registered(run);
    const key = uniqueName('redelivered');
    const first = await postBuild(build('REL-TWICE', 10), key);
    const again = await request(harness.app)
      .post(`/events/${jenkins}/build_finished`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send(build('REL-TWICE', 10));
    assert.equal(again.body.duplicate, true);
    await registered(run, 'second');
    // The same event for the second wait (say, a dispatcher retried after the first wait ended): ignored.
    const redelivery: WaitDelivery = {
      stepId: 'second',
      event: { id: first.eventId, source: jenkins, type: 'build_finished', body: build('REL-TWICE', 10) },
      dispatchedAt: new Date().toISOString(),
    };
    await harness.client.workflow.getHandle(run).signal(EVENT_DELIVERED_SIGNAL, redelivery);
    // A new event, but from a dispatcher that started before the run (one that waited out an outage): not for it.
    const stale: WaitDelivery = {
      stepId: 'second',
      event: { ...redelivery.event, id: `${jenkins}-stale` },
      dispatchedAt: '2020-01-01T00:00:00.000Z',
    };
    await harness.client.workflow.getHandle(run).signal(EVENT_DELIVERED_SIGNAL, stale);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.ok(await isRunning(run), 'the second wait took the event the first one took, or one older than the run');
    assert.match((await details(run)) ?? '', /^Step 3\/3: second \(Waiting for/);

    const next = await postBuild(build('REL-TWICE', 11));
    assert.deepEqual(next.waits?.delivered, [{ workflowId: run, stepId: 'second' }]);
    await result(run);
    const history = await harness.client.workflow.getHandle(run).fetchHistory();
    const completed = history.events?.find(
      (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    );
    const outcome = harness.client.options.loadedDataConverter.payloadConverter.fromPayload<RunResult>(
      completed!.workflowExecutionCompletedEventAttributes!.result!.payloads![0]!,
    );
    assert.deepEqual(
      outcome.steps.map((step) => step.id),
      ['build', 'report', 'second'],
    );
    assert.deepEqual(
      receiver.to('/report/REL-TWICE').map((req) => req.json),
      [{ build: 10, event: first.eventId }],
    );
    assert.equal(await signals(run), 4, 'one delivery per event, plus the two the run ignored');
  });

  it('finds, by looking back, an event that came after the run started but before its wait registered; not an older one', async function () {
    this.timeout(120_000);
    const older = await postBuild(build('REL-LATE', 20));
    const run = await startRun('late', 'REL-LATE');
    await eventually(() => (receiver.to('/hold/REL-LATE').length === 1 ? true : undefined));
    // The build finishes while the run is still in its trigger step: nobody waits for it yet.
    const early = await postBuild(build('REL-LATE', 21));
    assert.equal(early.waits, undefined);
    open('REL-LATE');
    const done = await result(run);
    assert.deepEqual(
      done.steps.map((step) => step.id),
      ['trigger', 'build', 'report'],
    );
    assert.deepEqual(
      receiver.to('/report/REL-LATE').map((req) => req.json),
      [{ build: 21, event: early.eventId }],
    );
    assert.notEqual(older.eventId, early.eventId);
    assert.equal(await signals(run), 0, 'the look-back found it; no dispatcher signalled');
  });

  it('takes an event that arrives between the registration and the run blocking', async function () {
    this.timeout(120_000);
    // The registration itself posts the event and waits for its dispatcher, so the delivery is in the run's
    // history before the registration's completion. A run's id is its definition and event id.
    const issue = 'REL-BETWEEN';
    const key = uniqueName('between');
    const runId = `between-${trigger}-${key}`;
    between.set(runId, build(issue, 30));
    const posted = await request(harness.app)
      .post(`/events/${trigger}/between`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send({ issue });
    assert.equal(posted.status, 202);
    const started = (await harness.client.workflow
      .getHandle(posted.body.workflowId as string)
      .result()) as EventDispatchResult;
    assert.equal(started.matched[0]?.workflowId, runId);
    const done = await result(runId);
    assert.equal(done.steps.length, 2);
    assert.deepEqual((receiver.to(`/report/${issue}`).at(-1)!.json as { build: number }).build, 30);
    const events = (await harness.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const signalled = events.findIndex((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    const registeredAt = events.findIndex((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    assert.ok(signalled > 0 && signalled < registeredAt, 'the delivery came before the registration completed');
    const activities = events
      .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name) => name !== undefined);
    assert.deepEqual(
      activities,
      ['registerWait', 'unregisterWait', 'http.request'],
      'the signal woke it, no look-back; the report ran as a remote step (its action default)',
    );
    assert.deepEqual(localActivityMarkers(events), [], 'no local step');
  });

  it('delivers to a run that closed without unregistering (terminated while it waited) without failing the dispatch', async function () {
    this.timeout(60_000);
    const run = await startRun('start', 'REL-GONE');
    await registered(run);
    await harness.client.workflow.getHandle(run).terminate('test: gone while waiting');
    const dispatched = await postBuild(build('REL-GONE', 40));
    assert.deepEqual(dispatched.waits?.delivered, [{ workflowId: run, stepId: 'build' }]);
    assert.equal((await harness.client.workflow.getHandle(run).describe()).status.name, 'TERMINATED');
  });

  it('ends cancelled when cancelled while it waits, and removes its wait on the way out', async function () {
    this.timeout(60_000);
    const run = await startRun('start', 'REL-CANCEL');
    await registered(run);
    await harness.client.workflow.getHandle(run).cancel();
    const error = await result(run).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof CancelledFailure, String(error.cause));
    assert.equal((await postBuild(build('REL-CANCEL', 50))).waits, undefined, 'the wait was removed');
  });

  it('times out: fails with WaitForEventTimedOut, or goes on with timed_out: true', async function () {
    this.timeout(60_000);
    const failing = await startRun('timeout', 'REL-T1', { on_timeout: 'fail' });
    const continuing = await startRun('timeout', 'REL-T2', { on_timeout: 'continue' });
    const error = await result(failing).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'WaitForEventTimedOut');
    assert.equal(error.cause.nonRetryable, true);
    assert.match(
      error.cause.message,
      /step "build" \(steps\[0\]\): no .*\/build_finished \(where parameters\.RELEASE_TICKET = "REL-T1"\) event came within 2s/,
    );
    const done = await result(continuing);
    assert.deepEqual(
      done.steps.map((step) => `${step.id}:${step.status}`),
      ['build:completed', 'fallback:completed'],
    );
    assert.equal(receiver.to('/fallback/REL-T2').length, 1);
    assert.equal(receiver.to('/fallback/REL-T1').length, 0);
  });
});
