import assert from 'node:assert/strict';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { actions, actionsById } from '../../activities';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { ConfigError, loadConfig, parseWorkerWorkflows } from '../../config';
import { acceptEvent } from '../../intake';
import { DefinitionStore, openMongo, validateDefinition, type MongoHandle } from '../../registry';
import { defineActionPack } from '../../sdk';
import { actionQueues, workerActions, type LoadedActionPack } from '../../workers/action-packs';
import { createWorker, type FlowWorker } from '../../workers/create-worker';
import { greetingsHello } from '../fixtures/action-packs/greetings';
import { flowBundle } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { connectClient, connectWorker, testConfig, uniqueName } from '../support/stack';

/** What the tests read of a run's history: each activity's type, queue, attempt and the worker that started it. */
interface ActivityRecord {
  readonly type: string;
  readonly queue: string;
  readonly attempt: number;
  readonly identity: string;
}

async function activitiesOf(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, { type: string; queue: string }>();
  const records: ActivityRecord[] = [];
  for (const event of events) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule) {
      scheduled.set(String(event.eventId), {
        type: schedule.activityType?.name ?? '',
        queue: schedule.taskQueue?.name ?? '',
      });
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const of = scheduled.get(String(started.scheduledEventId));
      assert.ok(of, `the activity started by event ${String(event.eventId)} was scheduled`);
      records.push({ ...of, attempt: started.attempt ?? 0, identity: started.identity ?? '' });
    }
  }
  return records;
}

