import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import type { ActionDefinition, AnyAction } from '../../activities';
import { gitBumpVersion } from '../../activities/actions/git-bump-version';
import { buildRun } from '../../activities/actions/build-run';
import { gitChangelog } from '../../activities/actions/git-changelog';
import { gitCheckout } from '../../activities/actions/git-checkout';
import { gitCreateBranch } from '../../activities/actions/git-create-branch';
import { gitMerge } from '../../activities/actions/git-merge';
import { gitTag } from '../../activities/actions/git-tag';
import { gitFailure, mirrorDir, removeRunDirectory, runDir, worktreeDir } from '../../activities/git/workspace';
import { runAction } from '../support/run-action';
import { failureOf } from '../support/failure-of';

const ALICE = { name: 'Alice Example', email: 'alice@example.com' };
const BOB = { name: 'Bob Example', email: 'bob@example.com' };
const BOT = { name: 'Release Bot', email: 'release-bot@example.com' };

const PACKAGE_JSON = `{
  "name": "checkout",
  "version": "1.2.0",
  "config": { "version": "1.2.0" },
  "dependencies": {
    "version": "^1.2.0"
  }
}
`;

const POM_XML = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <!-- <version>0.0.1</version> is not the project version -->
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>7.0.0</version>
  </parent>
  <artifactId>checkout</artifactId>
  <version>1.2.0</version>
  <dependencies>
    <dependency>
      <groupId>com.example</groupId>
      <artifactId>lib</artifactId>
      <version>1.2.0</version>
    </dependency>
  </dependencies>
