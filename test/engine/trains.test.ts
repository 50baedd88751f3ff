import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import assert from 'node:assert/strict';
import {
  trainWorkflowId,
  type RemoveRequest,
  type TrainDeparture,
  type TrainInput,
  type TrainState,
  type WhenBusy,
} from '../../common/train-types';
import { admitToTrain, watchTrainHolder, type Admission } from '../../intake';
import { createWorker, type FlowWorker } from '../../workers/create-worker';
import type { RiderResult } from '../fixtures/train-riders';
import { eventually } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';
import { bundle, testConfig, uniqueName } from '../support/stack';

/**
 * Trains on their own: the `train` workflow with riders that behave like Flow's runs (they wait for their grant),
 * on the real Temporal server, with the real admission (update-with-start) and the real holder watcher.
 */
describe('engine: trains let one run of a group go at a time', () => {
  let riders: WorkflowBundleWithSourceMap;
  let trains: TrainWorld;
  before(async function () {
    this.timeout(120_000);
    riders = await bundle(require.resolve('../fixtures/train-riders'));
    trains = await TrainWorld.start(testConfig().temporal.address, riders);
  });
  after(async () => {
    await trains.stop();
  });

  it('runs three queued runs strictly one after another, in arrival order', async function () {
    this.timeout(120_000);
    const group = uniqueName('g');
    const [a, b, c] = ['a', 'b', 'c'].map((name) => uniqueName(name)) as [string, string, string];
    assert.deepEqual(await trains.enter(group, a), { admitted: true, answer: { outcome: 'holding', position: 0 } });
    assert.deepEqual(await trains.enter(group, b), {
      admitted: true,
      answer: { outcome: 'queued', position: 1, holder: a },
    });
    assert.deepEqual((await trains.enter(group, c)).admitted, true);
    // Asked again (a retried activity), the train gives the same answer and queues nothing twice.
    assert.deepEqual(await trains.enter(group, b, 'queue', { start: false }), {
      admitted: true,
      answer: { outcome: 'queued', position: 1, holder: a },
    });
    assert.deepEqual(
      (await trains.state(group)).queue.map((entry) => entry.workflowId),
      [b, c],
    );

    for (const [holder, next] of [
      [a, b],
      [b, c],
      [c, undefined],
    ] as const) {
      await trains.untilHolder(group, holder);
      await trains.finish(holder);
      if (next) await trains.untilHolder(group, next);
    }
    const spans = await Promise.all(
      [a, b, c].map(async (workflowId) => {
        const result = await trains.result(workflowId);
        const { closeTime } = await trains.client.workflow.getHandle(workflowId).describe();
        return { granted: result.grantedAt!, closed: closeTime!.getTime() };
      }),
    );
    assert.ok(spans[0]!.closed <= spans[1]!.granted, 'b started before a closed');
    assert.ok(spans[1]!.closed <= spans[2]!.granted, 'c started before b closed');
    await trains.untilEnded(group);
  });

  it('releases the group on every kind of close: failure, cancel, terminate, completion', async function () {
    this.timeout(120_000);
    const group = uniqueName('g');
    const ids = ['fails', 'cancelled', 'terminated', 'completes', 'last'].map((name) => uniqueName(name));
    for (const id of ids) await trains.enter(group, id);
    const [fails, cancelled, terminated, completes, last] = ids as [string, string, string, string, string];

    await trains.untilHolder(group, fails);
    await trains.finish(fails, { fail: true });
    await trains.untilHolder(group, cancelled);
    await trains.client.workflow.getHandle(cancelled).cancel();
    await trains.untilHolder(group, terminated);
    await trains.client.workflow.getHandle(terminated).terminate('the test terminates the holder');
    await trains.untilHolder(group, completes);
    await trains.finish(completes);
    await trains.untilHolder(group, last);
    const recent = (await trains.state(group)).recent.map((departure) => [departure.workflowId, departure.status]);
    assert.deepEqual(recent, [
      [completes, 'COMPLETED'],
      [terminated, 'TERMINATED'],
      [cancelled, 'CANCELLED'],
      [fails, 'FAILED'],
    ]);
    await trains.finish(last);
    await trains.untilEnded(group);
  });

  it('with reject, starts nothing while the group is busy and names the holder, leaving no trace in the train', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const holder = uniqueName('holder');
    await trains.enter(group, holder, 'reject');
    const historyBefore = (await trains.client.workflow.getHandle(trainWorkflowId(group)).describe()).historyLength;
    const refused = await trains.enter(group, uniqueName('second'), 'reject', { start: false });
    assert.equal(refused.admitted, false);
    assert.equal(!refused.admitted && refused.holder, holder);
    assert.match(!refused.admitted ? refused.reason : '', /is busy: .* holds it/);
    const historyAfter = (await trains.client.workflow.getHandle(trainWorkflowId(group)).describe()).historyLength;
    assert.equal(historyAfter, historyBefore, 'a refused admission grew the train history');
    await trains.untilHolder(group, holder);
    await trains.finish(holder);
    await trains.untilEnded(group);
  });

  it('with replace, keeps one waiting run per definition and tells the replaced one who replaced it', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const holder = uniqueName('holder');
    const older = uniqueName('older');
    const newer = uniqueName('newer');
    await trains.enter(group, holder, 'replace');
    await trains.enter(group, older, 'replace');
    const replacing = await trains.enter(group, newer, 'replace');
    assert.deepEqual(replacing, {
      admitted: true,
      answer: { outcome: 'queued', position: 1, holder, superseded: older },
    });
    assert.deepEqual(await trains.result(older), { dequeued: { group, reason: 'superseded', by: newer } });
    const state = await trains.state(group);
    assert.deepEqual(
      state.queue.map((entry) => entry.workflowId),
      [newer],
    );
    assert.deepEqual(
      state.recent.map((departure) => [departure.workflowId, departure.exit, departure.by]),
      [[older, 'superseded', newer]],
    );
    await trains.finish(holder);
    await trains.untilHolder(group, newer);
    await trains.finish(newer);
    await trains.untilEnded(group);
  });

  it('removes a waiting run on request, recording who did, and refuses to remove one that is not waiting', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const holder = uniqueName('holder');
    const waiting = uniqueName('waiting');
    await trains.enter(group, holder);
    await trains.enter(group, waiting);
    const handle = trains.client.workflow.getHandle(trainWorkflowId(group));
    const departure = await handle.executeUpdate<TrainDeparture, [RemoveRequest]>('remove', {
      args: [{ eventId: `event-${waiting}`, by: 'alice' }],
    });
    assert.deepEqual([departure.workflowId, departure.exit, departure.by], [waiting, 'removed', 'alice']);
    assert.deepEqual(await trains.result(waiting), { dequeued: { group, reason: 'removed', by: 'alice' } });
    await assert.rejects(
      handle.executeUpdate('remove', { args: [{ eventId: `event-${holder}`, by: 'alice' }] }),
      (error: unknown) =>
        error instanceof WorkflowUpdateFailedError &&
        /no run of event .* waits in train/.test(String(error.cause?.message)),
    );
    await trains.finish(holder);
    await trains.untilEnded(group);
  });

  it('skips a waiting run that was cancelled before its turn, without stalling the line', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const [holder, gone, next] = ['holder', 'gone', 'next'].map((name) => uniqueName(name)) as [string, string, string];
    for (const id of [holder, gone, next]) await trains.enter(group, id);
    await trains.client.workflow.getHandle(gone).cancel();
    await trains.finish(holder);
    await trains.untilHolder(group, next);
    const departures = (await trains.state(group)).recent.map((departure) => [departure.workflowId, departure.status]);
    assert.deepEqual(departures.slice(0, 2), [
      [gone, 'CANCELLED'],
      [holder, 'COMPLETED'],
    ]);
    await trains.finish(next);
    await trains.untilEnded(group);
  });

  it('moves on from a run that never starts, and admits it afresh (behind the others) when its start is retried', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const late = uniqueName('late');
    const next = uniqueName('next');
    await trains.enter(group, late, 'queue', { start: false });
    await trains.enter(group, next);
    // The train gives up on the run that did not appear and lets the next one go.
    await trains.untilHolder(group, next);
    const gaveUp = (await trains.state(group)).recent.find((departure) => departure.workflowId === late);
    assert.equal(gaveUp?.exit, 'never-started');
    // The dispatcher's activity is retried and admits it again: it waits behind the holder, and then runs.
    const again = await trains.enter(group, late);
    assert.deepEqual(again, { admitted: true, answer: { outcome: 'queued', position: 1, holder: next } });
    await trains.finish(next);
    await trains.untilHolder(group, late);
    await trains.finish(late);
    assert.ok((await trains.result(late)).grantedAt, 'the retried run was let go');
    await trains.untilEnded(group);
  });

  it('grants a run that is admitted before it exists once it starts', async function () {
    this.timeout(60_000);
    const group = uniqueName('g');
    const late = uniqueName('late');
    await trains.enter(group, late, 'queue', { start: false });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await trains.startRider(group, late);
    await trains.untilHolder(group, late);
    await trains.finish(late);
    assert.ok((await trains.result(late)).grantedAt);
    await trains.untilEnded(group);
  });
});

