import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { mirrorDir, runDir, sweepWorkspace, worktreeDir } from '../../activities/git';
import { openRunIds } from '../../workers/workspace-sweeper';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

describe('engine: the workspace sweep removes the git worktrees of ended runs', () => {
  let harness: Harness;
  let root: string;
  let repository: string;
  let env: Record<string, string>;
  let source: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-sweep-'));
    const seed = path.join(root, 'seed');
    fs.mkdirSync(seed);
    git(seed, ['init', '--quiet', '--initial-branch=master']);
    fs.writeFileSync(path.join(seed, 'app.txt'), 'hello\n');
    git(seed, ['add', '--all']);
    git(seed, ['-c', 'user.name=Seed', '-c', 'user.email=seed@example.com', 'commit', '--quiet', '-m', 'Initial']);
    git(root, ['clone', '--bare', '--quiet', seed, 'remote.git']);
    repository = `file://${path.join(root, 'remote.git')}`;
    env = { FLOW_WORKSPACE_DIR: path.join(root, 'workspace'), FLOW_GIT_ALLOW_FILE_URLS: 'true' };
    harness = await startHarness({ deps: { env } });
    source = uniqueName('sweep');
    const saved = await request(harness.app)
      .put('/api/definitions/checkout-then-wait')
      .set('Authorization', harness.auth)
      .send({
        id: 'checkout-then-wait',
        name: 'Check out, then wait',
        on: [{ source, type: 'built' }],
        steps: [
          { id: 'checkout', action: 'git.checkout', with: { repository, ref: 'master' } },
          { id: 'wait', action: 'flow.sleep', with: { duration: '${{ event.wait }}' } },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });
  after(async () => {
    await harness.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const startRun = (wait: string): Promise<string> => harness.startRun(source, 'built', { wait });

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.fail(`timed out waiting until ${what}`);
  }

  const closedInVisibility = (workflowId: string) => async () =>
    (await harness.client.workflow.count(`WorkflowId = "${workflowId}" AND ExecutionStatus != "Running"`)).count === 1;

  const registeredWorktrees = () =>
    git(mirrorDir(env, repository), ['worktree', 'list', '--porcelain'])
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));

  it('removes an ended run’s worktree and keeps an open run’s, then removes that one once it is terminated', async () => {
    const ended = await startRun('1s');
    const open = await startRun('1h');
    await harness.client.workflow.getHandle(ended).result();
    const endedDir = worktreeDir(env, ended, repository);
    const openDir = worktreeDir(env, open, repository);
    await until('the open run has checked out', async () => fs.existsSync(path.join(openDir, 'app.txt')));
    assert.equal(fs.readFileSync(path.join(endedDir, 'app.txt'), 'utf8'), 'hello\n');
    assert.deepEqual(registeredWorktrees().sort(), [mirrorDir(env, repository), endedDir, openDir].sort());
    await until('the ended run is closed in visibility', closedInVisibility(ended));

    const first = await sweepWorkspace({ env, openWorkflowIds: openRunIds(harness.client), graceMs: 0 });
    assert.deepEqual(first, { removed: [runDir(env, ended)], kept: 1 });
    assert.equal(fs.existsSync(runDir(env, ended)), false);
    assert.equal(fs.readFileSync(path.join(openDir, 'app.txt'), 'utf8'), 'hello\n');
    assert.deepEqual(registeredWorktrees().sort(), [mirrorDir(env, repository), openDir].sort());

    await harness.client.workflow.getHandle(open).terminate('test done');
    await until('the terminated run is closed in visibility', closedInVisibility(open));
    const second = await sweepWorkspace({ env, openWorkflowIds: openRunIds(harness.client), graceMs: 0 });
    assert.deepEqual(second, { removed: [runDir(env, open)], kept: 0 });
    assert.deepEqual(registeredWorktrees(), [mirrorDir(env, repository)]);
    // The mirror stays: it is the cache every later run fetches into.
    assert.equal(fs.existsSync(path.join(mirrorDir(env, repository), 'HEAD')), true);
  });

  it('keeps a run directory younger than the grace period even when no open run owns it', async () => {
    const stray = runDir(env, uniqueName('not-listed-yet'));
    fs.mkdirSync(stray, { recursive: true });
    const listed = async () => [] as string[];
    assert.deepEqual(await sweepWorkspace({ env, openWorkflowIds: listed }), { removed: [], kept: 1 });
    assert.equal(fs.existsSync(stray), true);
    const later = Date.now() + 11 * 60_000;
    assert.deepEqual(await sweepWorkspace({ env, openWorkflowIds: listed, now: later }), {
      removed: [stray],
      kept: 0,
    });
    assert.equal(fs.existsSync(stray), false);
  });

  it('does not ask Temporal when there is nothing to sweep, and removes nothing when it cannot ask', async () => {
    const empty = { FLOW_WORKSPACE_DIR: path.join(root, 'never-used') };
    let asked = 0;
    const count = async () => {
      asked += 1;
      return [];
    };
    assert.deepEqual(await sweepWorkspace({ env: empty, openWorkflowIds: count }), { removed: [], kept: 0 });
    assert.equal(asked, 0);

    const orphan = runDir(env, uniqueName('orphan'));
    fs.mkdirSync(orphan, { recursive: true });
    const unreachable = async (): Promise<string[]> => {
      throw new Error('Temporal is unreachable');
    };
    await assert.rejects(sweepWorkspace({ env, openWorkflowIds: unreachable, graceMs: 0 }), /unreachable/);
    assert.equal(fs.existsSync(orphan), true);
  });
});
