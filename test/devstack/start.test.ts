import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { buildSubscriptionLinks } from '../../common/subscription-links';
import { projectRoot } from '../../config';
import { findFreePort } from '../../devstack/ports';

/** `npm start` as a user runs it: its own process group, so SIGINT to the group is exactly a terminal's Ctrl-C. */
class StartedFlow {
  output = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(env: NodeJS.ProcessEnv): StartedFlow {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(projectRoot, 'devstack/start.ts')], {
      cwd: projectRoot,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new StartedFlow(child);
  }

  async waitFor(text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(text)) {
      if (this.child.exitCode !== null) throw new Error(`npm start exited early:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}":\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Ctrl-C: SIGINT to the whole process group; resolves with the launcher's exit code. */
  async interrupt(): Promise<number | null> {
    process.kill(-this.child.pid!, 'SIGINT');
    return this.exited;
  }

  /** The processes still in the launcher's group, for a failure message that says which one survived. */
  survivors(): string {
    try {
      return execFileSync('ps', ['-o', 'pid=,args=', '-g', String(this.child.pid)], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  }

  /**
   * True once no process of the launcher's group is left. Grandchildren (such as a compiler service a child started)
   * get the same Ctrl-C and exit on their own a moment after the launcher, so this waits up to five seconds.
   */
  async groupIsGone(): Promise<boolean> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        process.kill(-this.child.pid!, 0);
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('devstack: npm start', () => {
  let scratch: string;
  let running: StartedFlow | undefined;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-start-'));
  });
  after(async () => {
    if (running && !(await running.groupIsGone())) process.kill(-running.child.pid!, 'SIGKILL');
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('starts services, worker and gateway; stops all on Ctrl-C; keeps runs and data across a restart', async function () {
    this.timeout(300_000);
    const [temporalPort, uiPort, mongoPort, gatewayPort, workerMetricsPort] = await Promise.all([
      findFreePort(),
      findFreePort(),
      findFreePort(),
      findFreePort(),
      findFreePort(),
    ]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FLOW_DATA_DIR: scratch,
      FLOW_LOCAL_TEMPORAL_PORT: String(temporalPort),
      FLOW_LOCAL_TEMPORAL_UI_PORT: String(uiPort),
      FLOW_LOCAL_MONGODB_PORT: String(mongoPort),
      PORT: String(gatewayPort),
      FLOW_WORKER_METRICS_PORT: String(workerMetricsPort),
    };
    // The launcher must start its own services here, not reuse the test fixture's.
    delete env['TEMPORAL_ADDRESS'];
    delete env['MONGODB_URI'];
    delete env['FLOW_API_TOKEN'];
    delete env['FLOW_SUBSCRIPTION_LINK_SECRET'];
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    const mongoUri = `mongodb://127.0.0.1:${mongoPort}/flow`;
    const workflowId = 'restart-probe';

    running = StartedFlow.start(env);
    await running.waitFor('Flow is running', 240_000);
    assert.match(running.output, new RegExp(`Gateway +http://localhost:${gatewayPort}`));
    assert.match(running.output, new RegExp(`Temporal UI +http://localhost:${uiPort}`));
    const token = fs.readFileSync(path.join(scratch, 'api-token'), 'utf8').trim();
    assert.ok(running.output.includes(token), 'prints the generated API token');
    const linkSecretFile = path.join(scratch, 'subscription-link-secret');
    const linkSecret = fs.readFileSync(linkSecretFile, 'utf8').trim();
    assert.equal(fs.statSync(linkSecretFile).mode & 0o777, 0o600);
    assert.ok(!running.output.includes(linkSecret), 'the link secret is not printed');
    // The gateway checks links with the kept secret: one for a subscription that does not exist is "unsubscribed".
    const link = buildSubscriptionLinks({
      publicUrl: gateway,
      secret: linkSecret,
      subscription: 'nobody',
      deliveryId: 'nobody/e1',
      generation: 'g',
    });
    const linkPage = await fetch(link.unsubscribe);
    assert.equal(linkPage.status, 200, await linkPage.text());

    const auth = { authorization: `Bearer ${token}` };
    const definitions = (await (await fetch(`${gateway}/api/definitions`, { headers: auth })).json()) as {
      items: { id: string }[];
    };
    assert.ok(
      definitions.items.some((item) => item.id === 'hello'),
      'loads the examples on first start',
    );
    assert.equal((await fetch(`${gateway}/api/definitions/hello`, { method: 'DELETE', headers: auth })).status, 200);

    const health = await fetch(`${gateway}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { temporal: 'up', mongodb: 'up' });
    assert.equal((await fetch(`http://127.0.0.1:${uiPort}/`)).status, 200, 'the Temporal Web UI answers');
    assert.match(running.output, new RegExp(`worker: http://localhost:${workerMetricsPort}/metrics`));
    const workerMetrics = await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text();
    assert.match(workerMetrics, /flow_worker_process_resident_memory_bytes \d+/, 'the worker serves its metrics');
    assert.match(workerMetrics, /# TYPE flow_runs_started_total counter/);
    // The terminal shows the banner and the processes' own lines; request logs go to the log file the banner names.
    assert.match(running.output, /\[worker\] polling task queue/);
    assert.doesNotMatch(running.output, /^\{"level"/m, 'JSON log lines among the banner');
    const gatewayLog = fs.readFileSync(path.join(scratch, 'logs', 'gateway.log'), 'utf8');
    assert.match(gatewayLog, /"url":"\/api\/definitions\/hello"/, 'the request log is in logs/gateway.log');

    const mongo = new MongoClient(mongoUri);
    await mongo
      .db()
      .collection<{ _id: string; note: string }>('restart_probe')
      .insertOne({ _id: 'kept', note: 'survives restarts' });
    await mongo.close();
    let connection = await Connection.connect({ address: `localhost:${temporalPort}` });
    // No worker polls this queue, so the run stays open across the restart.
    await new Client({ connection }).workflow.start('restartProbe', { taskQueue: 'restart-probe', workflowId });
    await connection.close();

    assert.equal(await running.interrupt(), 0);
    assert.ok(await running.groupIsGone(), `no process of the launcher survives Ctrl-C; left: ${running.survivors()}`);
    assert.match(running.output, /Stopping the gateway, the worker and the services/);

    running = StartedFlow.start(env);
    await running.waitFor('Flow is running', 240_000);
    assert.equal(fs.readFileSync(path.join(scratch, 'api-token'), 'utf8').trim(), token, 'keeps the API token');
    assert.equal(fs.readFileSync(linkSecretFile, 'utf8').trim(), linkSecret, 'keeps the link secret');
    const afterRestart = await fetch(`${gateway}/api/definitions/hello`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(afterRestart.status, 404, 'examples load only on the first start; a deleted one stays deleted');
    const mongoAgain = new MongoClient(mongoUri);
    const doc = await mongoAgain
      .db()
      .collection<{ _id: string; note: string }>('restart_probe')
      .findOne({ _id: 'kept' });
    await mongoAgain.close();
    assert.deepEqual(doc, { _id: 'kept', note: 'survives restarts' });
    connection = await Connection.connect({ address: `localhost:${temporalPort}` });
    const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
    await connection.close();
    assert.equal(description.status.name, 'RUNNING');
    assert.equal(description.type, 'restartProbe');

    assert.equal(await running.interrupt(), 0);
    assert.ok(await running.groupIsGone(), `no process of the launcher survives Ctrl-C; left: ${running.survivors()}`);
  });
});