describe('engine: a train that continues as new keeps its queue', () => {
  let temporal: PrivateTemporal;
  let trains: TrainWorld;
  before(async function () {
    this.timeout(180_000);
    // Suggests continue-as-new after 30 events, so a train with a queue crosses the line several times.
    temporal = await PrivateTemporal.start({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 30 } });
    trains = await TrainWorld.start(temporal.address, await bundle(require.resolve('../fixtures/train-riders')));
  });
  after(async () => {
    await trains.stop();
    await temporal.stop();
  });

  it('loses and reorders nothing across continue-as-new, also while a holder runs', async function () {
    this.timeout(180_000);
    const group = uniqueName('g');
    const ids = Array.from({ length: 8 }, (_, index) => uniqueName(`r${index}`));
    for (const id of ids) await trains.enter(group, id);
    const order: string[] = [];
    for (const id of ids) {
      await trains.untilHolder(group, id);
      order.push(id);
      await trains.finish(id);
    }
    assert.deepEqual(order, ids);
    for (const id of ids) assert.ok((await trains.result(id)).grantedAt, `${id} ran`);
    // Each later run of the train started from the state its predecessor carried over; at least one of them
    // carried a holder, so the train continued as new while a run held it.
    const carried: TrainInput[] = [];
    for await (const execution of trains.client.workflow.list({ query: `WorkflowId = "${trainWorkflowId(group)}"` })) {
      const history = await trains.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      carried.push(defaultPayloadConverter.fromPayload<TrainInput>(payload!));
    }
    assert.ok(carried.length > 1, `expected the train to continue as new, saw ${carried.length} run(s)`);
    assert.ok(
      carried.some((input) => input.state?.holder !== undefined && input.state.queue.length > 0),
      'no continue-as-new happened while a run held the train with others waiting',
    );
    await trains.untilEnded(group);
  });
});