</project>
`;

let clock = 1_700_000_000;

/** Runs git for test setup and assertions (never the code under test), with a fixed identity and date. */
function git(cwd: string, args: string[], author = ALICE): string {
  clock += 60;
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
      GIT_AUTHOR_DATE: `${clock} +0000`,
      GIT_COMMITTER_DATE: `${clock} +0000`,
    },
  }).trim();
}

function commitFiles(cwd: string, files: Record<string, string>, subject: string, author = ALICE): string {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(cwd, name)), { recursive: true });
    fs.writeFileSync(path.join(cwd, name), content);
  }
  git(cwd, ['add', '--all']);
  git(cwd, ['commit', '--quiet', '-m', subject], author);
  return git(cwd, ['rev-parse', 'HEAD']);
}

/** The seeded history, shared by every test; each test gets its own copy of the bare repository. */
interface Seed {
  readonly template: string;
  readonly initial: string;
  readonly rel10: string;
  readonly release120: string;
  readonly rel12: string;
  readonly rel13: string;
  readonly tidy: string;
  readonly hotfix: string;
}

function seedRepository(root: string): Seed {
  const work = path.join(root, 'seed');
  fs.mkdirSync(work);
  git(work, ['init', '--quiet', '--initial-branch=master']);
  const initial = commitFiles(
    work,
    {
      'package.json': PACKAGE_JSON.replace(/1\.2\.0/g, '1.1.0'),
      'pom.xml': POM_XML.replace(/1\.2\.0/g, '1.1.0'),
      VERSION: '1.1.0\n',
      'app.txt': 'hello\n',
    },
    'Initial commit',
  );
  git(work, ['tag', 'v1.1.0']);
  const rel10 = commitFiles(work, { 'checkout.txt': 'checkout\n' }, 'REL-10 add checkout', BOB);
  const release120 = commitFiles(
    work,
    { 'package.json': PACKAGE_JSON, 'pom.xml': POM_XML, VERSION: '1.2.0\n' },
    'Release 1.2.0',
  );
  git(work, ['tag', '--annotate', '-m', 'Release 1.2.0', 'v1.2.0']);
  git(work, ['checkout', '--quiet', '-b', 'develop']);
  const rel12 = commitFiles(work, { 'app.txt': 'hello develop\n' }, 'REL-12 fix x');
  const rel13 = commitFiles(work, { 'feature.txt': 'feature\n' }, 'REL-13 REL-12 follow-up for OPS-7', BOB);
  git(work, ['tag', 'nightly']);
  const tidy = commitFiles(work, { 'feature.txt': 'feature, tidied\n' }, 'chore: tidy', BOB);
  git(work, ['checkout', '--quiet', '-b', 'hotfix/1.2.1', 'master']);
  const hotfix = commitFiles(work, { 'app.txt': 'hello hotfix\n' }, 'REL-20 hotfix greeting');
  git(work, ['checkout', '--quiet', 'master']);
  const template = path.join(root, 'template.git');
  git(root, ['clone', '--quiet', '--bare', work, template]);
  return { template, initial, rel10, release120, rel12, rel13, tidy, hotfix };
}

function lsRemote(remote: string): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const line of git(remote, ['ls-remote', remote]).split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) refs[name] = sha;
  }
  return refs;
}

describe('activities: git actions', function () {
  // Real git processes on two shared cores: allow for a slow machine.
  this.timeout(120_000);

  let root: string;
  let seed: Seed;
  let remote: string;
  let url: string;
  let workspace: string;
  let marker: string;
  let env: Record<string, string>;
  let testNumber = 0;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-git-test-'));
    seed = seedRepository(root);
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    testNumber++;
    remote = path.join(root, `remote-${testNumber}.git`);
    fs.cpSync(seed.template, remote, { recursive: true });
    url = `file://${remote}`;
    workspace = path.join(root, `workspace-${testNumber}`);
    marker = path.join(root, `pwned-${testNumber}`);
    env = {
      FLOW_WORKSPACE_DIR: workspace,
      FLOW_GIT_ALLOW_FILE_URLS: 'true',
      GIT_AUTHOR_NAME: BOT.name,
      GIT_AUTHOR_EMAIL: BOT.email,
    };
  });

  /** Runs an action as the worker does, in the given run; the result is typed by the action's output schema. */
  async function run<Output extends z.ZodType>(
    action: ActionDefinition<z.ZodType, Output>,
    input: unknown,
    workflowId = 'release-run-1',
  ): Promise<z.output<Output>> {
    return (await runAction(action, input, { env, step: { workflowId } })) as z.output<Output>;
  }

  describe('git.create_branch', () => {
    it('creates the branch on the remote at the commit of from, and a retry succeeds without changing it', async () => {
      const first = await run(gitCreateBranch, { repository: url, branch: 'release/1.3.0' });
      assert.deepEqual(first, { branch: 'release/1.3.0', commit: seed.tidy, created: true });
      assert.equal(lsRemote(remote)['refs/heads/release/1.3.0'], seed.tidy);

      const retry = await run(gitCreateBranch, { repository: url, branch: 'release/1.3.0' });
      assert.deepEqual(retry, { branch: 'release/1.3.0', commit: seed.tidy, created: false });
      assert.equal(lsRemote(remote)['refs/heads/release/1.3.0'], seed.tidy);
    });

    it('creates a branch from an annotated tag at the tagged commit, not at the tag object', async () => {
      const result = await run(gitCreateBranch, { repository: url, branch: 'hotfix/1.2.2', from: 'v1.2.0' });
      assert.equal(result.commit, seed.release120);
      assert.equal(lsRemote(remote)['refs/heads/hotfix/1.2.2'], seed.release120);
    });

    it('fails without retrying when the branch exists elsewhere, and moves it only with force', async () => {
      const failure = await failureOf(run(gitCreateBranch, { repository: url, branch: 'master', from: 'develop' }));
      assert.equal(failure.type, 'BranchExists');
      assert.equal(failure.nonRetryable, true);
      assert.equal(lsRemote(remote)['refs/heads/master'], seed.release120);

      const forced = await run(gitCreateBranch, { repository: url, branch: 'master', from: 'develop', force: true });
      assert.deepEqual(forced, { branch: 'master', commit: seed.tidy, created: true });
      assert.equal(lsRemote(remote)['refs/heads/master'], seed.tidy);
    });

    it('fails without retrying when from does not exist', async () => {
      const failure = await failureOf(run(gitCreateBranch, { repository: url, branch: 'x', from: 'no-such-branch' }));
      assert.equal(failure.type, 'RefNotFound');
      assert.equal(failure.nonRetryable, true);
      assert.equal(lsRemote(remote)['refs/heads/x'], undefined);
    });
  });

  describe('git.tag', () => {
    it('pushes an annotated tag with the worker identity, and a retry on the same commit succeeds', async () => {
      const first = await run(gitTag, { repository: url, ref: 'develop', version: '1.3.0', message: 'Release 1.3.0' });
      assert.deepEqual(first, { tag: 'v1.3.0', commit: seed.tidy, created: true });
      assert.equal(git(remote, ['cat-file', '-t', 'refs/tags/v1.3.0']), 'tag');
      assert.equal(git(remote, ['rev-parse', 'refs/tags/v1.3.0^{commit}']), seed.tidy);
      const tagObject = git(remote, ['cat-file', '-p', 'refs/tags/v1.3.0']);
      assert.match(tagObject, new RegExp(`^tagger ${BOT.name} <${BOT.email}>`, 'm'));
      assert.match(tagObject, /\n\nRelease 1\.3\.0$/);

      const retry = await run(gitTag, { repository: url, ref: 'develop', version: '1.3.0' });
      assert.deepEqual(retry, { tag: 'v1.3.0', commit: seed.tidy, created: false });
      assert.equal(git(remote, ['rev-parse', 'refs/tags/v1.3.0^{commit}']), seed.tidy);
    });

    it('uses the tag prefix and tags a commit id', async () => {
      const result = await run(gitTag, { repository: url, ref: seed.rel13, version: '2.0.0-rc.1', tag_prefix: 'app/' });
      assert.deepEqual(result, { tag: 'app/2.0.0-rc.1', commit: seed.rel13, created: true });
      assert.equal(git(remote, ['rev-parse', 'refs/tags/app/2.0.0-rc.1^{commit}']), seed.rel13);
    });

    it('fails without retrying when the tag exists on another commit, leaving it alone', async () => {
      const before = lsRemote(remote)['refs/tags/v1.2.0'];
      const failure = await failureOf(run(gitTag, { repository: url, ref: 'develop', version: '1.2.0' }));
      assert.equal(failure.type, 'TagExists');
      assert.equal(failure.nonRetryable, true);
      assert.equal(lsRemote(remote)['refs/tags/v1.2.0'], before);
    });
  });

  describe('git.changelog', () => {
    it('lists commits since the latest release tag with tickets and unique authors', async () => {
      const result = await run(gitChangelog, { repository: url, to: 'develop' });
      assert.equal(result.from, 'v1.2.0');
      assert.equal(result.from_commit, seed.release120);
      assert.equal(result.to, 'develop');
      assert.equal(result.to_commit, seed.tidy);
      assert.deepEqual(result.commits, [
        { sha: seed.tidy, subject: 'chore: tidy', author_name: BOB.name, author_email: BOB.email, tickets: [] },
        {
          sha: seed.rel13,
          subject: 'REL-13 REL-12 follow-up for OPS-7',
          author_name: BOB.name,
          author_email: BOB.email,
          tickets: ['REL-13', 'REL-12', 'OPS-7'],
        },
        {
          sha: seed.rel12,
          subject: 'REL-12 fix x',
          author_name: ALICE.name,
          author_email: ALICE.email,
          tickets: ['REL-12'],
        },
      ]);
      assert.deepEqual(result.tickets, ['REL-13', 'REL-12', 'OPS-7']);
      assert.deepEqual(result.authors, [BOB, ALICE]);
      assert.equal(result.truncated, false);
    });

    it('defaults to to the default branch and skips a release tag on to itself', async () => {
      // master's tip is tagged v1.2.0, so the changelog of master is the one of that release: since v1.1.0.
      const result = await run(gitChangelog, { repository: url });
      assert.equal(result.to, 'HEAD');
      assert.equal(result.to_commit, seed.release120);
      assert.equal(result.from, 'v1.1.0');
      assert.deepEqual(
        result.commits.map((entry: { sha: string }) => entry.sha),
        [seed.release120, seed.rel10],
      );
      assert.deepEqual(result.tickets, ['REL-10']);
    });

    it('starts at the root commit when no release tag is reachable', async () => {
      const result = await run(gitChangelog, { repository: url, to: 'v1.1.0' });
      assert.equal(result.from, null);
      assert.equal(result.from_commit, null);
      assert.deepEqual(
        result.commits.map((entry: { sha: string }) => entry.sha),
        [seed.initial],
      );
    });

    it('uses an explicit from, a custom ticket pattern and max_commits', async () => {
      const result = await run(gitChangelog, {
        repository: url,
        from: 'v1.1.0',
        to: 'develop',
        ticket_pattern: 'OPS-\\d+',
        max_commits: 2,
      });
      assert.equal(result.from, 'v1.1.0');
      assert.deepEqual(
        result.commits.map((entry: { sha: string }) => entry.sha),
        [seed.tidy, seed.rel13],
      );
      assert.deepEqual(result.tickets, ['OPS-7']);
      assert.equal(result.truncated, true);
    });

    it('refuses ticket patterns that do not compile, are too long or can backtrack catastrophically', async () => {
      for (const pattern of [
        '(a+)+$',
        '(\\d|\\d)*x',
        '(?:x*y?)+z',
        '([A-Z]+)*-',
        '[A-Z',
        '(a)\\1',
        'a*b*c*d*',
        'x'.repeat(201),
        '',
      ]) {
        const failure = await failureOf(run(gitChangelog, { repository: url, ticket_pattern: pattern }));
        assert.equal(failure.type, 'InvalidActionInput', pattern);
        assert.match(failure.message, /ticket_pattern/, pattern);
      }
      assert.equal(fs.existsSync(workspace), false, 'git must not run for invalid input');
    });

    it('reuses the cached mirror and fetches new commits before reading', async () => {
      await run(gitChangelog, { repository: url, to: 'develop' });
      const mirror = mirrorDir(env, url);
      const inode = fs.statSync(mirror).ino;
      fs.writeFileSync(path.join(mirror, 'flow-test-marker'), 'still here');

      // Someone pushes to develop in between.
      const other = path.join(root, `other-${testNumber}`);
      git(root, ['clone', '--quiet', '--branch', 'develop', remote, other]);
      const pushed = commitFiles(other, { 'late.txt': 'late\n' }, 'REL-99 late change', BOB);
      git(other, ['push', '--quiet', 'origin', 'develop']);

      const second = await run(gitChangelog, { repository: url, to: 'develop' });
      assert.equal(second.to_commit, pushed);
      assert.deepEqual(second.tickets.slice(0, 1), ['REL-99']);
      assert.equal(fs.statSync(mirror).ino, inode, 'the mirror directory was replaced');
      assert.equal(fs.readFileSync(path.join(mirror, 'flow-test-marker'), 'utf8'), 'still here');
      assert.deepEqual(fs.readdirSync(path.join(workspace, 'mirrors')), [path.basename(mirror)]);
    });
  });

  describe('git.bump_version', () => {
    it('sets the top-level version of package.json, commits as the worker identity and pushes; a retry changes nothing', async () => {
      const result = await run(gitBumpVersion, { repository: url, version: '1.3.0' });
      const tip = lsRemote(remote)['refs/heads/develop'];
      assert.deepEqual(result, { branch: 'develop', file: 'package.json', commit: tip, changed: true });
      assert.equal(
        git(remote, ['show', 'develop:package.json']) + '\n',
        PACKAGE_JSON.replace('"version": "1.2.0"', '"version": "1.3.0"'),
      );
      assert.equal(git(remote, ['rev-parse', 'develop^']), seed.tidy);
      assert.equal(
        git(remote, ['log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'develop']),
        `${BOT.name} <${BOT.email}>|${BOT.name} <${BOT.email}>|Bump version to 1.3.0`,
      );
      assert.deepEqual(git(remote, ['diff-tree', '--no-commit-id', '--name-only', '-r', 'develop']).split('\n'), [
        'package.json',
      ]);

      const retry = await run(gitBumpVersion, { repository: url, version: '1.3.0' });
      assert.deepEqual(retry, { branch: 'develop', file: 'package.json', commit: tip, changed: false });
      assert.equal(lsRemote(remote)['refs/heads/develop'], tip);
    });

    it('changes only the project version of a pom.xml, not the parent or dependency version', async () => {
      const result = await run(gitBumpVersion, {
        repository: url,
        branch: 'master',
        version: '1.2.1-SNAPSHOT',
        file: 'pom.xml',
        message: 'Start 1.2.1',
      });
      assert.equal(result.changed, true);
      const expected = POM_XML.replace(
        '<version>1.2.0</version>\n  <dependencies>',
        '<version>1.2.1-SNAPSHOT</version>\n  <dependencies>',
      );
      assert.notEqual(expected, POM_XML);
      assert.equal(git(remote, ['show', 'master:pom.xml']) + '\n', expected);
      assert.equal(git(remote, ['log', '-1', '--format=%s', 'master']), 'Start 1.2.1');
      assert.equal(lsRemote(remote)['refs/heads/master'], result.commit);
    });

    it('rewrites a VERSION file', async () => {
      const result = await run(gitBumpVersion, { repository: url, version: '1.4.0', file: 'VERSION' });
      assert.equal(result.changed, true);
      assert.equal(git(remote, ['show', 'develop:VERSION']), '1.4.0');
      assert.equal(execFileSync('git', ['show', 'develop:VERSION'], { cwd: remote, encoding: 'utf8' }), '1.4.0\n');
    });

    it('fails without retrying when the branch or the file does not exist', async () => {
      const noBranch = await failureOf(run(gitBumpVersion, { repository: url, branch: 'nope', version: '1.3.0' }));
      assert.equal(noBranch.type, 'RefNotFound');
      assert.equal(noBranch.nonRetryable, true);
      const noFile = await failureOf(
        run(gitBumpVersion, { repository: url, version: '1.3.0', file: 'services/api/package.json' }),
      );
      assert.equal(noFile.type, 'VersionFileNotFound');
      assert.equal(noFile.nonRetryable, true);
      assert.equal(lsRemote(remote)['refs/heads/develop'], seed.tidy);
    });

    it('refuses to write through a version file that is a symlink out of the repository', async () => {
      const outside = path.join(root, `outside-${testNumber}.json`);
      fs.writeFileSync(outside, '{"version": "0.0.1"}\n');
      const work = path.join(root, `symlink-${testNumber}`);
      git(root, ['clone', '--quiet', '--branch', 'develop', remote, work]);
      fs.rmSync(path.join(work, 'package.json'));
      fs.symlinkSync(outside, path.join(work, 'package.json'));
      git(work, ['commit', '--quiet', '-am', 'link package.json']);
      git(work, ['push', '--quiet', 'origin', 'develop']);
      const tip = git(work, ['rev-parse', 'HEAD']);

      const failure = await failureOf(run(gitBumpVersion, { repository: url, version: '9.9.9' }));
      assert.equal(failure.type, 'VersionFileInvalid');
      assert.equal(fs.readFileSync(outside, 'utf8'), '{"version": "0.0.1"}\n');
      assert.equal(lsRemote(remote)['refs/heads/develop'], tip);
    });

    it('lets two parallel runs bump in separate worktrees without interfering', async () => {
      const [a, b] = await Promise.all([
        run(gitBumpVersion, { repository: url, version: '1.3.0' }, 'run-a'),
        run(gitBumpVersion, { repository: url, version: '1.3.0', file: 'VERSION' }, 'run-b'),
      ]);
      assert.equal(a.changed, true);
      assert.equal(b.changed, true);
      const tip = lsRemote(remote)['refs/heads/develop'];
      assert.ok(tip === a.commit || tip === b.commit);
      assert.equal(JSON.parse(git(remote, ['show', 'develop:package.json'])).version, '1.3.0');
      assert.equal(git(remote, ['show', 'develop:VERSION']), '1.3.0');
      // Both commits are on develop, one after the other.
      assert.deepEqual(
        git(remote, ['rev-list', `${seed.tidy}..develop`])
          .split('\n')
          .sort(),
        [a.commit, b.commit].sort(),
      );

      const dirA = worktreeDir(env, 'run-a', url);
      const dirB = worktreeDir(env, 'run-b', url);
      assert.notEqual(dirA, dirB);
      assert.equal(git(dirA, ['rev-parse', 'HEAD']), a.commit);
      assert.equal(git(dirB, ['rev-parse', 'HEAD']), b.commit);
      const worktrees = git(mirrorDir(env, url), ['worktree', 'list', '--porcelain']);
      assert.equal(worktrees.match(/^worktree /gm)?.length, 3, worktrees);

      assert.deepEqual(await removeRunDirectory(env, runDir(env, 'run-a')), [dirA]);
      assert.equal(fs.existsSync(dirA), false);
      assert.equal(fs.existsSync(dirB), true);
      const remaining = git(mirrorDir(env, url), ['worktree', 'list', '--porcelain']);
      assert.equal(remaining.match(/^worktree /gm)?.length, 2, remaining);
    });
  });

  describe('git.merge', () => {
    it('merges with a merge commit and pushes the target; a retry changes nothing', async () => {
      const result = await run(gitMerge, { repository: url, source: 'develop', target: 'master' });
      const tip = lsRemote(remote)['refs/heads/master'];
      assert.deepEqual(result, { target: 'master', commit: tip, fast_forward: false, changed: true });
      assert.equal(git(remote, ['rev-parse', 'master^1']), seed.release120);
      assert.equal(git(remote, ['rev-parse', 'master^2']), seed.tidy);
      assert.equal(git(remote, ['log', '-1', '--format=%s|%cn', 'master']), `Merge develop into master|${BOT.name}`);

      const retry = await run(gitMerge, { repository: url, source: 'develop', target: 'master' });
      assert.deepEqual(retry, { target: 'master', commit: tip, fast_forward: false, changed: false });
    });

    it('fails with MergeConflict naming the files, leaves the remote alone and the worktree usable', async () => {
      const failure = await failureOf(run(gitMerge, { repository: url, source: 'hotfix/1.2.1', target: 'develop' }));
      assert.equal(failure.type, 'MergeConflict');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /conflicts in app\.txt$/);
      assert.deepEqual((failure.details?.[0] as { files: string[] }).files, ['app.txt']);
      assert.equal(lsRemote(remote)['refs/heads/develop'], seed.tidy);
      const dir = worktreeDir(env, 'release-run-1', url);
      assert.equal(fs.existsSync(path.join(mirrorDir(env, url), 'worktrees', path.basename(dir), 'MERGE_HEAD')), false);

      // A later step of the same run reuses the worktree.
      const merged = await run(gitMerge, {
        repository: url,
        source: 'hotfix/1.2.1',
        target: 'master',
        message: 'Merge hotfix 1.2.1',
      });
      assert.equal(merged.changed, true);
      assert.equal(git(remote, ['rev-parse', 'master^2']), seed.hotfix);
      assert.equal(git(dir, ['rev-parse', 'HEAD']), merged.commit);
      const worktrees = git(mirrorDir(env, url), ['worktree', 'list', '--porcelain']);
      assert.equal(worktrees.match(/^worktree /gm)?.length, 2, worktrees);
    });
  });

  describe('failures', () => {
    it('treats an unreachable repository as retryable', async () => {
      const failure = await failureOf(run(gitChangelog, { repository: `file://${path.join(root, 'missing.git')}` }));
      assert.equal(failure.type, 'PeerUnavailable');
      assert.equal(failure.nonRetryable, false);
      assert.match(failure.message, /Could not read from remote repository/);
      assert.deepEqual(fs.readdirSync(path.join(workspace, 'mirrors')), [], 'a failed clone leaves no mirror behind');
    });

    it('classifies push races as retryable and refusals by the remote as not', () => {
      const push = ['push', '--', 'origin', 'abc:refs/heads/develop'];
      const raced = gitFailure(
        new Error(' ! [rejected]        abc -> develop (fetch first)\nerror: failed to push some refs'),
        push,
      );
      assert.deepEqual([raced.type, raced.nonRetryable], ['PushRaced', false]);
      const stale = gitFailure(new Error(' ! [rejected]        abc -> develop (stale info)'), push);
      assert.deepEqual([stale.type, stale.nonRetryable], ['PushRaced', false]);
      const refused = gitFailure(new Error(' ! [remote rejected] abc -> develop (pre-receive hook declined)'), push);
      assert.deepEqual([refused.type, refused.nonRetryable], ['PushRejected', true]);
      const forbidden = gitFailure(
        new Error("fatal: unable to access 'https://x/': The requested URL returned error: 403"),
        push,
      );
      assert.deepEqual([forbidden.type, forbidden.nonRetryable], ['CommandFailed', true]);
      const down = gitFailure(
        new Error("fatal: unable to access 'https://x/': The requested URL returned error: 503"),
        ['fetch'],
      );
      assert.deepEqual([down.type, down.nonRetryable], ['PeerUnavailable', false]);
      const timeout = gitFailure(new Error('ssh: connect to host x port 22: Connection timed out'), ['fetch']);
      assert.deepEqual([timeout.type, timeout.nonRetryable], ['PeerUnavailable', false]);
    });

    it('fails a push the remote rejects without retrying', async () => {
      const hook = path.join(remote, 'hooks', 'pre-receive');
      fs.writeFileSync(hook, '#!/bin/sh\necho "protected branch" >&2\nexit 1\n', { mode: 0o755 });
      const failure = await failureOf(run(gitCreateBranch, { repository: url, branch: 'release/9.0.0' }));
      assert.equal(failure.type, 'PushRejected');
      assert.equal(failure.nonRetryable, true);
      assert.equal(lsRemote(remote)['refs/heads/release/9.0.0'], undefined);
    });

    it('refuses file:// repositories unless the worker allows them', async () => {
      delete env['FLOW_GIT_ALLOW_FILE_URLS'];
      const failure = await failureOf(run(gitChangelog, { repository: url }));
      assert.equal(failure.type, 'RepositoryNotAllowed');
      assert.equal(failure.nonRetryable, true);
    });
  });

  describe('security', () => {
    it('rejects refs, branches and tags with shell metacharacters or option syntax before git runs', async () => {
      // Values a shell or git's option parser would act on: no parameter may ever accept them.
      const injections = [
        `x; touch ${marker}`,
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `x&&touch ${marker}`,
        `x|touch ${marker}`,
        `--upload-pack=touch ${marker}`,
        '--exec=sh',
        '-b',
        '-',
        'x\ny',
        'x y',
      ];
      // Values `git check-ref-format` refuses (or that would name a different ref): refused as refs.
      const malformed = [
        'a..b',
        'x@{1}',
        'x~1',
        'x^{tree}',
        'x:y',
        'release/x.lock',
        'x/',
        '/x',
        'x//y',
        '.hidden',
        'x.',
        'x*',
        'x[1]',
        'x\\y',
        'x?',
      ];
      const inputs = (value: string): [AnyAction, Record<string, unknown>][] => [
        [gitCreateBranch, { repository: url, branch: value }],
        [gitCreateBranch, { repository: url, branch: 'ok', from: value }],
        [gitTag, { repository: url, ref: value, version: '1.0.0' }],
        [gitChangelog, { repository: url, from: value }],
        [gitChangelog, { repository: url, to: value }],
        [gitBumpVersion, { repository: url, branch: value, version: '1.0.0' }],
        [gitMerge, { repository: url, source: value, target: 'master' }],
        [gitMerge, { repository: url, source: 'develop', target: value }],
      ];
      const cases = [
        ...[...injections, ...malformed].flatMap(inputs),
        ...injections.map((value): [AnyAction, Record<string, unknown>] => [
          gitTag,
          { repository: url, ref: 'develop', version: '1.0.0', tag_prefix: value },
        ]),
      ];
      for (const [action, input] of cases) {
        const failure = await failureOf(run(action, input));
        assert.equal(failure.type, 'InvalidActionInput', `${action.id} accepted ${JSON.stringify(input)}`);
        assert.equal(failure.nonRetryable, true);
      }
      assert.equal(fs.existsSync(marker), false);
      assert.equal(fs.existsSync(path.join(process.cwd(), 'pwned')), false);
      assert.equal(fs.existsSync(workspace), false, 'git must not run for invalid input');
    });

    it('rejects repository URLs that are options, remote helpers, other transports or carry credentials', async () => {
      for (const repository of [
        `--upload-pack=touch ${marker}`,
        `-u touch ${marker}`,
        `ext::sh -c touch% ${marker}`,
        `ext::sh -c "touch ${marker}"`,
        'ssh://-oProxyCommand=touch/x.git',
        `ssh://git@-oProxyCommand=touch${marker}/x.git`,
        '-oProxyCommand=touch@host:x.git',
        'git@host:-x.git',
        'https://user:token@git.example.com/x.git',
        'http://git.example.com/x.git',
        'git://git.example.com/x.git',
        'fd::17',
        `/${remote}`,
        remote,
        `file://${remote} --upload-pack=x`,
        `https://git.example.com/x.git\n--upload-pack=x`,
        'file:///tmp/../etc/x.git',
      ]) {
        const failure = await failureOf(run(gitChangelog, { repository }));
        assert.equal(failure.type, 'InvalidActionInput', repository);
        assert.match(failure.message, /repository/);
      }
      assert.equal(fs.existsSync(marker), false);
      assert.equal(fs.existsSync(workspace), false, 'git must not run for invalid input');
    });

    it('rejects versions, file paths and messages that could escape their argument', async () => {
      const cases: [AnyAction, Record<string, unknown>][] = [
        [gitBumpVersion, { repository: url, version: `1.0.0; touch ${marker}` }],
        [gitBumpVersion, { repository: url, version: 'v1.0.0' }],
        [gitBumpVersion, { repository: url, version: '--help' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: '../outside/package.json' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: '/etc/package.json' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: '-package.json' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: '.git/VERSION' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: 'a/../../VERSION' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', file: 'README.md' }],
        [gitBumpVersion, { repository: url, version: '1.0.0', message: 'evil\u0000message' }],
        [gitTag, { repository: url, ref: 'develop', version: `$(touch ${marker})` }],
      ];
      for (const [action, input] of cases) {
        const failure = await failureOf(run(action, input));
        assert.equal(failure.type, 'InvalidActionInput', `${action.id} accepted ${JSON.stringify(input)}`);
      }
      assert.equal(fs.existsSync(marker), false);
      assert.equal(fs.existsSync(workspace), false);
    });

    it('passes unusual but valid names to git as plain arguments', async () => {
      const result = await run(gitCreateBranch, { repository: url, branch: 'feature/REL-12_x+y-1.2', from: 'develop' });
      assert.equal(result.created, true);
      assert.equal(lsRemote(remote)['refs/heads/feature/REL-12_x+y-1.2'], seed.tidy);
      const message = `Release "1.3.0"; $(touch ${marker}) \`id\` --upload-pack=x`;
      await run(gitTag, { repository: url, ref: 'develop', version: '1.3.0', message });
      assert.match(
        git(remote, ['cat-file', '-p', 'refs/tags/v1.3.0']),
        new RegExp(`\n\n${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
      );
      assert.equal(fs.existsSync(marker), false);
    });
  });

  describe('git.checkout', () => {
    it("checks a ref out into the run's own worktree, where a build step then runs", async () => {
      const checkout = await run(gitCheckout, { repository: url, ref: 'v1.2.0' }, 'build-run-1');
      assert.equal(checkout.commit, seed.release120);
      assert.ok(checkout.path.startsWith(workspace), 'the worktree lives in the workspace cache');
      assert.equal(JSON.parse(fs.readFileSync(path.join(checkout.path, 'package.json'), 'utf8')).version, '1.2.0');

      const built = (await runAction(
        buildRun,
        { command: [process.execPath, '-e', "console.log(require('./package.json').version)"], cwd: checkout.path },
        { env },
      )) as { output_tail: string };
      assert.match(built.output_tail, /^1\.2\.0$/m);

      const other = await run(gitCheckout, { repository: url, ref: 'develop' }, 'build-run-2');
      assert.notEqual(other.path, checkout.path, 'another run gets its own working copy');
      assert.equal(
        fs.readFileSync(path.join(checkout.path, 'VERSION'), 'utf8'),
        '1.2.0\n',
        'and leaves the first one alone',
      );
    });
  });

  describe('examples', () => {
    it('every example is valid input once its expressions are replaced by values', () => {
      for (const action of [
        gitCreateBranch,
        gitTag,
        gitChangelog,
        gitBumpVersion,
        gitMerge,
        gitCheckout,
      ] as AnyAction[]) {
        assert.ok(action.examples.length > 0, action.id);
        for (const example of action.examples) {
          const rendered = JSON.parse(JSON.stringify(example.with).replace(/\$\{\{[^}]*\}\}/g, '1.4.0'));
          const parsed = action.input.safeParse(rendered);
          assert.ok(parsed.success, `${action.id} "${example.title}": ${parsed.error?.message}`);
        }
      }
    });
  });
});
