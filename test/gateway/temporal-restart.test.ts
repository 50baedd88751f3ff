import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { FlowProcesses } from '../support/flow-processes';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { PrivateTemporal } from '../support/private-temporal';

/** What one POST /events answered. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly retryAfter: string | null;
  readonly body: { workflowId?: string; detail?: string };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The gateway process takes events again as soon as a restarted Temporal answers, however long it was down. The
 * gateway's gRPC channel used to back off up to two minutes between reconnects during an outage, so after the server
 * was back it kept failing calls at once until its timer fired, and answered 503 while the worker already ran again.
 * Each case prints the lag it measured: from the server answering to the gateway's first 202.
 */
describe('gateway: reconnects to a restarted Temporal as soon as it answers', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let scratch: string;
  let processes: FlowProcesses;
  const servers: PrivateTemporal[] = [];

  before(async function () {
    this.timeout(120_000);
    harness = await startHarness({ worker: false });
    receiver = await HttpReceiver.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-temporal-restart-'));
    processes = new FlowProcesses(harness, scratch);
    const saved = await request(harness.app)
      .put('/api/definitions/restart-hit')
      .set('Authorization', harness.auth)
      .send({
        id: 'restart-hit',
        name: 'Hit once per event',
        on: [{ source: 'test', type: 'restart_hit' }],
        steps: [
          {
            id: 'hit',
            action: 'http.request',
            with: { method: 'POST', url: `${receiver.url}/hit`, json: { n: '${{ event.n }}' } },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });
  afterEach(async () => {
    await processes.stopAll();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  after(async () => {
    await harness?.stop();
    await receiver?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** The environment that points a gateway or worker process at `server`. */
  const on = (server: PrivateTemporal): Record<string, string> => ({
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
  });

  async function post(gateway: string, n: number): Promise<Answer> {
    const response = await fetch(`${gateway}/events/test/restart_hit`, {
      method: 'POST',
      headers: { authorization: harness.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ n }),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Answer['body'],
    };
  }

  /** A refusal the sender can act on: 503 problem+json, Retry-After, and a detail that says nothing was accepted. */
  function assertRefused(answer: Answer): void {
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.match(answer.contentType, /^application\/problem\+json/);
    assert.equal(answer.retryAfter, '5');
    assert.match(answer.body.detail ?? '', /^Temporal is unreachable, so the event was not accepted\. Retry it/);
  }

  /** Waits for the event's dispatcher and run on `server`, and checks that its side effect happened exactly once. */
  async function ranOnce(server: PrivateTemporal, dispatcherId: string, n: number): Promise<void> {
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      const dispatch = (await client.workflow.getHandle(dispatcherId).result()) as DispatchResult;
      assert.equal(dispatch.matched.length, 1, JSON.stringify(dispatch));
      const run = (await client.workflow.getHandle(dispatch.matched[0]!.workflowId).result()) as RunResult;
      assert.deepEqual(
        run.steps.map(({ id, status }) => [id, status]),
        [['hit', 'completed']],
      );
    } finally {
      await connection.close();
    }
    const hits = receiver.to('/hit').filter((hit) => (hit.json as { n: number }).n === n);
    assert.equal(hits.length, 1, `event ${n} had ${hits.length} side effects`);
  }

  /** Milliseconds from `since` until the gateway's /healthz reports Temporal up. */
  async function healthyAfter(gateway: string, since: number): Promise<number> {
    await eventually(
      async () => {
        const health = (await (await fetch(`${gateway}/healthz`)).json()) as { temporal?: string };
        return health.temporal === 'up' ? true : undefined;
      },
      180_000,
      '/healthz to report Temporal up',
    );
    return Date.now() - since;
  }

  it('takes the first event after a 40 s outage as soon as the server answers, and runs it once', async function () {
    this.timeout(400_000);
    const temporal = await PrivateTemporal.start({ persistent: true });
    servers.push(temporal);
    const [gateway] = await Promise.all([processes.gateway(on(temporal)), processes.worker(on(temporal))]);
    const before = await post(gateway.url, 1);
    assert.equal(before.status, 202, JSON.stringify(before.body));
    await ranOnce(temporal, before.body.workflowId!, 1);

    await temporal.halt();
    const haltedAt = Date.now();
    assertRefused(await post(gateway.url, 2));
    console.log(`      while Temporal was down, an event was answered 503 after ${Date.now() - haltedAt} ms`);
    const health = (await (await fetch(`${gateway.url}/healthz`)).json()) as { temporal?: string };
    assert.equal(health.temporal, 'down');
    // Long enough for a reconnect backoff that grows during the outage to reach tens of seconds.
    await sleep(Math.max(0, haltedAt + 40_000 - Date.now()));
    assertRefused(await post(gateway.url, 3));

    await temporal.start();
    const answeredAt = Date.now();
    const after = await post(gateway.url, 4);
    const lag = Date.now() - answeredAt;
    console.log(
      `      gateway lag after a 40 s outage: first event answered ${after.status} ${lag} ms after Temporal did`,
    );
    assert.equal(after.status, 202, `the first event after the restart: ${JSON.stringify(after.body)}`);
    console.log(
      `      /healthz reported Temporal up ${await healthyAfter(gateway.url, answeredAt)} ms after it answered`,
    );
    await ranOnce(temporal, after.body.workflowId!, 4);
    console.log(`      the worker ran that event ${Date.now() - answeredAt} ms after Temporal answered`);
    const refusedRan = receiver.to('/hit').filter((hit) => [2, 3].includes((hit.json as { n: number }).n));
    assert.deepEqual(refusedRan, [], 'an event answered 503 was not accepted, so it never runs');
  });

  it('a gateway started while Temporal is down takes the first event as soon as the server answers', async function () {
    this.timeout(300_000);
    const temporal = await PrivateTemporal.prepare();
    servers.push(temporal);
    const gateway = await processes.gateway(on(temporal));
    assertRefused(await post(gateway.url, 11));
    await sleep(20_000);

    await temporal.start();
    const answeredAt = Date.now();
    const first = await post(gateway.url, 12);
    const lag = Date.now() - answeredAt;
    console.log(
      `      gateway started during the outage: first event answered ${first.status} ${lag} ms after Temporal did`,
    );
    assert.equal(first.status, 202, `the first event after Temporal came up: ${JSON.stringify(first.body)}`);
    await processes.worker(on(temporal));
    await ranOnce(temporal, first.body.workflowId!, 12);
  });
});
