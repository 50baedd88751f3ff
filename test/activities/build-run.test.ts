import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRun } from '../../activities/actions/build-run';
import { CommandStartError, runCommand } from '../../activities/process';
import { eventually } from '../support/http-receiver';
import { runAction } from '../support/run-action';
import { failureOf } from '../support/failure-of';

const node = process.execPath;

/** Whether a process is alive; a zombie waiting for its reaper counts as gone. */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A node script that starts a long-lived child (sharing its pipes), writes the child's pid, then waits. */
function parentOfSleeper(pidFile: string, extra = ''): string {
  return [
    `const { spawn } = require('node:child_process');`,
    `const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });`,
    `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));`,
    `console.log('started helper');`,
    extra,
    `setInterval(() => {}, 1000);`,
  ].join('\n');
}

describe('activities: build.run', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'flow-build-')));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the command in cwd with the step env, merging stdout and stderr into the output tail', async () => {
    const result = (await runAction(buildRun, {
      command: [
        node,
        '-e',
        'console.log("cwd=" + process.cwd()); console.log("greeting=" + process.env.GREETING); console.error("warning: on stderr")',
      ],
      cwd: dir,
      env: { GREETING: 'hello build' },
    })) as { exit_code: number; duration_ms: number; output_tail: string };
    assert.equal(result.exit_code, 0);
    assert.equal(typeof result.duration_ms, 'number');
    assert.match(result.output_tail, new RegExp(`^cwd=${dir}$`, 'm'));
    assert.match(result.output_tail, /^greeting=hello build$/m);
    assert.match(result.output_tail, /^warning: on stderr$/m);
  });

  it("gives the command a minimal environment: no worker credentials, only BUILD_PASSTHROUGH_ENV's extras", async () => {
    const result = (await runAction(
      buildRun,
      { command: [node, '-e', 'console.log(JSON.stringify(process.env))'], cwd: dir, env: { CI: 'true' } },
      {
        env: {
          PATH: process.env['PATH'],
          UPLOAD_PASSWORD: 'upload-secret',
          FLOW_SECRET_TRACKER_TOKEN: 'tracker-secret',
          JAVA_HOME: '/opt/jdk',
          GOPATH: '/opt/go',
          BUILD_PASSTHROUGH_ENV: 'JAVA_HOME, GOPATH',
        },
      },
    )) as { output_tail: string };
    const seen = JSON.parse(result.output_tail) as Record<string, string>;
    assert.equal(seen['PATH'], process.env['PATH']);
    assert.equal(seen['JAVA_HOME'], '/opt/jdk');
    assert.equal(seen['GOPATH'], '/opt/go');
    assert.equal(seen['CI'], 'true');
    assert.equal(seen['UPLOAD_PASSWORD'], undefined);
    assert.equal(seen['FLOW_SECRET_TRACKER_TOKEN'], undefined);
    assert.ok(!result.output_tail.includes('secret'), 'no credential value reaches the command');
  });

  it('resolves a relative tool path against cwd', async () => {
    fs.mkdirSync(path.join(dir, 'tools'));
    const script = path.join(dir, 'tools', 'build.js');
    fs.writeFileSync(script, `#!${node}\nconsole.log('built ' + process.argv.slice(2).join(','));\n`, { mode: 0o755 });
    const result = (await runAction(buildRun, { command: ['./tools/build.js', 'web', 'api'], cwd: dir })) as {
      output_tail: string;
    };
    assert.equal(result.output_tail, 'built web,api');
  });

  it('streams the output tail into heartbeats, and keeps heartbeating while the command is silent', async () => {
    const heartbeats: unknown[] = [];
    await runAction(
      buildRun,
      {
        command: [node, '-e', 'console.log("compiling 1"); console.log("compiling 2"); setTimeout(() => {}, 2600)'],
        cwd: dir,
      },
      { onHeartbeat: (details) => heartbeats.push(details) },
    );
    assert.ok(heartbeats.length >= 2, `expected a heartbeat on output and one while silent, got ${heartbeats.length}`);
    const tails = heartbeats.map((details) => (details as { output_tail: string }).output_tail);
    assert.match(tails[0]!, /^compiling 1$/m);
    assert.equal(tails.at(-1), 'compiling 1\ncompiling 2');
  });

  it('fails without retrying on a non-zero exit, naming the command and exit code and quoting the last 30 lines', async () => {
    const failure = await failureOf(
      runAction(buildRun, {
        command: [node, '-e', 'for (let i = 1; i <= 100; i++) console.log("line " + i); process.exit(3)'],
        cwd: dir,
      }),
    );
    assert.equal(failure.type, 'CommandFailed');
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.message.startsWith(`${node} -e `), failure.message);
    assert.match(failure.message, /exited with code 3; last lines of output:\nline 71\n/);
    assert.match(failure.message, /\nline 100$/);
    assert.doesNotMatch(failure.message, /\nline 70\n/);
    const details = failure.details?.[0] as { exit_code: number; output_tail: string };
    assert.equal(details.exit_code, 3);
    assert.match(details.output_tail, /^line 1$/m);
  });

  it('kills the command and everything it started when its timeout passes', async () => {
    const pidFile = path.join(dir, 'helper.pid');
    const started = Date.now();
    const failure = await failureOf(
      runAction(buildRun, { command: [node, '-e', parentOfSleeper(pidFile)], cwd: dir, timeout: '1s' }),
    );
    assert.ok(Date.now() - started < 10_000, 'the timeout ended the command');
    assert.equal(failure.type, 'CommandFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /timed out after 1s and was killed; last lines of output:\nstarted helper$/);
    const helper = Number(fs.readFileSync(pidFile, 'utf8'));
    await eventually(() => (isRunning(helper) ? undefined : true), 5_000, 'the helper process to be gone');
  });

  it('fails without retrying when the tool does not exist', async () => {
    const failure = await failureOf(runAction(buildRun, { command: ['no-such-build-tool', 'all'], cwd: dir }));
    assert.equal(failure.type, 'CommandFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^no-such-build-tool all: could not start no-such-build-tool: .*ENOENT/);
  });

  it('fails without running anything when cwd is missing or not a directory', async () => {
    const file = path.join(dir, 'file.txt');
    fs.writeFileSync(file, 'x');
    for (const [cwd, problem] of [
      [path.join(dir, 'missing'), /does not exist on the worker/],
      [file, /is not a directory/],
    ] as const) {
      const failure = await failureOf(runAction(buildRun, { command: [node, '-e', ''], cwd }));
      assert.equal(failure.type, 'InvalidActionInput');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, new RegExp(`^cwd: ${cwd} `));
      assert.match(failure.message, problem);
    }
  });

  describe('security', () => {
    it('passes shell metacharacters in arguments literally, never through a shell', async () => {
      const marker = path.join(dir, 'pwned');
      const argvFile = path.join(dir, 'argv.json');
      const hostile = [
        `; touch ${marker}`,
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `&& touch ${marker}`,
        `| touch ${marker}`,
        `\ntouch ${marker}`,
        `> ${marker}`,
        '${HOME} $PATH * ~ \'single\' "double" \\',
      ];
      await runAction(buildRun, {
        command: [
          node,
          '-e',
          `require('node:fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(1)))`,
          ...hostile,
        ],
        cwd: dir,
      });
      assert.deepEqual(JSON.parse(fs.readFileSync(argvFile, 'utf8')), hostile);
      assert.equal(fs.existsSync(marker), false, 'no shell ran the injected command');
    });

    it('rejects option injection and unsafe values with InvalidActionInput before anything runs', async () => {
      const marker = path.join(dir, 'pwned');
      const runs = path.join(dir, 'ran');
      const harmless = [node, '-e', `require('node:fs').writeFileSync(${JSON.stringify(runs)}, 'x')`];
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ command: [`--upload-pack=touch ${marker}`], cwd: dir }, /command\.0: must not start with "-"/],
        [{ command: ['-rf', '/'], cwd: dir }, /command\.0: must not start with "-"/],
        [{ command: [`node;touch ${marker}`], cwd: dir }, /command\.0: must be a tool name or path/],
        [{ command: [`$(touch ${marker})`], cwd: dir }, /command\.0: must be a tool name or path/],
        [{ command: [], cwd: dir }, /command: needs at least the tool/],
        [{ command: Array.from({ length: 101 }, () => 'x'), cwd: dir }, /command: may have at most 100/],
        [{ command: [...harmless, 'a\0b'], cwd: dir }, /command\.3: must not contain NUL/],
        [{ command: harmless, cwd: '-rf' }, /cwd: must be an absolute path/],
        [{ command: harmless, cwd: `--upload-pack=touch ${marker}` }, /cwd: must be an absolute path/],
        [{ command: harmless, cwd: 'relative/dir' }, /cwd: must be an absolute path/],
        [{ command: harmless, cwd: `${dir}/../..` }, /cwd: must not contain "\.\." segments/],
        [{ command: harmless, cwd: `${dir}\0x` }, /cwd: must not contain NUL/],
        [{ command: harmless, cwd: dir, env: { '-X': '1' } }, /env\.-X: must be an environment variable name/],
        [{ command: harmless, cwd: dir, env: { PATH: dir } }, /env\.PATH: PATH, HOME, LD_\*/],
        [{ command: harmless, cwd: dir, env: { HOME: dir } }, /env\.HOME: PATH, HOME, LD_\*/],
        [{ command: harmless, cwd: dir, env: { LD_PRELOAD: `${dir}/evil.so` } }, /env\.LD_PRELOAD: PATH, HOME/],
        [{ command: harmless, cwd: dir, env: { BASH_ENV: `${dir}/evil.sh` } }, /env\.BASH_ENV: PATH, HOME/],
        [{ command: harmless, cwd: dir, timeout: '5 minutes' }, /timeout: must be a duration/],
        [{ command: harmless, cwd: dir, shell: true }, /shell/],
      ];
      for (const [input, problem] of cases) {
        const failure = await failureOf(runAction(buildRun, input));
        assert.equal(failure.type, 'InvalidActionInput', JSON.stringify(input));
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, problem);
      }
      assert.equal(fs.existsSync(runs), false, 'no rejected step ran its command');
      assert.equal(fs.existsSync(marker), false);
    });
  });
});

