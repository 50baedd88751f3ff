import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { MAX_EVENT_DEPTH } from '../../activities';
import type { Definition } from '../../common/definition';
import { lifecycleKey, type LifecycleBody, type LifecycleType } from '../../common/run-control';
import {
  dispatchWorkflowId,
  type DispatchResult,
  type FlowEvent,
  type RunInput,
  type RunResult,
} from '../../common/run-types';
import { projectRoot } from '../../config';
import { emitRunEvent, eventIdFor, startRuns } from '../../intake';
import { parseDefinitionText } from '../../registry';
import type { ManagedProcess } from '../../devstack/managed-process';
import { FakeJira } from '../support/fake-jira';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { adfText } from '../support/release-world';
import { uniqueName } from '../support/stack';
import { startWorkerProcess } from '../support/worker-process';

/** The dispatcher a run's lifecycle event of `type` starts: its id follows from the run and the type alone. */
const lifecycleDispatcher = (workflowId: string, type: LifecycleType): string =>
  dispatchWorkflowId(eventIdFor('flow', lifecycleKey({ workflowId, type })));

/** A workflow's input, from the first event of its history. */
async function startInput<T>(client: Client, workflowId: string): Promise<T> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload, `${workflowId} has an input`);
  return defaultPayloadConverter.fromPayload<T>(payload);
}

/** How many workflows visibility lists for a query (on the dev server's SQLite store, at once). */
async function count(client: Client, query: string): Promise<number> {
  return (await client.workflow.count(query)).count;
}

/** Whether a workflow with this id exists (open or closed). */
function exists(client: Client, workflowId: string): Promise<boolean> {
  return client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      (error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      },
    );
}

/** Terminates what a test left running on its task queue: runs sleeping in their train, and the trains. */
async function terminateAll(harness: Harness): Promise<void> {
  const open = harness.client.workflow.list({
    query: `TaskQueue = "${harness.taskQueue}" AND ExecutionStatus = "Running"`,
  });
  for await (const workflow of open) {
    await harness.client.workflow
      .getHandle(workflow.workflowId)
      .terminate('the test is over')
      .catch(() => undefined);
  }
}

/** A definition whose one step sleeps for an hour in a concurrency group: it holds its train until terminated. */
const trainDefinition = (id: string, type: string, whenBusy: 'queue' | 'reject' | 'replace'): object => ({
  id,
  name: `Train ${id}`,
  on: [{ source: 'ci', type }],
  concurrency: { group: `${type}-\${{ event.env }}`, when_busy: whenBusy },
  steps: [{ id: 'hold', action: 'flow.sleep', with: { duration: '1h' } }],
});

/** A definition that keeps the lifecycle event it runs for in `vars.body`. */
const listener = (id: string, types: readonly LifecycleType[], extra: Partial<Definition> = {}): object => ({
  id,
  name: `Listener ${id}`,
  on: types.map((type) => ({ source: 'flow', type })),
  steps: [{ id: 'keep', action: 'flow.set', with: { body: '${{ event }}' } }],
  ...extra,
});

