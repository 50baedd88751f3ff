import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKSPACE_LOCK_FILE } from '../../activities/git';
import { FlowProcesses } from '../support/flow-processes';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';

/** The git workspace a worker process announced: `… git workspace <dir>`. */
function announcedWorkspace(log: string): string {
  const match = /git workspace (\S+)/.exec(log);
  if (!match) throw new Error(`the worker did not name its git workspace:\n${log}`);
  return match[1]!;
}

describe('engine: git workspaces of several workers on one host', () => {
  let harness: Harness;
  let scratch: string;
  let processes: FlowProcesses;
  before(async () => {
    harness = await startHarness({ worker: false });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-worker-workspaces-'));
    processes = new FlowProcesses(harness, scratch);
  });
  afterEach(async () => processes.stopAll());
  after(async () => {
    await harness.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('gives two workers their own workspace by default, named after each one, and each holds its lock', async function () {
    this.timeout(240_000);
    const [one, two] = await Promise.all([processes.worker(), processes.worker()]);
    const dirs: [string, string] = [announcedWorkspace(one.logTail(50)), announcedWorkspace(two.logTail(50))];
    assert.notEqual(dirs[0], dirs[1]);
    const base = path.join(os.tmpdir(), 'flow-workspaces');
    assert.equal(dirs[0], path.join(base, `${one.pid}@${os.hostname()}`));
    assert.equal(dirs[1], path.join(base, `${two.pid}@${os.hostname()}`));
    for (const [index, dir] of dirs.entries()) {
      const lock = JSON.parse(fs.readFileSync(path.join(dir, WORKSPACE_LOCK_FILE), 'utf8')) as { pid: number };
      assert.equal(lock.pid, [one, two][index]!.pid);
    }
    // A stopped worker lets go of its workspace.
    assert.equal((await one.stop()).code, 0);
    assert.equal(fs.existsSync(path.join(dirs[0], WORKSPACE_LOCK_FILE)), false);
    // A worker named by its pid gets a new workspace each start, so the next one removes those of ended workers.
    const three = await processes.worker();
    await eventually(() => (fs.existsSync(dirs[0]) ? undefined : true), 20_000, "the ended worker's workspace to go");
    assert.ok(fs.existsSync(path.join(dirs[1], WORKSPACE_LOCK_FILE)), "a running worker's workspace stays");
    await Promise.all([two.stop(), three.stop()]);
    for (const dir of [dirs[1], announcedWorkspace(three.logTail(50))])
      fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start a second worker on a workspace configured for both, naming the first one and what to set', async function () {
    this.timeout(240_000);
    const shared = path.join(scratch, 'shared-workspace');
    const first = await processes.worker({ FLOW_WORKSPACE_DIR: shared, FLOW_WORKER_ID: 'worker-a' });
    assert.equal(announcedWorkspace(first.logTail(50)), shared);
    const second = processes.spawn('workers/main.ts', { FLOW_WORKSPACE_DIR: shared, FLOW_WORKER_ID: 'worker-b' });
    const status = await second.exited;
    assert.equal(status.code, 1);
    const log = second.logTail(20);
    assert.match(log, new RegExp(`the git workspace ${shared} is in use by another worker \\(pid ${first.pid} on `));
    assert.match(log, /worker-a/);
    assert.match(log, /give this worker its own FLOW_WORKSPACE_DIR, or leave FLOW_WORKSPACE_DIR unset/);
    assert.ok(first.running, 'the first worker keeps running');

    // Once the first has stopped, the workspace is free again, and a lock its dead process left is taken over.
    await first.stop();
    fs.writeFileSync(
      path.join(shared, WORKSPACE_LOCK_FILE),
      JSON.stringify({
        pid: first.pid,
        hostname: os.hostname(),
        identity: 'worker-a',
        since: new Date().toISOString(),
      }),
    );
    const third = await processes.worker({ FLOW_WORKSPACE_DIR: shared, FLOW_WORKER_ID: 'worker-c' });
    const lock = JSON.parse(fs.readFileSync(path.join(shared, WORKSPACE_LOCK_FILE), 'utf8')) as { identity: string };
    assert.equal(lock.identity, 'worker-c');
    assert.ok(third.running);
  });
});
