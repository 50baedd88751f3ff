import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { dispatchWorkflowId } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';

const HOOK = path.resolve(__dirname, '../../scripts/flow-push-hook.py');
const ZERO = '0'.repeat(40);
const AUTHOR = { name: 'Ana Example', email: 'ana@example.com' };

interface Output {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a setup or inspection command from an argv list (never a shell); `check` fails the test on a non-zero exit. */
function exec(
  cwd: string,
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; check?: boolean } = {},
): Output {
  const done = spawnSync(argv[0]!, argv.slice(1), {
    cwd,
    env: options.env ?? cleanEnv(),
    input: options.input ?? '',
    encoding: 'utf8',
  });
  if (done.error) throw done.error;
  const output = { status: done.status, stdout: done.stdout, stderr: done.stderr };
  if ((options.check ?? true) && done.status !== 0) {
    assert.fail(`${argv.join(' ')} exited ${done.status}:\n${done.stdout}\n${done.stderr}`);
  }
  return output;
}

/**
 * Runs a program that triggers the hook. Asynchronous, because the gateway the hook posts to runs in this process
 * and must keep answering meanwhile.
 */
async function run(
  cwd: string,
  argv: readonly string[],
  options: { env: NodeJS.ProcessEnv; input?: string; check?: boolean },
): Promise<Output> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: options.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const [status] = (await once(child, 'close')) as [number | null];
  if ((options.check ?? true) && status !== 0) {
    assert.fail(`${argv.join(' ')} exited ${status}:\n${stdout}\n${stderr}`);
  }
  return { status, stdout, stderr };
}

/**
 * The test process's environment without anything that configures the hook, git, hg or a proxy, plus a fixed
 * identity: each test states exactly the configuration it gives the hook.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(FLOW_|GIT_|HG|GL_|REMOTE_USER$|USER$|LOGNAME$)|_proxy$|_PROXY$/.test(name)) env[name] = value;
  }
  return {
    ...env,
    USER: 'ana',
    GIT_AUTHOR_NAME: AUTHOR.name,
    GIT_AUTHOR_EMAIL: AUTHOR.email,
    GIT_COMMITTER_NAME: AUTHOR.name,
    GIT_COMMITTER_EMAIL: AUTHOR.email,
    // Neither the machine's nor the user's git or hg configuration (a global core.hooksPath, say) takes part.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HGRCPATH: '',
    HGUSER: `${AUTHOR.name} <${AUTHOR.email}>`,
    ...extra,
  };
}

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** `flow: accepted <type> <ref> -> event <id>` lines of the hook (git prefixes them with `remote:`), by ref. */
function acceptedEvents(output: Output): Map<string, { type: string; eventId: string }> {
  const found = new Map<string, { type: string; eventId: string }>();
  for (const match of `${output.stdout}\n${output.stderr}`.matchAll(/flow: accepted (\S+) (\S+) -> event (\S+)/g)) {
    found.set(match[2]!, { type: match[1]!, eventId: match[3]! });
  }
  return found;
}