describe('engine: run lifecycle events', () => {
  describe('emitRunEvent: one event through the intake per run and transition', () => {
    let harness: Harness;
    before(async () => {
      // No worker: the dispatchers stay as they were accepted, so their inputs are what the intake made.
      harness = await startHarness({ worker: false });
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
    });

    const body = (workflowId: string): LifecycleBody => ({
      definition: 'deploy',
      revision: 3,
      workflowId,
      eventId: 'ci-build-7',
      status: 'running',
    });

    it("accepts flow/<type> keyed by the run and transition, one level deeper than the run's event; again is a duplicate", async () => {
      const workflowId = uniqueName('deploy-ci-build-7');
      const input = {
        type: 'approval_requested' as const,
        body: { ...body(workflowId), step: 'sign_off', title: 'Sign off 2.4.0' },
        causation: { rootEventId: 'ci-root', depth: 2 },
        discriminator: 'sign_off',
      };
      await emitRunEvent(harness, input);
      await emitRunEvent(harness, input);
      const dispatcher = dispatchWorkflowId(eventIdFor('flow', `${workflowId}.approval_requested.sign_off`));
      const event = await startInput<FlowEvent>(harness.client, dispatcher);
      assert.deepEqual(
        { ...event, receivedAt: undefined },
        {
          id: eventIdFor('flow', `${workflowId}.approval_requested.sign_off`),
          source: 'flow',
          type: 'approval_requested',
          body: input.body,
          receivedAt: undefined,
          idempotencyKey: `${workflowId}.approval_requested.sign_off`,
          causation: { rootEventId: 'ci-root', parentEventId: 'ci-build-7', depth: 3 },
        },
      );
      const dispatchers = await count(
        harness.client,
        `WorkflowType = "dispatchEvent" AND TaskQueue = "${harness.taskQueue}" AND FlowEventType = "approval_requested"`,
      );
      assert.equal(dispatchers, 1);
    });

    it('lets nobody else send a lifecycle event: POST /events/flow/run_failed is 403, flow.emit_event of one is refused on save', async () => {
      const posted = await request(harness.app)
        .post('/events/flow/run_failed')
        .set('Authorization', harness.auth)
        .send({ definition: 'release', workflowId: 'release-fake', status: 'failed' });
      assert.equal(posted.status, 403);
      assert.match((posted.body as { detail: string }).detail, /only Flow itself emits/);
      // Other flow events stay open to everyone: flow.emit_event's own example hands over with flow/release_ready.
      const other = await request(harness.app)
        .post('/events/flow/release_ready')
        .set('Authorization', harness.auth)
        .send({ version: '1.4.0' });
      assert.equal(other.status, 202);

      const saved = await request(harness.app)
        .put('/api/definitions/fakes-a-failure')
        .set('Authorization', harness.auth)
        .send({
          id: 'fakes-a-failure',
          name: 'Fakes a failure',
          on: [{ source: uniqueName('src'), type: 'go' }],
          steps: [{ id: 'fake', action: 'flow.emit_event', with: { source: 'flow', type: 'run_failed' } }],
        });
      assert.equal(saved.status, 422, JSON.stringify(saved.body));
      const errors = (saved.body as { errors: { path: string; message: string }[] }).errors;
      assert.deepEqual(
        errors.map((error) => `${error.path}: ${error.message}`),
        ['steps[0].with.type: is a run lifecycle event, which only Flow itself emits'],
      );
    });

    it(`emits nothing past depth ${MAX_EVENT_DEPTH}, where a definition reacting to its own runs would loop, and says so without the body`, async () => {
      const warnings: string[] = [];
      const workflowId = uniqueName('deep');
      const secretish = { ...body(workflowId), title: 'token=hunter2' };
      await emitRunEvent(
        harness,
        { type: 'run_completed', body: secretish, causation: { rootEventId: 'ci-root', depth: MAX_EVENT_DEPTH } },
        (message) => warnings.push(message),
      );
      assert.equal(await exists(harness.client, lifecycleDispatcher(workflowId, 'run_completed')), false);
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        new RegExp(`flow/run_completed of ${workflowId} not emitted: .*ci-root.* ${MAX_EVENT_DEPTH + 1} events deep`),
      );
      assert.doesNotMatch(warnings[0]!, /hunter2/);

      // One level less is still emitted.
      const shallower = uniqueName('shallower');
      await emitRunEvent(harness, {
        type: 'run_completed',
        body: body(shallower),
        causation: { rootEventId: 'ci-root', depth: MAX_EVENT_DEPTH - 1 },
      });
      const event = await startInput<FlowEvent>(harness.client, lifecycleDispatcher(shallower, 'run_completed'));
      assert.equal(event.causation.depth, MAX_EVENT_DEPTH);
    });
  });

  describe('train transitions, with a definition bound to them', () => {
    let harness: Harness;
    /** `startRuns` attempts by event id; the first attempt for an event in `loseFirstAnswer` fails after its work. */
    const attempts = new Map<string, number>();
    const loseFirstAnswer = new Set<string>();

    before(async function () {
      this.timeout(60_000);
      harness = await startHarness({
        deps: {
          // A worker that dies after starting the runs, before it reports: Temporal retries the whole activity.
          startRuns: async (input) => {
            attempts.set(input.event.id, (attempts.get(input.event.id) ?? 0) + 1);
            const result = await startRuns({ client: harness.client, taskQueue: harness.taskQueue }, input);
            if (loseFirstAnswer.delete(input.event.id)) throw new Error('the worker was lost before it reported');
            return result;
          },
        },
      });
      // Saved before any event: the worker reads the bindings on its first dispatch and keeps them for 5 s.
      for (const definition of [
        trainDefinition('lc-reject', 'reject', 'reject'),
        trainDefinition('lc-queue', 'queue', 'queue'),
        trainDefinition('lc-replace', 'replace', 'replace'),
        listener('listener', ['run_rejected', 'run_queued', 'run_superseded']),
      ])
        await save(harness, definition);
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
    });

    /** POSTs a ci event with the given key and resolves with its dispatcher's result and its event. */
    async function post(type: string, body: object, key = uniqueName(type)) {
      const posted = await request(harness.app)
        .post(`/events/ci/${type}`)
        .set('Authorization', harness.auth)
        .set('Idempotency-Key', key)
        .send(body);
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      const workflowId = posted.body.workflowId as string;
      const dispatch = (await harness.client.workflow.getHandle(workflowId).result()) as DispatchResult;
      return { dispatch, event: await startInput<FlowEvent>(harness.client, workflowId) };
    }
    /** The listener run a lifecycle event started, and what it saw. */
    async function heard(workflowId: string, type: LifecycleType) {
      const dispatcher = lifecycleDispatcher(workflowId, type);
      const dispatch = (await harness.client.workflow.getHandle(dispatcher).result()) as DispatchResult;
      assert.deepEqual([dispatch.source, dispatch.type], ['flow', type]);
      assert.deepEqual(
        dispatch.matched.map((run) => run.definition),
        ['listener'],
        JSON.stringify(dispatch),
      );
      const run = (await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).result()) as RunResult;
      return { body: run.vars['body'], event: await startInput<FlowEvent>(harness.client, dispatcher) };
    }
    /** Exactly one dispatcher and one listener run exist for the type (visibility may show them a moment late). */
    async function exactlyOne(type: LifecycleType): Promise<void> {
      const dispatchers = `WorkflowType = "dispatchEvent" AND TaskQueue = "${harness.taskQueue}" AND FlowSource = "flow" AND FlowEventType = "${type}"`;
      const runs = `WorkflowType = "interpret" AND TaskQueue = "${harness.taskQueue}" AND FlowDefinition = "listener" AND FlowEventType = "${type}"`;
      await eventually(async () => ((await count(harness.client, runs)) > 0 ? true : undefined), 10_000, type);
      assert.equal(await count(harness.client, dispatchers), 1, `${type} dispatchers`);
      assert.equal(await count(harness.client, runs), 1, `${type} listener runs`);
    }
    const actorOf = (event: FlowEvent) => (event.actor === undefined ? {} : { actor: event.actor });

    it('a rejection starts one listener run with the run_rejected body, also when startRuns is retried', async function () {
      this.timeout(60_000);
      const holder = await post('reject', { env: 'test', ticket: 'REL-1' });
      const holderId = holder.dispatch.matched[0]!.workflowId;
      assert.equal(await lifecycleListed(holderId), false, 'holding emits nothing: nothing is bound to run_started');

      const key = uniqueName('rejected');
      loseFirstAnswer.add(`ci-${key}`);
      const second = await post(
        'reject',
        { env: 'test', ticket: 'REL-2', attempt: 2, ok: true, nested: { key: 'x' }, list: [1] },
        key,
      );
      assert.equal(attempts.get(second.event.id), 2, 'startRuns ran twice');
      assert.deepEqual(second.dispatch.matched, []);
      const rejected = second.dispatch.rejected?.[0];
      assert.ok(rejected, JSON.stringify(second.dispatch));

      const { body, event } = await heard(rejected.workflowId, 'run_rejected');
      assert.deepEqual(body, {
        definition: 'lc-reject',
        revision: 1,
        workflowId: rejected.workflowId,
        eventId: second.event.id,
        status: 'rejected',
        group: 'reject-test',
        holder: holderId,
        ...actorOf(second.event),
        // Strings and numbers of the rejected event's body only.
        trigger: { source: 'ci', type: 'reject', body: { env: 'test', ticket: 'REL-2', attempt: 2 } },
      });
      assert.equal(event.idempotencyKey, `${rejected.workflowId}.run_rejected`);
      assert.deepEqual(event.causation, { rootEventId: second.event.id, parentEventId: second.event.id, depth: 1 });
      await exactlyOne('run_rejected');
    });

    it('a queued run emits run_queued, and the run a replace supersedes emits run_superseded, once each', async function () {
      this.timeout(90_000);
      const holder = await post('queue', { env: 'q' });
      const queued = await post('queue', { env: 'q' });
      const queuedRun = queued.dispatch.matched[0]!;
      assert.equal(queuedRun.train?.outcome, 'queued');
      assert.deepEqual((await heard(queuedRun.workflowId, 'run_queued')).body, {
        definition: 'lc-queue',
        revision: 1,
        workflowId: queuedRun.workflowId,
        eventId: queued.event.id,
        status: 'queued',
        group: 'queue-q',
        holder: holder.dispatch.matched[0]!.workflowId,
        ...actorOf(queued.event),
      });
      const input = await startInput<RunInput>(harness.client, queuedRun.workflowId);
      assert.deepEqual(input.lifecycle, ['run_queued', 'run_rejected', 'run_superseded']);

      const replaceHolder = await post('replace', { env: 'r' });
      const older = await post('replace', { env: 'r' });
      const key = uniqueName('newer');
      loseFirstAnswer.add(`ci-${key}`);
      const newer = await post('replace', { env: 'r' }, key);
      assert.equal(attempts.get(newer.event.id), 2, 'startRuns ran twice');
      const olderId = older.dispatch.matched[0]!.workflowId;
      const olderResult = (await harness.client.workflow.getHandle(olderId).result()) as RunResult;
      assert.deepEqual(olderResult.dequeued, {
        group: 'replace-r',
        reason: 'superseded',
        by: newer.dispatch.matched[0]!.workflowId,
      });

      const superseded = await heard(olderId, 'run_superseded');
      assert.deepEqual(superseded.body, {
        definition: 'lc-replace',
        revision: 1,
        workflowId: olderId,
        eventId: older.event.id,
        status: 'superseded',
        group: 'replace-r',
        // The run that took its place; the superseded run emits this itself, when its train tells it.
        replacedBy: newer.dispatch.matched[0]!.workflowId,
      });
      assert.ok(replaceHolder.dispatch.matched[0]!.train?.outcome === 'holding');
      assert.deepEqual(superseded.event.causation, {
        rootEventId: older.event.id,
        parentEventId: older.event.id,
        depth: 1,
      });
      await exactlyOne('run_superseded');
    });

    /** Whether any lifecycle dispatcher of a run exists. */
    async function lifecycleListed(workflowId: string): Promise<boolean> {
      const found = await Promise.all(
        (['run_started', 'run_queued', 'run_rejected', 'run_superseded'] as const).map((type) =>
          exists(harness.client, lifecycleDispatcher(workflowId, type)),
        ),
      );
      return found.includes(true);
    }
  });

  describe('with nothing bound to flow', () => {
    let harness: Harness;
    before(async function () {
      this.timeout(60_000);
      harness = await startHarness();
      await save(harness, trainDefinition('quiet', 'quiet', 'reject'));
      // Bound, but disabled: it does not count.
      await save(harness, listener('asleep', ['run_rejected', 'run_started'], { enabled: false }));
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
    });

    it('starts no lifecycle dispatcher for a rejection, and its runs carry no lifecycle list', async function () {
      this.timeout(60_000);
      const post = async (body: object): Promise<DispatchResult> => {
        const posted = await request(harness.app)
          .post('/events/ci/quiet')
          .set('Authorization', harness.auth)
          .send(body);
        assert.equal(posted.status, 202);
        return (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as DispatchResult;
      };
      const holder = await post({ env: 'x' });
      const rejected = await post({ env: 'x' });
      const holderId = holder.matched[0]!.workflowId;
      assert.equal(rejected.rejected?.[0]?.holder, holderId);

      const input = await startInput<RunInput>(harness.client, holderId);
      assert.equal('lifecycle' in input, false, JSON.stringify(Object.keys(input)));
      for (const [workflowId, type] of [
        [rejected.rejected[0].workflowId, 'run_rejected'],
        [holderId, 'run_started'],
      ] as const) {
        assert.equal(await exists(harness.client, lifecycleDispatcher(workflowId, type)), false, type);
      }
      const ci = `TaskQueue = "${harness.taskQueue}" AND FlowSource = "ci"`;
      await eventually(
        async () => ((await count(harness.client, ci)) >= 3 ? true : undefined),
        10_000,
        'the ci workflows',
      );
      assert.equal(await count(harness.client, `TaskQueue = "${harness.taskQueue}" AND FlowSource = "flow"`), 0);
    });
  });

  describe('cancelled and terminated runs', () => {
    let harness: Harness;
    before(async function () {
      this.timeout(60_000);
      harness = await startHarness();
      await save(harness, {
        id: 'sleeper',
        name: 'Sleeper',
        on: [{ source: 'ci', type: 'sleep' }],
        steps: [{ id: 'nap', action: 'flow.sleep', with: { duration: '1h' } }],
      });
      await save(
        harness,
        listener('ends', [], {
          on: (['run_started', 'run_failed', 'run_cancelled'] as const).map((type) => ({
            source: 'flow',
            type,
            if: 'event.definition == "sleeper"',
          })),
        }),
      );
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
    });

    /** Starts a sleeper run and resolves once its run_started has been heard. */
    async function sleeping(): Promise<string> {
      const runId = await harness.startRun('ci', 'sleep', {});
      const dispatcher = lifecycleDispatcher(runId, 'run_started');
      await eventually(
        async () => ((await exists(harness.client, dispatcher)) ? true : undefined),
        30_000,
        'run_started',
      );
      const started = (await harness.client.workflow.getHandle(dispatcher).result()) as DispatchResult;
      assert.equal(started.matched.length, 1);
      return runId;
    }

    it('a cancelled run emits run_cancelled; a terminated one emits nothing', async function () {
      this.timeout(60_000);
      const cancelled = await sleeping();
      await harness.client.workflow.getHandle(cancelled).cancel();
      // The run emits before it closes, so its event's dispatcher exists once the run has closed.
      await assert.rejects(harness.client.workflow.getHandle(cancelled).result());
      const heard = (await harness.client.workflow
        .getHandle(lifecycleDispatcher(cancelled, 'run_cancelled'))
        .result()) as DispatchResult;
      const body = ((await harness.client.workflow.getHandle(heard.matched[0]!.workflowId).result()) as RunResult).vars[
        'body'
      ] as LifecycleBody;
      assert.deepEqual([body.workflowId, body.status, body.failure?.cancelled], [cancelled, 'cancelled', true]);

      const terminated = await sleeping();
      await harness.client.workflow.getHandle(terminated).terminate('the test terminates it');
      // A terminated workflow runs no more code: give a worker time to prove it, then look.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const type of ['run_cancelled', 'run_failed', 'run_completed'] as const)
        assert.equal(await exists(harness.client, lifecycleDispatcher(terminated, type)), false, type);
    });
  });

  describe('a definition reacting to its own runs', () => {
    let harness: Harness;
    before(async function () {
      this.timeout(60_000);
      harness = await startHarness();
      await save(harness, {
        id: 'starter',
        name: 'Starter',
        on: [{ source: 'ci', type: 'echo' }],
        steps: [{ id: 'go', action: 'flow.set', with: { went: true } }],
      });
      // No `if`: it also hears the completion of its own runs.
      await save(harness, listener('echo', ['run_completed']));
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
    });

    it(`stops after ${MAX_EVENT_DEPTH} lifecycle events in a chain`, async function () {
      this.timeout(90_000);
      const starter = await harness.startRun('ci', 'echo', {});
      const rootEventId = (await startInput<RunInput>(harness.client, starter)).event.id;
      // Follow the chain: each echo run is started by the run_completed of the run before it.
      let workflowId = starter;
      const depths: number[] = [];
      for (;;) {
        await harness.client.workflow.getHandle(workflowId).result();
        const dispatcher = lifecycleDispatcher(workflowId, 'run_completed');
        if (!(await exists(harness.client, dispatcher))) break;
        const event = await startInput<FlowEvent>(harness.client, dispatcher);
        depths.push(event.causation.depth);
        assert.equal(event.causation.rootEventId, rootEventId);
        const dispatch = (await harness.client.workflow.getHandle(dispatcher).result()) as DispatchResult;
        workflowId = dispatch.matched[0]!.workflowId;
      }
      assert.deepEqual(
        depths,
        Array.from({ length: MAX_EVENT_DEPTH }, (_, index) => index + 1),
      );
    });
  });

  describe('a run that fails after its worker was killed', () => {
    let harness: Harness;
    let receiver: HttpReceiver;
    const workers: ManagedProcess[] = [];
    before(async () => {
      receiver = await HttpReceiver.start();
      harness = await startHarness({ worker: false });
    });
    after(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await terminateAll(harness);
      await harness.stop();
      await receiver.stop();
    });

    it('emits run_failed once, from the worker that took the run over', async function () {
      this.timeout(240_000);
      // The first call of step two hangs until the worker that made it is dead; the retry is refused (422).
      let releaseHeld: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (releaseHeld = resolve));
      let holdSlow = true;
      receiver.respondWith(async (req) => {
        if (req.path !== '/slow') return undefined;
        if (holdSlow) await held;
        return { status: 422, body: { error: 'the release is frozen' } };
      });
      await save(harness, {
        id: 'fails-after-crash',
        name: 'Fails after a crash',
        on: [{ source: 'test', type: 'crash' }],
        steps: [
          { id: 'one', action: 'http.request', with: { url: `${receiver.url}/one` } },
          {
            id: 'two',
            action: 'http.request',
            with: { url: `${receiver.url}/slow`, timeout: '2m' },
            timeout: '4s',
            retry: { initialInterval: '500ms' },
          },
        ],
      });
      await save(harness, {
        id: 'tell-failure',
        name: 'Tell the failure',
        on: [{ source: 'flow', type: 'run_failed', if: 'event.definition == "fails-after-crash"' }],
        steps: [
          {
            id: 'tell',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/heard`, json: { body: '${{ event }}' } },
          },
        ],
      });

      const crashing = await startWorkerProcess(harness, workers);
      const posted = await request(harness.app)
        .post('/events/test/crash')
        .set('Authorization', harness.auth)
        .send({ n: 1 });
      assert.equal(posted.status, 202);
      await eventually(() => (receiver.to('/slow').length > 0 ? true : undefined), 60_000, 'step two to start');
      crashing.child.kill('SIGKILL');
      await crashing.exited;
      holdSlow = false;
      releaseHeld();
      await startWorkerProcess(harness, workers);

      const dispatch = (await harness.client.workflow
        .getHandle(posted.body.workflowId as string)
        .result()) as DispatchResult;
      const runId = dispatch.matched[0]!.workflowId;
      await assert.rejects(harness.client.workflow.getHandle(runId).result());
      const heard = await eventually(() => receiver.to('/heard')[0], 60_000, 'the listener to hear run_failed');
      const { body } = heard.json as { body: LifecycleBody };
      assert.deepEqual(
        { ...body, durationMs: undefined, failure: { ...body.failure, message: undefined } },
        {
          definition: 'fails-after-crash',
          revision: 1,
          workflowId: runId,
          eventId: dispatch.eventId,
          status: 'failed',
          durationMs: undefined,
          failure: {
            step: 'two',
            action: 'http.request',
            type: body.failure?.type,
            message: undefined,
            cancelled: false,
          },
        },
      );
      assert.ok(typeof body.durationMs === 'number' && body.durationMs > 0, `durationMs ${body.durationMs}`);
      assert.match(body.failure?.message ?? '', /422/);
      assert.equal(receiver.to('/slow').length, 2, 'the interrupted step ran once more, on the new worker');

      const event = await startInput<FlowEvent>(harness.client, lifecycleDispatcher(runId, 'run_failed'));
      assert.deepEqual(event.causation, { rootEventId: dispatch.eventId, parentEventId: dispatch.eventId, depth: 1 });
      const failedEvents = `WorkflowType = "dispatchEvent" AND TaskQueue = "${harness.taskQueue}" AND FlowEventType = "run_failed"`;
      await eventually(async () => ((await count(harness.client, failedEvents)) > 0 ? true : undefined), 10_000);
      assert.equal(await count(harness.client, failedEvents), 1);
      // The listener's own run is done once it posted; nothing else arrives.
      const listenerRun = lifecycleDispatcher(runId, 'run_failed');
      const lifecycleDispatch = (await harness.client.workflow.getHandle(listenerRun).result()) as DispatchResult;
      await harness.client.workflow.getHandle(lifecycleDispatch.matched[0]!.workflowId).result();
      assert.equal(receiver.to('/heard').length, 1);
    });
  });

  describe('examples/release-rejected.yaml, run for real', () => {
    let harness: Harness;
    let jira: FakeJira;
    before(async function () {
      this.timeout(60_000);
      jira = await FakeJira.start({ apiToken: 'lifecycle-jira-token' });
      jira.addIssue('REL-100', { summary: 'Release 2.4.0', status: 'Start Release', fixVersions: ['2.4.0'] });
      jira.addIssue('REL-101', { summary: 'Release 2.5.0', status: 'Start Release', fixVersions: ['2.5.0'] });
      harness = await startHarness({ deps: { env: jira.env() } });
      // The release itself, as examples/release.yaml declares its trigger and train, holding the train with a sleep
      // instead of releasing (test/engine/release.test.ts runs the real one).
      const release = parseDefinitionText(
        fs.readFileSync(path.join(projectRoot, 'examples', 'release.yaml'), 'utf8'),
        'yaml',
      ) as Definition;
      await save(harness, {
        ...release,
        steps: [{ id: 'hold', action: 'flow.sleep', with: { duration: '1h' } }],
      });
      const saved = await request(harness.app)
        .put('/api/definitions/release-rejected')
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(fs.readFileSync(path.join(projectRoot, 'examples', 'release-rejected.yaml'), 'utf8'));
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    });
    after(async () => {
      await terminateAll(harness);
      await harness.stop();
      await jira.stop();
    });

    it('comments on the ticket of a rejected "Start Release", naming the release on the track', async function () {
      this.timeout(60_000);
      const startRelease = async (issue: string, user: string): Promise<DispatchResult> => {
        const posted = await request(harness.app)
          .post('/events/jira/issue_transitioned')
          .set('Authorization', harness.auth)
          .send({ issue, project: 'REL', from: 'In Progress', to: 'Start Release', user });
        assert.equal(posted.status, 202);
        return (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as DispatchResult;
      };
      const first = await startRelease('REL-100', 'ana');
      const holder = first.matched[0]!.workflowId;
      const second = await startRelease('REL-101', 'bo');
      assert.equal(second.rejected?.[0]?.holder, holder);

      const comments = await eventually(
        () => (jira.issue('REL-101').comments.length > 0 ? jira.issue('REL-101').comments : undefined),
        30_000,
        'the comment on REL-101',
      );
      assert.equal(comments.length, 1);
      assert.equal(
        adfText(comments[0]!.body),
        `Release not started: another release of REL is still running (${holder}, release train release-REL).\n` +
          'Nothing was done for REL-101. Move it to "Start Release" again once that release has finished.',
      );
      assert.equal(jira.issue('REL-100').comments.length, 0, 'the release on the track is not told anything');
    });
  });
});

async function save(harness: Harness, definition: object): Promise<void> {
  const res = await request(harness.app)
    .put(`/api/definitions/${(definition as { id: string }).id}`)
    .set('Authorization', harness.auth)
    .send(definition);
  assert.equal(res.status, 201, JSON.stringify(res.body));
}