async function currentDetails(handle: WorkflowHandle): Promise<string> {
  return (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
}

describe('task-queue routing', () => {
  const token = 'greetings-token-7d41a0';
  let client: Client;
  let clientConnection: { close(): Promise<void> };
  let workerConnection: NativeConnection;
  let mongo: MongoHandle;
  let receiver: HttpReceiver;

  before(async () => {
    ({ client, connection: clientConnection } = await connectClient());
    workerConnection = await connectWorker();
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('routing').replace(/-/g, '_')}`,
    });
    receiver = await HttpReceiver.start();
    receiver.respondWith(() => ({ status: 200, body: { ok: true } }));
  });

  after(async () => {
    await receiver.stop();
    await workerConnection.close();
    await clientConnection.close();
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  /**
   * A Flow worker on a queue of its own, without the pack's secret, whose registry routes the greetings pack to
   * `packQueue`; and a definition (id `definitionId`) mixing built-in and pack steps saved there.
   */
  async function flowWith(packQueue: string, steps: readonly Record<string, unknown>[]) {
    const pack: LoadedActionPack = {
      pack: defineActionPack({ name: 'greetings', version: '0.3.0', taskQueue: packQueue, actions: [greetingsHello] }),
      source: 'in-test',
      file: 'in-test',
    };
    const taskQueue = uniqueName('flow-main');
    const catalog = actionsById(workerActions(actions, [pack]));
    const store = new DefinitionStore(mongo, catalog, { actionQueues: actionQueues(actions, [pack], taskQueue) });
    const eventType = uniqueName('greet').replace(/-/g, '_');
    const validated = validateDefinition(
      {
        id: uniqueName('routed'),
        name: 'Greet on the pack worker',
        on: [{ source: 'test', type: eventType }],
        steps,
      },
      catalog,
    );
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));
    await store.save(validated.definition, { format: 'json' });
    const main = await createWorker({
      connection: workerConnection,
      namespace: testConfig().temporal.namespace,
      taskQueue,
      client,
      registry: store,
      env: {},
      workflowBundle: await flowBundle(),
      actionPacks: [pack],
      options: { identity: 'flow-main' },
    });
    const startPackWorker = (): Promise<FlowWorker> =>
      createWorker({
        workflows: false,
        connection: workerConnection,
        namespace: testConfig().temporal.namespace,
        taskQueue: packQueue,
        client,
        env: { GREETINGS_TOKEN: token },
        actionPacks: [pack],
        options: { identity: 'greetings-worker' },
      });
    /** Posts the event and returns the handle of the run it started. */
    const startRun = async (body: Record<string, unknown>): Promise<WorkflowHandle> => {
      const accepted = await acceptEvent({ client, taskQueue }, { source: 'test', type: eventType, body });
      const dispatch = (await client.workflow.getHandle(accepted.workflowId).result()) as DispatchResult;
      const run = dispatch.matched[0];
      assert.ok(run, JSON.stringify(dispatch.skipped));
      return client.workflow.getHandle(run.workflowId);
    };
    return { main, startPackWorker, startRun };
  }

  const mixedSteps = (url: string) => [
    // Remote, so that its activity task shows which worker took it (a local step runs on the workflow's worker anyway).
    { id: 'ping', action: 'http.request', with: { url: `${url}/ping` }, execution: 'remote' },
    { id: 'greet', action: 'greetings.hello', with: { name: '${{ event.user }}' } },
    { id: 'remember', action: 'flow.set', with: { said: '${{ steps.greet.output.greeting }}' } },
  ];

  it('runs a pack step on the activity-only pack worker and built-in steps on the Flow worker', async function () {
    this.timeout(60_000);
    const packQueue = uniqueName('greetings-q');
    const flow = await flowWith(packQueue, mixedSteps(receiver.url));
    const packWorker = await flow.startPackWorker();
    const { handle, result } = await packWorker.runUntil(() =>
      flow.main.runUntil(async () => {
        const handle = await flow.startRun({ user: 'Ada' });
        return { handle, result: (await handle.result()) as RunResult };
      }),
    );
    assert.deepEqual(
      result.steps.map(({ id, status }) => [id, status]),
      [
        ['ping', 'completed'],
        ['greet', 'completed'],
        ['remember', 'completed'],
      ],
    );
    assert.deepEqual(result.vars, { said: 'Hello, Ada!' });
    const records = (await activitiesOf(handle)).filter(({ type }) => type !== 'emitRunEvent');
    assert.deepEqual(records, [
      { type: 'http.request', queue: (await handle.describe()).taskQueue, attempt: 1, identity: 'flow-main' },
      { type: 'greetings.hello', queue: packQueue, attempt: 1, identity: 'greetings-worker' },
    ]);
  });

  it('shows a routed step waiting for a worker, and fails it after schedule_to_start when none polls', async function () {
    this.timeout(60_000);
    const nobody = uniqueName('nobody-q');
    const flow = await flowWith(uniqueName('greetings-q'), [
      {
        id: 'deploy',
        name: 'Deploy inside',
        action: 'http.request',
        with: { url: `${receiver.url}/deploy` },
        task_queue: nobody,
        schedule_to_start: '2s',
      },
    ]);
    const error = await flow.main.runUntil(async () => {
      const handle = await flow.startRun({ user: 'Ada' });
      const details = await eventually(async () => {
        const current = await currentDetails(handle);
        return current.includes('Waiting for a worker') ? current : undefined;
      });
      assert.equal(
        details,
        `Step 1/1: Deploy inside (http.request; Waiting for a worker on ${nobody} or running there)`,
      );
      return handle.result().then(
        () => assert.fail('the run completed'),
        (failure: unknown) => failure,
      );
    });
    assert.ok(error instanceof WorkflowFailedError);
    const stepFailed = error.cause;
    assert.ok(stepFailed instanceof ApplicationFailure);
    assert.equal(stepFailed.type, 'StepFailed');
    assert.equal(
      stepFailed.message,
      `step "deploy" (steps[0]) failed in http.request: no worker polled task queue "${nobody}" within 2s (schedule_to_start); start a worker with the action on that queue`,
    );
    assert.ok(stepFailed.cause instanceof ActivityFailure);
    assert.ok(stepFailed.cause.cause instanceof TimeoutFailure);
    assert.equal(stepFailed.cause.cause.timeoutType, 'SCHEDULE_TO_START');
    assert.equal(receiver.requests.filter(({ path }) => path === '/deploy').length, 0);
  });

  it('waits while the pack worker is stopped and goes on when it is back, repeating nothing', async function () {
    this.timeout(90_000);
    const packQueue = uniqueName('greetings-q');
    const flow = await flowWith(packQueue, mixedSteps(receiver.url));
    // The pack worker polls once, then stops: its queue is known to Temporal but nobody polls it now.
    const first = await flow.startPackWorker();
    await first.runUntil(() => new Promise((resolve) => setTimeout(resolve, 200)));
    const pingsBefore = receiver.requests.filter(({ path }) => path === '/ping').length;
    const result = await flow.main.runUntil(async () => {
      const handle = await flow.startRun({ user: 'Grace' });
      await eventually(async () =>
        (await currentDetails(handle)).includes(`Waiting for a worker on ${packQueue}`) ? true : undefined,
      );
      // Long enough for a worker that polls to have taken it, had there been one.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      const again = await flow.startPackWorker();
      const output = (await again.runUntil(handle.result())) as RunResult;
      return { handle, output };
    });
    assert.deepEqual(result.output.vars, { said: 'Hello, Grace!' });
    assert.equal(receiver.requests.filter(({ path }) => path === '/ping').length - pingsBefore, 1);
    const records = (await activitiesOf(result.handle)).filter(({ type }) => type !== 'emitRunEvent');
    assert.deepEqual(
      records.map(({ type, attempt, identity }) => [type, attempt, identity]),
      [
        ['http.request', 1, 'flow-main'],
        ['greetings.hello', 1, 'greetings-worker'],
      ],
    );
  });

  it('runs nothing but the packs on an activity-only worker, and reads FLOW_WORKER_WORKFLOWS', async function () {
    const worker = await createWorker({
      workflows: false,
      connection: workerConnection,
      namespace: testConfig().temporal.namespace,
      taskQueue: uniqueName('greetings-q'),
      client,
      env: {},
      actionPacks: [
        {
          pack: defineActionPack({ name: 'greetings', version: '0.3.0', actions: [greetingsHello] }),
          source: 'in-test',
        },
      ],
    });
    assert.equal(worker.watcher, undefined);
    assert.deepEqual([...worker.worker.options.activities.keys()], ['greetings.hello']);
    assert.equal(worker.worker.options.workflowBundle, undefined);
    assert.equal(worker.worker.options.workflowsPath, undefined);
    // Run and stopped at once, so it lets go of the shared connection.
    await worker.runUntil(Promise.resolve());

    assert.equal(loadConfig({}).worker.workflows, true);
    assert.equal(loadConfig({ FLOW_WORKER_WORKFLOWS: 'off' }).worker.workflows, false);
    assert.equal(parseWorkerWorkflows({ FLOW_WORKER_WORKFLOWS: 'on' }), true);
    assert.throws(
      () => parseWorkerWorkflows({ FLOW_WORKER_WORKFLOWS: 'activities' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === 'FLOW_WORKER_WORKFLOWS' &&
        /must be on or off; off starts a worker that runs only its packs' activities/.test(error.message),
    );
  });

  it('refuses task_queue and schedule_to_start on a meta-action, and a queue name that is not one', () => {
    const errors = (steps: unknown[]) => {
      const result = validateDefinition({ id: 'q', name: 'q', on: [{ source: 'a', type: 'b' }], steps }, actionsById());
      return result.ok ? [] : result.errors.map(({ path, message }) => `${path}: ${message}`);
    };
    assert.deepEqual(
      errors([{ id: 's', action: 'flow.set', with: { a: 1 }, task_queue: 'deploys', schedule_to_start: '1m' }]),
      [
        'steps[0].task_queue: flow.set runs in the workflow, not on a worker; remove task_queue',
        'steps[0].schedule_to_start: flow.set runs in the workflow, not on a worker; remove schedule_to_start',
      ],
    );
    assert.match(
      errors([{ id: 's', action: 'http.request', with: { url: 'https://x.example' }, task_queue: 'not a queue' }]).join(
        '\n',
      ),
      /steps\[0\]\.task_queue: must be a task queue name/,
    );
    assert.match(
      errors([{ id: 's', action: 'http.request', with: { url: 'https://x.example' }, schedule_to_start: 'soon' }]).join(
        '\n',
      ),
      /steps\[0\]\.schedule_to_start: must be a duration/,
    );
  });
});