describe('activities/process: runCommand', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-process-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps only the last 200 lines and 64 KB of output, however much the command prints', async () => {
    const lines = await runCommand([node, '-e', 'for (let i = 0; i < 5000; i++) console.log("line " + i)']);
    const kept = lines.output_tail.split('\n');
    assert.equal(kept.length, 200);
    assert.equal(kept[0], 'line 4800');
    assert.equal(kept.at(-1), 'line 4999');

    const wide = await runCommand([node, '-e', 'process.stdout.write("a".repeat(300000) + "end")']);
    assert.equal(Buffer.byteLength(wide.output_tail), 64 * 1024);
    assert.ok(wide.output_tail.endsWith('aend'));
  });

  it('keeps only the last state of carriage-return progress lines, as a terminal shows them', async () => {
    const result = await runCommand([node, '-e', 'process.stdout.write("10%\\r50%\\r100%\\r\\ndone\\r\\n")']);
    assert.equal(result.output_tail, '100%\ndone');
  });

  it('ends the whole process group on abort and rejects with the abort reason', async () => {
    const pidFile = path.join(dir, 'helper.pid');
    const controller = new AbortController();
    const running = runCommand([node, '-e', parentOfSleeper(pidFile)], { signal: controller.signal });
    const helper = await eventually(
      () =>
        fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8')
          ? Number(fs.readFileSync(pidFile, 'utf8'))
          : undefined,
      10_000,
      'the helper to start',
    );
    const reason = new Error('activity cancelled');
    controller.abort(reason);
    await assert.rejects(running, (error) => error === reason);
    await eventually(() => (isRunning(helper) ? undefined : true), 5_000, 'the helper process to be gone');
  });

  it('sends SIGKILL when the command ignores SIGTERM after its timeout', async () => {
    const result = await runCommand(
      [
        node,
        '-e',
        'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); setInterval(() => {}, 1000)',
      ],
      { timeoutMs: 500, killGraceMs: 300 },
    );
    assert.equal(result.timed_out, true);
    assert.equal(result.exit_code, null);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.output_tail, 'ready\nignoring SIGTERM');
  });

  it('returns when the command exits even if a background process it left keeps the pipes open, and ends that process', async () => {
    const pidFile = path.join(dir, 'helper.pid');
    const started = Date.now();
    const result = await runCommand([node, '-e', parentOfSleeper(pidFile, 'process.exit(0);')]);
    assert.ok(Date.now() - started < 8_000, 'did not wait for the background process');
    assert.equal(result.exit_code, 0);
    assert.equal(result.timed_out, false);
    assert.equal(result.output_tail, 'started helper');
    const helper = Number(fs.readFileSync(pidFile, 'utf8'));
    await eventually(() => (isRunning(helper) ? undefined : true), 5_000, 'the helper process to be gone');
  });

  it('rejects with CommandStartError when the tool cannot be started', async () => {
    await assert.rejects(
      runCommand(['/nonexistent/tool', '--version']),
      (error) => error instanceof CommandStartError && error.code === 'ENOENT' && error.command === '/nonexistent/tool',
    );
  });

  it('stops the command and rejects with the error when a progress callback throws', async () => {
    const problem = new Error('heartbeat failed');
    const started = Date.now();
    await assert.rejects(
      runCommand([node, '-e', 'console.log("working"); setInterval(() => {}, 1000)'], {
        onProgress: () => {
          throw problem;
        },
      }),
      (error) => error === problem,
    );
    assert.ok(Date.now() - started < 8_000);
  });
});
