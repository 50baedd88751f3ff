import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import request from 'supertest';
import { actions, actionsById } from '../../activities';
import type { RunResult } from '../../common/run-types';
import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { createApp } from '../../gateway/app';
import { QueueLiveness } from '../../gateway/queue-liveness';
import { ActionCatalog, ActionCatalogStore, DefinitionStore, openMongo, type MongoHandle } from '../../registry';
import { defineAction, defineActionPack, z } from '../../sdk';
import { actionQueues } from '../../workers/action-packs';
import { createWorker, type FlowWorker } from '../../workers/create-worker';
import { packPublication } from '../../workers/publish-action-packs';
import { startEntryPoint } from '../support/entry-points';
import { withDatabase } from '../support/global-fixture';
import { flowBundle } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';
import { testConfig, uniqueName } from '../support/stack';

/**
 * The server's long poll, shortened from its one minute so that a worker that died goes stale in seconds: a live
 * worker polls again at least every LONG_POLL, so a poller older than twice that is gone (see gateway/queue-liveness.ts).
 */
const LONG_POLL_MS = 2_000;
const STALE_AFTER_MS = 2 * LONG_POLL_MS + 1_000;
const CACHE_MS = 500;

/** What the test reads of `GET /api/runs/:workflowId`. */
interface RunViewBody {
  readonly details: string;
  readonly steps: readonly { readonly id: string; readonly status: string }[];
  readonly waitingForWorker: {
    readonly step: string;
    readonly action: string;
    readonly queue: string;
    readonly attempt: number;
    readonly scheduledAt?: string;
    readonly worker: { readonly polled: boolean | null };
  };
}

interface ListedAction {
  readonly id: string;
  readonly pack?: string;
  readonly taskQueue?: string;
  readonly worker?: { queue: string; polled: boolean | null; lastSeen?: string; checkedAt: string; unknown?: string };
}