describe('scripts/flow-push-hook.py: git and Mercurial pushes become Flow events', () => {
  let harness: Harness;
  let server: Server;
  let flowUrl: string;
  let root: string;

  before(async () => {
    harness = await startHarness();
    server = harness.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    flowUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-push-hook-'));
    // Each definition keeps the whole event body in `vars.event`, so a test sees exactly what a definition sees.
    for (const [id, source, type] of [
      ['on-git-push', 'git', 'push'],
      ['on-git-tag', 'git', 'tag_push'],
      ['on-hg-push', 'hg', 'push'],
    ] as const) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send({
          id,
          name: id,
          on: [{ source, type }],
          steps: [{ id: 'capture', action: 'flow.set', with: { event: '${{ event }}' } }],
        });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });
  after(async () => {
    server?.close();
    await harness?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** The environment a pusher gives the hook: Flow's address, the token and a repository name unique to the test. */
  const hookEnv = (repository: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
    cleanEnv({ FLOW_URL: flowUrl, FLOW_API_TOKEN: harness.token, FLOW_REPOSITORY: repository, ...extra });

  /** A bare repository with the hook as its post-receive, and a clone to push from. */
  function gitServer(): { bare: string; work: string; repository: string } {
    const dir = fs.mkdtempSync(path.join(root, 'git-'));
    const bare = path.join(dir, 'server.git');
    const work = path.join(dir, 'work');
    exec(dir, ['git', 'init', '-q', '--bare', bare]);
    fs.writeFileSync(path.join(bare, 'hooks', 'post-receive'), `#!/bin/sh\nexec python3 ${shellQuote(HOOK)}\n`, {
      mode: 0o755,
    });
    exec(dir, ['git', 'init', '-q', '-b', 'main', work]);
    exec(work, ['git', 'remote', 'add', 'origin', bare]);
    return { bare, work, repository: uniqueName('shop') };
  }

  let fileCounter = 0;
  /** Commits one new file with `message`; returns the commit id. */
  function gitCommit(work: string, message: string): string {
    fs.writeFileSync(path.join(work, `file-${++fileCounter}.txt`), `${fileCounter}\n`);
    exec(work, ['git', 'add', '-A']);
    exec(work, ['git', 'commit', '-q', '-m', message]);
    return revParse(work, 'HEAD');
  }

  const revParse = (cwd: string, rev: string): string => exec(cwd, ['git', 'rev-parse', rev]).stdout.trim();

  /** The body of the event the run received, after checking that the event started exactly one run of `definition`. */
  async function runEventBody(eventId: string, definition: string): Promise<Record<string, unknown>> {
    const { dispatch, run } = await harness.finished(dispatchWorkflowId(eventId));
    assert.deepEqual(
      dispatch.matched.map((matched) => matched.definition),
      [definition],
    );
    return run.vars.event as Record<string, unknown>;
  }

  /** Interpreter runs started for an event, as Temporal lists them. */
  async function runsOf(eventId: string): Promise<number> {
    let count = 0;
    for await (const _ of harness.client.workflow.list({
      query: `TaskQueue = "${harness.taskQueue}" AND WorkflowType = "interpret" AND FlowEventId = "${eventId}"`,
    }))
      count++;
    return count;
  }

  it('a push of two commits to a branch starts one run whose event has the ref, the shas and the commits', async () => {
    const { bare, work, repository } = gitServer();
    const before = gitCommit(work, 'Initial commit');
    await run(work, ['git', 'push', '-q', 'origin', 'main'], { env: hookEnv(repository) });
    const first = gitCommit(work, 'Add the parser\n\nREL-12: parse the manifest');
    const second = gitCommit(work, 'Fix the build');

    const pushed = await run(work, ['git', 'push', 'origin', 'main'], { env: hookEnv(repository) });

    const accepted = acceptedEvents(pushed);
    assert.deepEqual([...accepted.keys()], ['refs/heads/main'], pushed.stderr);
    const { type, eventId } = accepted.get('refs/heads/main')!;
    assert.equal(type, 'push');
    assert.match(eventId, /^git-push-[0-9a-f]{48}$/);
    assert.equal(revParse(bare, 'main'), second);
    assert.deepEqual(await runEventBody(eventId, 'on-git-push'), {
      ref: 'refs/heads/main',
      branch: 'main',
      tag: null,
      before,
      after: second,
      repository,
      pusher: 'ana',
      user: 'ana',
      commits: [
        { id: first, message: 'Add the parser\n\nREL-12: parse the manifest', author: AUTHOR.email },
        { id: second, message: 'Fix the build', author: AUTHOR.email },
      ],
      total_commits_count: 2,
      created: false,
      deleted: false,
      forced: false,
    });
  });

  it('a branch and an annotated tag pushed together give a push and a tag_push event', async () => {
    const { work, repository } = gitServer();
    gitCommit(work, 'Initial commit');
    await run(work, ['git', 'push', '-q', 'origin', 'main'], { env: hookEnv(repository) });
    exec(work, ['git', 'checkout', '-q', '-b', 'release/2.4']);
    const release = gitCommit(work, 'Release 2.4.0');
    exec(work, ['git', 'tag', '-a', 'v2.4.0', '-m', 'Version 2.4.0']);

    const pushed = await run(work, ['git', 'push', 'origin', 'release/2.4', 'v2.4.0'], { env: hookEnv(repository) });

    const accepted = acceptedEvents(pushed);
    assert.deepEqual([...accepted.keys()].sort(), ['refs/heads/release/2.4', 'refs/tags/v2.4.0'], pushed.stderr);
    const branch = await runEventBody(accepted.get('refs/heads/release/2.4')!.eventId, 'on-git-push');
    assert.equal(branch.branch, 'release/2.4');
    assert.equal(branch.tag, null);
    assert.equal(branch.created, true);
    assert.equal(branch.before, ZERO);
    assert.deepEqual(branch.commits, [{ id: release, message: 'Release 2.4.0', author: AUTHOR.email }]);

    assert.equal(accepted.get('refs/tags/v2.4.0')!.type, 'tag_push');
    const tag = await runEventBody(accepted.get('refs/tags/v2.4.0')!.eventId, 'on-git-tag');
    assert.equal(tag.ref, 'refs/tags/v2.4.0');
    assert.equal(tag.tag, 'v2.4.0');
    assert.equal(tag.branch, null);
    assert.equal(tag.after, revParse(work, 'refs/tags/v2.4.0'), 'after is the tag object, as git reports it');
    assert.equal(tag.created, true);
  });

  it('running the hook again for the same push is deduplicated and starts no second run', async () => {
    const { bare, work, repository } = gitServer();
    const after = gitCommit(work, 'Initial commit');
    const pushed = await run(work, ['git', 'push', 'origin', 'main'], { env: hookEnv(repository) });
    const { eventId } = acceptedEvents(pushed).get('refs/heads/main')!;
    await runEventBody(eventId, 'on-git-push');

    const again = await run(bare, ['python3', HOOK], {
      env: hookEnv(repository),
      input: `${ZERO} ${after} refs/heads/main\n`,
    });

    assert.equal(
      again.stdout.trim(),
      `flow: push refs/heads/main was already accepted as event ${eventId} (nothing new started)`,
    );
    assert.equal(await runsOf(eventId), 1);
  });

  it('a Mercurial push gives one event per named branch with the pushed changesets', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'hg-'));
    const serverRepo = path.join(dir, 'server');
    const work = path.join(dir, 'work');
    const repository = uniqueName('hg-shop');
    exec(dir, ['hg', 'init', serverRepo]);
    fs.writeFileSync(
      path.join(serverRepo, '.hg', 'hgrc'),
      `[hooks]\nchangegroup.flow = python3 ${shellQuote(HOOK)} --hg\n`,
    );
    exec(dir, ['hg', 'clone', '-q', serverRepo, work]);
    const hgCommit = (message: string): string => {
      fs.writeFileSync(path.join(work, `file-${++fileCounter}.txt`), `${fileCounter}\n`);
      exec(work, ['hg', 'commit', '-q', '-A', '-m', message]);
      return exec(work, ['hg', 'log', '-r', '.', '-T', '{node}']).stdout;
    };
    const initial = hgCommit('Initial commit');
    await run(work, ['hg', 'push', '-q'], { env: hookEnv(repository) });
    const marker = path.join(dir, 'pwned');
    const parser = hgCommit('Add the parser');
    const fix = hgCommit(`Fix $(touch ${marker}) \`touch ${marker}\`; touch ${marker}`);
    exec(work, ['hg', 'branch', '-q', 'release-2.4']);
    const release = hgCommit('Start release 2.4');

    const pushed = await run(work, ['hg', 'push', '--new-branch'], { env: hookEnv(repository) });

    const accepted = acceptedEvents(pushed);
    assert.deepEqual([...accepted.keys()].sort(), ['refs/heads/default', 'refs/heads/release-2.4'], pushed.stderr);
    const commit = (id: string, message: string) => ({ id, message, author: AUTHOR.email });
    const common = { tag: null, repository, pusher: 'ana', user: 'ana', deleted: false, forced: false, bookmarks: [] };
    assert.deepEqual(await runEventBody(accepted.get('refs/heads/default')!.eventId, 'on-hg-push'), {
      ...common,
      ref: 'refs/heads/default',
      branch: 'default',
      before: initial,
      after: fix,
      commits: [
        commit(parser, 'Add the parser'),
        commit(fix, `Fix $(touch ${marker}) \`touch ${marker}\`; touch ${marker}`),
      ],
      total_commits_count: 2,
      created: false,
    });
    assert.deepEqual(await runEventBody(accepted.get('refs/heads/release-2.4')!.eventId, 'on-hg-push'), {
      ...common,
      ref: 'refs/heads/release-2.4',
      branch: 'release-2.4',
      before: ZERO,
      after: release,
      commits: [commit(release, 'Start release 2.4')],
      total_commits_count: 1,
      created: true,
    });
    assert.equal(fs.existsSync(marker), false);
  });

  it('shell metacharacters in a branch name and a commit message arrive literally and run nothing', async () => {
    const { bare, work, repository } = gitServer();
    // The branch's commands would run in the hook's working directory (the bare repository), the message's in root.
    const branch = 'fix;touch${IFS}pwned-a;`touch${IFS}pwned-b`$(touch${IFS}pwned-c)';
    const marker = (name: string) => path.join(root, `${repository}-${name}`);
    const message = `Ship it $(touch ${marker('d')}) \`touch ${marker('e')}\`; touch ${marker('f')} && echo "$HOME"`;
    exec(work, ['git', 'checkout', '-q', '-b', branch]);
    const after = gitCommit(work, message);

    const pushed = await run(work, ['git', 'push', 'origin', `refs/heads/${branch}`], { env: hookEnv(repository) });

    const accepted = acceptedEvents(pushed);
    assert.ok(accepted.has(`refs/heads/${branch}`), pushed.stderr);
    const body = await runEventBody(accepted.get(`refs/heads/${branch}`)!.eventId, 'on-git-push');
    assert.equal(body.branch, branch);
    assert.deepEqual(body.commits, [{ id: after, message, author: AUTHOR.email }]);
    assert.equal(revParse(bare, `refs/heads/${branch}`), after);
    for (const name of ['d', 'e', 'f']) assert.equal(fs.existsSync(marker(name)), false, name);
    assert.deepEqual(
      fs.readdirSync(bare).sort(),
      ['HEAD', 'branches', 'config', 'description', 'hooks', 'info', 'objects', 'refs'].sort(),
    );
  });

  it('a wrong token: the push succeeds, the hook names the 401 without printing the token, nothing starts', async () => {
    const { bare, work, repository } = gitServer();
    const after = gitCommit(work, 'Initial commit');
    const wrongToken = `wrong-${uniqueName('token')}`;
    const env = hookEnv(repository, { FLOW_API_TOKEN: wrongToken });

    const pushed = await run(work, ['git', 'push', 'origin', 'main'], { env });

    assert.equal(pushed.status, 0, 'a post-receive hook cannot fail the push');
    assert.equal(revParse(bare, 'main'), after);
    assert.match(
      pushed.stderr,
      /flow: push refs\/heads\/main not sent: token rejected: 401 The bearer token is not valid/,
    );
    assert.match(pushed.stderr, /the push itself succeeded; after fixing this, re-send/);
    assert.doesNotMatch(pushed.stderr + pushed.stdout, new RegExp(wrongToken));

    const line = `${ZERO} ${after} refs/heads/main\n`;
    const direct = await run(bare, ['python3', HOOK], { env, input: line, check: false });
    assert.equal(direct.status, 1);
    assert.match(direct.stderr, /token rejected: 401/);
    assert.doesNotMatch(direct.stderr + direct.stdout, new RegExp(wrongToken));

    const planned = JSON.parse((await run(bare, ['python3', HOOK, '--dry-run'], { env, input: line })).stdout);
    assert.equal(planned.url, `${flowUrl}/events/git/push`);
    await assert.rejects(
      harness.client.workflow.getHandle(dispatchWorkflowId(`git-${planned.idempotencyKey}`)).describe(),
      WorkflowNotFoundError,
    );
  });

  it('without FLOW_URL it says what to set, and it reads flow.url and flow.tokenFile from git config', async () => {
    const { bare, work, repository } = gitServer();
    const after = gitCommit(work, 'Initial commit');
    await run(work, ['git', 'push', '-q', 'origin', 'main'], { env: cleanEnv() });
    const line = `${ZERO} ${after} refs/heads/main\n`;

    const unconfigured = await run(bare, ['python3', HOOK], { env: cleanEnv(), input: line, check: false });
    assert.equal(unconfigured.status, 2);
    assert.equal(
      unconfigured.stderr.trim(),
      'flow: no Flow URL configured: set FLOW_URL (such as http://flow.example:3000) or git config flow.url',
    );

    const tokenFile = path.join(root, `${repository}.token`);
    fs.writeFileSync(tokenFile, `${harness.token}\n`, { mode: 0o600 });
    exec(bare, ['git', 'config', 'flow.url', flowUrl]);
    exec(bare, ['git', 'config', 'flow.tokenFile', tokenFile]);
    exec(bare, ['git', 'config', 'flow.repository', repository]);
    const configured = await run(bare, ['python3', HOOK], { env: cleanEnv(), input: line });
    const { eventId } = acceptedEvents(configured).get('refs/heads/main')!;
    const body = await runEventBody(eventId, 'on-git-push');
    assert.equal(body.repository, repository);
    assert.doesNotMatch(configured.stdout + configured.stderr, new RegExp(harness.token));
  });
});
