import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { FlowProcesses } from '../support/flow-processes';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

/** A raw connection to `url`, so a test can leave a request half sent. */
function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes the connection, parsed into status and body. */
function responseOf(socket: net.Socket): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}

/** Resolves once a new connection to `url` is refused. */
async function refused(url: string): Promise<void> {
  await eventually(
    async () => {
      try {
        const socket = await connect(url);
        socket.destroy();
        return undefined;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? true : undefined;
      }
    },
    5_000,
    'new connections to be refused',
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('engine: graceful shutdown of the gateway and the worker (SIGTERM, FLOW_SHUTDOWN_GRACE)', () => {
  let harness: Harness;
  let scratch: string;
  let processes: FlowProcesses;
  let receiver: HttpReceiver;
  before(async () => {
    harness = await startHarness({ worker: false });
    receiver = await HttpReceiver.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-graceful-shutdown-'));
    processes = new FlowProcesses(harness, scratch);
  });
  afterEach(async () => processes.stopAll());
  after(async () => {
    await harness.stop();
    await receiver.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('gateway: refuses new connections, answers /healthz 503, finishes the request in flight and exits 0', async function () {
    this.timeout(120_000);
    const gateway = await processes.gateway({ FLOW_SHUTDOWN_GRACE: '20s' });
    // A slow client: the event's headers and half its body are in before the signal, the rest comes after it.
    const body = JSON.stringify({ slow: true, padding: 'x'.repeat(200) });
    const slow = await connect(gateway.url);
    const slowResponse = responseOf(slow);
    slow.write(
      [
        'POST /events/test/drain HTTP/1.1',
        'Host: localhost',
        `Authorization: Bearer ${harness.token}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body.slice(0, 20),
      ].join('\r\n'),
    );
    // A health check whose request has started but not ended when the signal comes.
    const probe = await connect(gateway.url);
    const probeResponse = responseOf(probe);
    probe.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    await sleep(500);

    const asked = Date.now();
    gateway.process.child.kill('SIGTERM');
    await eventually(() =>
      /SIGTERM: no longer accepting connections/.test(gateway.process.logTail()) ? true : undefined,
    );
    await refused(gateway.url);

    probe.write('\r\n');
    const health = await probeResponse;
    assert.equal(health.status, 503);
    assert.match(health.body, /"shutdown":"draining"/);

    await sleep(1_000);
    assert.ok(gateway.process.running, 'the gateway waits for the request in flight');
    slow.write(body.slice(20));
    const accepted = await slowResponse;
    assert.equal(accepted.status, 202, accepted.head);
    const { workflowId } = JSON.parse(accepted.body) as { workflowId: string };
    await harness.client.workflow.getHandle(workflowId).describe();

    const status = await gateway.process.exited;
    assert.equal(status.code, 0, gateway.process.logTail());
    assert.ok(Date.now() - asked < 15_000, `the gateway took ${Date.now() - asked} ms to stop`);
  });

  it('gateway: closes what is still open once FLOW_SHUTDOWN_GRACE is over, and exits 0', async function () {
    this.timeout(60_000);
    const gateway = await processes.gateway({ FLOW_SHUTDOWN_GRACE: '2s' });
    const stuck = await connect(gateway.url);
    const closed = responseOf(stuck);
    stuck.write(
      `POST /events/test/stuck HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${harness.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    await sleep(300);
    const asked = Date.now();
    gateway.process.child.kill('SIGTERM');
    const status = await gateway.process.exited;
    const took = Date.now() - asked;
    assert.equal(status.code, 0);
    assert.ok(took >= 1_900 && took < 8_000, `the gateway stopped after ${took} ms, not after its 2 s grace`);
    await closed;
    assert.match(gateway.process.logTail(), /FLOW_SHUTDOWN_GRACE \(2s\) is over/);
  });

  it('worker: stops polling, lets the running activity finish within the grace and exits 0; the run goes on after a restart', async function () {
    this.timeout(300_000);
    receiver.respondWith(async (req) => {
      if (req.path.startsWith('/slow')) await sleep(5_000);
      return undefined;
    });
    const definition = {
      id: 'drained',
      name: 'Drained',
      on: [{ source: 'test', type: 'drained' }],
      steps: [
        // Remote steps: the drain under test is of activity tasks (a local step belongs to its workflow task).
        {
          id: 'slow',
          action: 'http.request',
          with: { url: `${receiver.url}/slow`, timeout: '30s' },
          timeout: '40s',
          execution: 'remote',
        },
        { id: 'after', action: 'http.request', with: { url: `${receiver.url}/after` }, execution: 'remote' },
      ],
    };
    const saved = await request(harness.app)
      .put('/api/definitions/drained')
      .set('Authorization', harness.auth)
      .send(definition);
    assert.equal(saved.status, 201, JSON.stringify(saved.body));

    const first = await processes.worker({ FLOW_SHUTDOWN_GRACE: '20s' });
    const posted = await request(harness.app)
      .post('/events/test/drained')
      .set('Authorization', harness.auth)
      .send({ n: 1 });
    assert.equal(posted.status, 202);
    await eventually(() => (receiver.to('/slow').length > 0 ? true : undefined), 60_000, 'the slow step to start');

    const asked = Date.now();
    first.child.kill('SIGTERM');
    const status = await first.exited;
    const took = Date.now() - asked;
    assert.equal(status.code, 0, first.logTail());
    assert.ok(took < 20_000, `the worker took ${took} ms, more than its grace`);
    assert.ok(took >= 3_000, `the worker exited after ${took} ms, before its activity could finish`);
    assert.match(first.logTail(50), /SIGTERM: no longer polling; letting running activities finish \(up to 20s/);
    assert.equal(receiver.to('/after').length, 0, 'the stopping worker took no new task');

    await processes.worker();
    const { run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      run.steps.map((step) => step.status),
      ['completed', 'completed'],
    );
    assert.equal(receiver.to('/slow').length, 1, 'the drained step ran once: its result was kept, not retried');
    assert.equal(receiver.to('/after').length, 1);
  });
});