describe('gateway: is anyone there? (worker liveness of task queues)', () => {
  const token = 'liveness-test-token-0123456789';
  const auth = `Bearer ${token}`;
  const started: ManagedProcess[] = [];
  let temporal: PrivateTemporal;
  let connection: Connection;
  let client: Client;
  let workerConnection: NativeConnection;
  let mongo: MongoHandle;
  let receiver: HttpReceiver;
  let logDir: string;

  before(async function () {
    this.timeout(120_000);
    temporal = await PrivateTemporal.start({
      dynamicConfig: { 'matching.longPollExpirationInterval': `${LONG_POLL_MS / 1000}s` },
    });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection, namespace: 'default' });
    workerConnection = await NativeConnection.connect({ address: temporal.address });
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('liveness').replace(/-/g, '_')}`,
    });
    receiver = await HttpReceiver.start();
    receiver.respondWith(() => ({ status: 200, body: { ok: true } }));
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-liveness-'));
  });

  after(async () => {
    await Promise.all(started.splice(0).map((worker) => worker.stop()));
    await receiver?.stop();
    await workerConnection?.close();
    await connection?.close();
    await mongo?.db.dropDatabase().catch(() => undefined);
    await mongo?.close();
    await temporal?.stop();
    if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
  });

  /** `npm run start:worker` with only the routed greetings pack, polling `packQueue` on the private server. */
  async function startPackWorker(packQueue: string): Promise<ManagedProcess> {
    const worker = startEntryPoint(
      'workers/main.ts',
      {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: 'default',
        MONGODB_URI: withDatabase(testConfig().mongodb.uri, mongo.db.databaseName),
        FLOW_WORKER_WORKFLOWS: 'off',
        FLOW_TASK_QUEUE: packQueue,
        FLOW_ACTION_PACKS: './test/fixtures/action-packs/greetings-routed',
        GREETINGS_TASK_QUEUE: packQueue,
        GREETINGS_TOKEN: 'greetings-token-5c2e81',
      },
      { logFile: path.join(logDir, `${uniqueName('worker')}.log`) },
    );
    started.push(worker);
    await worker.waitForMessage(isReadyMessage, 120_000);
    return worker;
  }

  it('says whether a worker polls each queue, notes the plan, and shows a run waiting for a killed pack worker', async function () {
    this.timeout(150_000);
    const mainQueue = uniqueName('flow-main');
    const packQueue = uniqueName('greetings-q');
    const nobodyQueue = uniqueName('nobody-q');
    const packWorker = await startPackWorker(packQueue);

    // A pack published by a worker that is gone: listed from the registry, its queue polled by nobody.
    const catalogStore = new ActionCatalogStore(mongo);
    const ghosts = defineActionPack({
      name: 'ghosts',
      version: '1.0.0',
      taskQueue: nobodyQueue,
      actions: [
        defineAction({
          id: 'ghosts.boo',
          description: 'Says boo.',
          input: z.strictObject({}),
          output: z.object({}),
          examples: [{ title: 'Boo', with: {} }],
          run: () => Promise.resolve({}),
        }),
      ],
    });
    await catalogStore.publish(packPublication({ pack: ghosts, source: 'in-test' }));

    // The gateway as gateway/main.ts wires it (built-in actions here, packs from the registry), with the staleness
    // window of this server's short long poll.
    const catalog = new ActionCatalog(actionsById(), catalogStore, { taskQueue: mainQueue });
    const app = createApp({
      health: {},
      apiToken: token,
      store: new DefinitionStore(mongo, catalog),
      catalog,
      intake: { client, taskQueue: mainQueue },
      webhooks: { adapters: [], env: {} },
      workerLiveness: { staleAfterMs: STALE_AFTER_MS, cacheMs: CACHE_MS },
    });
    const api = () => request(app);
    const listed = async (): Promise<Map<string, ListedAction>> => {
      const res = await api().get('/api/actions').set('Authorization', auth);
      assert.equal(res.status, 200);
      return new Map((res.body.actions as ListedAction[]).map((action) => [action.id, action]));
    };

    // A Flow worker that did not load the pack, as workers/main.ts wires it: the published queue routes its steps.
    const local = actionsById();
    const main: FlowWorker = await createWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue: mainQueue,
      client,
      registry: new DefinitionStore(mongo, local, {
        actionQueues: actionQueues(actions, [], mainQueue),
        publishedActions: new ActionCatalog(local, catalogStore, { taskQueue: mainQueue }),
      }),
      env: {},
      workflowBundle: await flowBundle(),
    });

    const saved = await api()
      .put('/api/definitions/greet-liveness')
      .set('Authorization', auth)
      .send({
        id: 'greet-liveness',
        name: 'Greet on the pack worker',
        on: [{ source: 'test', type: 'greet_liveness' }],
        steps: [
          { id: 'ping', action: 'http.request', with: { url: `${receiver.url}/ping` } },
          { id: 'greet', action: 'greetings.hello', with: { name: '${{ event.user }}' } },
          {
            id: 'after',
            action: 'http.request',
            with: {
              url: `${receiver.url}/after`,
              method: 'POST',
              json: { said: '${{ steps.greet.output.greeting }}' },
            },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const elsewhere = await api()
      .put('/api/definitions/deploy-nowhere')
      .set('Authorization', auth)
      .send({
        id: 'deploy-nowhere',
        name: 'Deploy where no worker is',
        on: [{ source: 'test', type: 'deploy_nowhere' }],
        steps: [
          { id: 'boo', action: 'ghosts.boo', with: {} },
          {
            id: 'deploy',
            action: 'http.request',
            with: { url: `${receiver.url}/deploy` },
            task_queue: nobodyQueue,
            schedule_to_start: '10m',
          },
          { id: 'remember', action: 'flow.set', with: { done: true } },
        ],
      });
    assert.equal(elsewhere.status, 201, JSON.stringify(elsewhere.body));

    await main.runUntil(async () => {
      // Both workers poll: /api/actions says so for the built-in queue and the pack's; nobody polls the ghosts' queue.
      const polled = await eventually(async () => {
        const now = await listed();
        return now.get('http.request')?.worker?.polled && now.get('greetings.hello')?.worker?.polled ? now : undefined;
      });
      const http = polled.get('http.request')!;
      assert.equal(http.taskQueue, mainQueue);
      assert.equal(http.worker!.queue, mainQueue);
      // The newest poll: at most the staleness window before the check (a poll may start while Temporal answers).
      const sinceLastPoll = Date.parse(http.worker!.checkedAt) - Date.parse(http.worker!.lastSeen!);
      assert.ok(sinceLastPoll <= STALE_AFTER_MS && sinceLastPoll > -1_000, JSON.stringify(http.worker));
      const hello = polled.get('greetings.hello')!;
      assert.equal(hello.pack, 'greetings');
      assert.equal(hello.taskQueue, packQueue);
      const boo = polled.get('ghosts.boo')!;
      assert.equal(boo.taskQueue, nobodyQueue);
      assert.deepEqual(boo.worker, { queue: nobodyQueue, polled: false, checkedAt: boo.worker!.checkedAt });
      assert.equal(polled.get('flow.set')!.worker, undefined, 'a meta-action runs in the workflow');

      // The plan says where each step would run, and notes the steps whose queue nobody polls.
      const planned = await api()
        .post('/api/plan/test/greet_liveness')
        .set('Authorization', auth)
        .send({ user: 'Ada' });
      assert.equal(planned.status, 200);
      const [greetRun] = planned.body.matched;
      assert.deepEqual(
        greetRun.workers.map(({ queue, polled, steps }: { queue: string; polled: boolean; steps: string[] }) => [
          queue,
          polled,
          steps,
        ]),
        [
          [mainQueue, true, ['ping', 'after']],
          [packQueue, true, ['greet']],
        ],
      );
      assert.equal(greetRun.notes, undefined);
      const nowhere = await api().post('/api/plan/test/deploy_nowhere').set('Authorization', auth).send({});
      assert.deepEqual(nowhere.body.matched[0].notes, [
        `Step boo: No worker polls task queue "${nobodyQueue}" now: the step will wait for one`,
        `Step deploy: No worker polls task queue "${nobodyQueue}" now: the step will wait for one (or fail after its schedule_to_start of 10m)`,
      ]);

      // SIGKILL the pack worker: Temporal still lists its poller, whose last poll goes stale within the window.
      packWorker.child.kill('SIGKILL');
      await packWorker.exited;
      const killedAt = Date.now();
      const gone = await eventually(
        async () => {
          const worker = (await listed()).get('greetings.hello')?.worker;
          return worker?.polled === false ? worker : undefined;
        },
        STALE_AFTER_MS + LONG_POLL_MS + 5_000,
        'the killed pack worker to go stale',
      );
      const lag = Date.now() - killedAt;
      assert.ok(gone.lastSeen, 'Temporal still lists the dead poller, with its last poll');
      assert.ok(lag <= STALE_AFTER_MS + CACHE_MS + 1_500, `reported gone ${lag} ms after the kill`);
      assert.equal((await listed()).get('http.request')?.worker?.polled, true, 'the Flow worker still polls');

      // A run reaching the pack step waits for a worker, and its view says so.
      const posted = await api().post('/events/test/greet_liveness').set('Authorization', auth).send({ user: 'Grace' });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      const workflowId = `greet-liveness-${posted.body.eventId as string}`;
      const waiting = await eventually(
        async () => {
          const view = await api().get(`/api/runs/${workflowId}`).set('Authorization', auth);
          const body = view.body as { waitingForWorker?: unknown };
          return view.status === 200 && body.waitingForWorker ? (view.body as RunViewBody) : undefined;
        },
        20_000,
        'the run view to say it waits for a worker',
      );
      assert.match(
        waiting.details,
        new RegExp(`^Waiting for a worker on ${packQueue}: step greet \\(greetings\\.hello\\)`),
      );
      assert.deepEqual(
        { ...waiting.waitingForWorker, scheduledAt: undefined, worker: undefined },
        {
          step: 'greet',
          action: 'greetings.hello',
          queue: packQueue,
          attempt: 1,
          scheduledAt: undefined,
          worker: undefined,
        },
      );
      assert.equal(waiting.waitingForWorker.worker.polled, false);
      assert.equal(waiting.steps.find(({ id }) => id === 'greet')?.status, 'running');

      // The pack worker is back: the run goes on and completes, nothing repeated.
      const again = await startPackWorker(packQueue);
      const result = (await client.workflow.getHandle(workflowId).result()) as RunResult;
      assert.deepEqual(
        result.steps.map(({ id, status }) => [id, status]),
        [
          ['ping', 'completed'],
          ['greet', 'completed'],
          ['after', 'completed'],
        ],
      );
      assert.equal(receiver.to('/ping').length, 1, 'the step before the wait ran once');
      assert.equal(receiver.to('/after').length, 1);
      assert.deepEqual(receiver.to('/after')[0]!.json, { said: 'Hello, Grace!' });
      const history = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const greetAttempts = history.flatMap((event) =>
        event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes] : [],
      );
      assert.ok(
        greetAttempts.every(({ attempt }) => attempt === 1),
        'every step ran in its first attempt',
      );
      const done = await api().get(`/api/runs/${workflowId}`).set('Authorization', auth);
      assert.equal(done.body.waitingForWorker, undefined);
      const back = (await listed()).get('greetings.hello')!.worker!;
      assert.equal(back.polled, true, JSON.stringify(back));
      assert.ok(again.running);
    });
  });

  it('caches each queue for a moment, shares one describe between concurrent callers, and says why it cannot tell', async () => {
    let now = Date.now();
    let describes = 0;
    const counting = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'workflowService') return Reflect.get(target, property, receiver) as unknown;
        return new Proxy(target.workflowService, {
          get(service, name, serviceReceiver) {
            const value = Reflect.get(service, name, serviceReceiver) as unknown;
            if (name !== 'describeTaskQueue' || typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              describes++;
              return (value as (...a: unknown[]) => unknown).apply(service, args);
            };
          },
        });
      },
    });
    const queue = uniqueName('lonely-q');
    const liveness = new QueueLiveness(counting, { cacheMs: 5_000, now: () => now });
    const burst = await Promise.all(Array.from({ length: 20 }, () => liveness.check(queue)));
    assert.equal(describes, 1, 'twenty concurrent callers, one describe');
    assert.ok(burst.every((answer) => answer === burst[0]));
    assert.deepEqual(burst[0], { queue, polled: false, checkedAt: new Date(now).toISOString() });
    now += 4_000;
    await liveness.check(queue);
    assert.equal(describes, 1, 'reused within the cache time');
    now += 2_000;
    await liveness.check(queue);
    assert.equal(describes, 2, 'asked again once it is older');

    // A Temporal that does not answer: unknown, with why, and no throw.
    const dead = await Connection.connect({ address: temporal.address });
    const deadClient = new Client({ connection: dead, namespace: 'no-such-namespace-here' });
    const unknown = await new QueueLiveness(deadClient).check(queue);
    await dead.close();
    assert.equal(unknown.polled, null);
    assert.match(
      unknown.unknown ?? '',
      new RegExp(`^Temporal did not describe task queue "${queue}": .*no-such-namespace-here`),
    );
  });
});
