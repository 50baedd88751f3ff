import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockWorkspace, removeEndedWorkspaces, WORKSPACE_LOCK_FILE, WorkspaceInUseError } from '../../activities/git';

describe('git: the workspace lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-workspace-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const writeLock = (pid: number, hostname = os.hostname()): void =>
    fs.writeFileSync(
      path.join(dir, WORKSPACE_LOCK_FILE),
      JSON.stringify({ pid, hostname, identity: `${pid}@${hostname}`, since: '2026-01-01T00:00:00.000Z' }),
    );

  it('creates the lock with this pid, refuses a second taker and removes it on release', () => {
    const lock = lockWorkspace(path.join(dir, 'ws'), 'me');
    const held = JSON.parse(fs.readFileSync(lock.file, 'utf8')) as { pid: number; identity: string };
    assert.equal(held.pid, process.pid);
    assert.equal(held.identity, 'me');
    assert.throws(
      () => lockWorkspace(path.join(dir, 'ws'), 'other'),
      (error: unknown) => error instanceof WorkspaceInUseError && error.message.includes(`pid ${process.pid}`),
    );
    lock.release();
    assert.equal(fs.existsSync(lock.file), false);
  });

  it('refuses a workspace a live process holds, naming its pid and FLOW_WORKSPACE_DIR', () => {
    writeLock(process.ppid);
    assert.throws(
      () => lockWorkspace(dir, 'me'),
      (error: unknown) =>
        error instanceof WorkspaceInUseError &&
        error.message.includes(`pid ${process.ppid} on ${os.hostname()}`) &&
        error.message.includes('FLOW_WORKSPACE_DIR'),
    );
  });

  it('takes over a stale lock of a dead process, and an unreadable one', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    writeLock(dead);
    const lock = lockWorkspace(dir, 'me');
    assert.equal((JSON.parse(fs.readFileSync(lock.file, 'utf8')) as { pid: number }).pid, process.pid);
    lock.release();
    fs.writeFileSync(path.join(dir, WORKSPACE_LOCK_FILE), '{"pid":');
    lockWorkspace(dir, 'me').release();
  });

  it("takes over a lock naming this process's pid that this process does not hold (a restarted container's pid 1)", () => {
    writeLock(process.pid);
    const lock = lockWorkspace(dir, 'me again');
    assert.equal((JSON.parse(fs.readFileSync(lock.file, 'utf8')) as { identity: string }).identity, 'me again');
    lock.release();
  });

  it('refuses a lock taken on another host, which it cannot check', () => {
    writeLock(1, 'some-other-host');
    assert.throws(() => lockWorkspace(dir, 'me'), /pid 1 on some-other-host/);
  });

  it("removes only the default workspaces of this host's ended workers", async () => {
    const host = os.hostname().replace(/[^A-Za-z0-9._@-]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    const names = [
      `${dead}@${host}`,
      `${process.pid}@${host}`,
      `${dead}@other-host`,
      'worker-1',
      'mirrors',
      'worktrees',
    ];
    for (const name of names) fs.mkdirSync(path.join(dir, name, 'mirrors'), { recursive: true });
    // A dead pid's directory that a live worker has taken over (its lock names a live pid) is kept too.
    const adopted = `${dead + 1_000_000}@${host}`;
    fs.mkdirSync(path.join(dir, adopted));
    fs.writeFileSync(
      path.join(dir, adopted, WORKSPACE_LOCK_FILE),
      JSON.stringify({ pid: process.pid, hostname: os.hostname(), identity: 'me', since: 'now' }),
    );
    const removed = await removeEndedWorkspaces(dir);
    assert.deepEqual(removed, [path.join(dir, `${dead}@${host}`)]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [...names.slice(1), adopted].sort());
    assert.deepEqual(await removeEndedWorkspaces(path.join(dir, 'missing')), []);
  });
});