/** A worker that runs trains and riders on a task queue of its own, and the client side of a test. */
class TrainWorld {
  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
    private readonly workerConnection: NativeConnection,
    private readonly worker: FlowWorker,
    private readonly running: Promise<void>,
    readonly taskQueue: string,
  ) {}

  static async start(address: string, workflowBundle: WorkflowBundleWithSourceMap): Promise<TrainWorld> {
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const workerConnection = await NativeConnection.connect({ address });
    const taskQueue = uniqueName('trains');
    const worker = await createWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      client,
      registry: { findForEvent: () => Promise.reject(new Error('unused')) },
      env: {},
      actions: [],
      workflowBundle,
      // A run that never starts is given up on after 3 s, not the production ten minutes.
      activityOverrides: {
        watchTrainHolder: (input, activity) => watchTrainHolder({ client, taskQueue }, input, activity, 3_000),
      },
    });
    return new TrainWorld(client, connection, workerConnection, worker, worker.run(), taskQueue);
  }

  /** Admits a rider (as the dispatcher's activity does), then starts it unless told not to. */
  async enter(
    group: string,
    workflowId: string,
    whenBusy: WhenBusy = 'queue',
    options: { start?: boolean; definition?: string } = {},
  ): Promise<Admission> {
    const admission = await admitToTrain({ client: this.client, taskQueue: this.taskQueue }, group, {
      workflowId,
      eventId: `event-${workflowId}`,
      definition: options.definition ?? 'd',
      whenBusy,
      maxQueue: 50,
    });
    if (admission.admitted && options.start !== false) await this.startRider(group, workflowId);
    return admission;
  }

  startRider(group: string, workflowId: string): Promise<unknown> {
    return this.client.workflow.start('rider', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [{ train: { group, workflowId: trainWorkflowId(group) } }],
    });
  }

  state(group: string): Promise<TrainState> {
    return this.client.workflow.getHandle(trainWorkflowId(group)).query<TrainState>('trainState');
  }

  async untilHolder(group: string, workflowId: string): Promise<void> {
    await eventually(
      async () => ((await this.state(group)).holder?.workflowId === workflowId ? true : undefined),
      30_000,
      `${workflowId} to hold train ${group}`,
    );
  }

  finish(workflowId: string, request: { fail?: boolean } = {}): Promise<void> {
    return this.client.workflow.getHandle(workflowId).signal('finish', request);
  }

  async result(workflowId: string): Promise<RiderResult> {
    try {
      return (await this.client.workflow.getHandle(workflowId).result()) as RiderResult;
    } catch (error) {
      if (error instanceof WorkflowFailedError) return {};
      throw error;
    }
  }

  async untilEnded(group: string): Promise<void> {
    await eventually(
      async () =>
        (await this.client.workflow.getHandle(trainWorkflowId(group)).describe()).status.name === 'COMPLETED'
          ? true
          : undefined,
      30_000,
      `train ${group} to end once idle`,
    );
  }

  async stop(): Promise<void> {
    this.worker.shutdown();
    await this.running;
    await this.workerConnection.close();
    await this.connection.close();
  }
}
