import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { FailureType } from '../failures';
import {
  absolutePath,
  CommandStartError,
  displayCommand,
  duration,
  durationMs,
  lastLines,
  pickEnvironment,
  requireLocalPath,
  runCommand,
  type CommandResult,
} from '../process';

/** Lines of output in a failure message: enough to see the error, short enough to read in the Temporal UI. */
const FAILURE_LINES = 30;
/** Lines of output in each heartbeat. */
const HEARTBEAT_LINES = 50;
/** Worker variables every build sees; `BUILD_PASSTHROUGH_ENV` adds more. Nothing else of the worker leaks in. */
const BASE_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
];
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Variables a step may not set: they decide which programs and libraries run, or which files shells read first. */
const RESERVED_ENV = /^(PATH|HOME|LD_[A-Z0-9_]*|BASH_ENV|ENV)$/;
const TOOL = /^[A-Za-z0-9_./+-]+$/;

const argument = z
  .string()
  .max(32_768)
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters');

const input = z.strictObject({
  /** `command[0]` is the tool (a name looked up on PATH, or a path, relative to `cwd`); the rest are its arguments. */
  command: z
    .array(argument)
    .min(1, 'needs at least the tool to run')
    .max(100, 'may have at most 100 elements')
    .refine((argv) => argv[0] === undefined || TOOL.test(argv[0]), {
      message: 'must be a tool name or path: letters, digits and _ . / + -',
      path: [0],
    })
    .refine((argv) => argv[0] === undefined || !argv[0].startsWith('-'), {
      message: 'must not start with "-": it names the tool to run, not an option',
      path: [0],
    }),
  cwd: absolutePath,
  env: z
    .record(z.string(), argument)
    // Checked here rather than by a key schema, whose failures zod reports only as "Invalid key in record".
    .superRefine((env, context) => {
      for (const name of Object.keys(env)) {
        const message = !ENV_NAME.test(name)
          ? 'must be an environment variable name such as GRADLE_OPTS (A-Z, 0-9, _)'
          : RESERVED_ENV.test(name)
            ? 'PATH, HOME, LD_*, BASH_ENV and ENV cannot be set by a step'
            : undefined;
        if (message) context.addIssue({ code: 'custom', message, path: [name] });
      }
    })
    .default({}),
  timeout: duration.default('30m'),
});

const output = z.object({
  exit_code: z.literal(0),
  duration_ms: z.number(),
  output_tail: z.string(),
});

/** Runs a build command in a directory prepared by an earlier step; failures are not retried. */
export const buildRun = defineAction({
  id: 'build.run',
  guarantee: {
    level: 'at-least-once',
    explanation:
      'Runs the command again on each attempt. Not retried by default (`retry: {maximumAttempts: 1}`), so it runs once per run unless the step allows retries; a worker that dies mid-build fails the step.',
  },
  env: ['BUILD_PASSTHROUGH_ENV'],
  // Not env: its names are fixed by the definition (PATH, LD_* and the like are refused), so a value is data the build
  // reads. Passing event data through env rather than the command line is the safe way to hand it to a build.
  guardedInputs: [
    { input: 'command', decides: 'chooses the program that runs and its arguments' },
    { input: 'cwd', decides: 'chooses the directory the command runs in, and so the build files it executes' },
  ],
  description:
    'Runs a build command (an argv array, never through a shell) in a local directory such as a git worktree from ' +
    'an earlier step, and returns {exit_code, duration_ms, output_tail}. The command sees only a minimal ' +
    "environment (PATH, HOME, locale, proxies, plus the worker's BUILD_PASSTHROUGH_ENV list) and the step's env. " +
    'Its output streams into heartbeats. A non-zero exit or a timeout kills everything the command started and ' +
    'fails the step with CommandFailed, quoting the last lines of output; builds are not retried.',
  input,
  output,
  defaults: { timeout: '2h', heartbeat: '1m', retry: { maximumAttempts: 1 } },
  examples: [
    {
      title: 'Build and test a checked-out release',
      with: {
        command: ['./gradlew', '--no-daemon', 'build', '-Pversion=${{ vars.version }}'],
        cwd: '${{ steps.checkout.output.path }}',
        env: { GRADLE_OPTS: '-Xmx2g' },
        timeout: '45m',
      },
    },
    { title: 'Run the test suite', with: { command: ['npm', 'test'], cwd: '/srv/flow/worktrees/web-app' } },
  ],
  async run(request, context) {
    const { deps, signal } = context;
    await requireLocalPath(request.cwd, 'directory', 'cwd');
    const env = { ...pickEnvironment(deps.env, [...BASE_ENV, ...passthroughNames(deps.env)]), ...request.env };
    let result: CommandResult;
    try {
      result = await runCommand(request.command, {
        cwd: request.cwd,
        env,
        timeoutMs: durationMs(request.timeout),
        signal,
        onProgress: (tail) => context.heartbeat({ output_tail: lastLines(tail, HEARTBEAT_LINES) }),
      });
    } catch (error) {
      if (error instanceof CommandStartError) {
        throw ApplicationFailure.nonRetryable(
          `${displayCommand(request.command)}: ${error.message}`,
          FailureType.CommandFailed,
        );
      }
      throw error;
    }
    if (result.timed_out || result.exit_code !== 0) {
      const outcome = result.timed_out
        ? `timed out after ${request.timeout} and was killed`
        : result.exit_code === null
          ? `was killed by ${result.signal ?? 'a signal'}`
          : `exited with code ${result.exit_code}`;
      throw ApplicationFailure.create({
        message: `${displayCommand(request.command)} ${outcome}; last lines of output:\n${lastLines(result.output_tail, FAILURE_LINES)}`,
        type: FailureType.CommandFailed,
        nonRetryable: true,
        details: [result],
      });
    }
    return { exit_code: 0 as const, duration_ms: result.duration_ms, output_tail: result.output_tail };
  },
});

/** Names in the worker's `BUILD_PASSTHROUGH_ENV` (comma or space separated), such as `JAVA_HOME,GOPATH`. */
function passthroughNames(workerEnv: Readonly<Record<string, string | undefined>>): string[] {
  return (workerEnv['BUILD_PASSTHROUGH_ENV'] ?? '')
    .split(/[\s,]+/)
    .filter((name) => ENV_NAME.test(name) && name !== 'BUILD_PASSTHROUGH_ENV');
}
