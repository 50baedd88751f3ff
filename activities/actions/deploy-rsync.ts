import { ApplicationFailure } from '@temporalio/common';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { z } from 'zod';
import { defineAction } from '../define-action';
import { FailureType } from '../failures';
import {
  absolutePath,
  CommandStartError,
  displayCommand,
  lastLines,
  pickEnvironment,
  requireLocalPath,
  runCommand,
} from '../process';

const RSYNC = '/usr/bin/rsync';
/**
 * Exit codes of a failing network or remote side, worth retrying: socket I/O, protocol stream, timeouts, and 255,
 * which is ssh's own exit code passed through when it cannot connect (refused, unreachable, timed out). ssh also
 * exits 255 when authentication fails, which retrying cannot fix; the retry policy bounds that cost.
 */
const RETRYABLE_EXIT_CODES: ReadonlySet<number> = new Set([10, 12, 30, 35, 255]);
const EXIT_MEANINGS: Readonly<Record<number, string>> = {
  1: 'syntax or usage error',
  2: 'protocol incompatibility',
  3: 'errors selecting input/output files or directories',
  5: 'error starting the client-server protocol',
  10: 'error in socket I/O',
  11: 'error in file I/O',
  12: 'error in the rsync protocol data stream',
  23: 'partial transfer due to error',
  24: 'partial transfer: some source files vanished',
  30: 'timeout in data send/receive',
  35: 'timeout waiting for daemon connection',
  255: 'the remote shell failed',
};
/**
 * Worker variables rsync sees: enough for ssh to find its keys and agent, and `RSYNC_RSH` for the remote shell
 * (such as `ssh -i /etc/flow/deploy_key -o StrictHostKeyChecking=yes`). Nothing from the input reaches it.
 */
const CHILD_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SSH_AUTH_SOCK', 'RSYNC_RSH'];
const FAILURE_LINES = 30;
const HEARTBEAT_LINES = 50;

const USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;
/** Remote paths are read by the remote shell too, so they keep to characters no shell treats specially. */
const REMOTE_PATH = /^[A-Za-z0-9_./+=@%,~-]+$/;

const input = z.strictObject({
  /** A trailing slash copies the directory's contents; without it, the directory itself. */
  source: absolutePath,
  destination: z
    .string()
    .max(4_096)
    .superRefine((value, context) => {
      for (const message of destinationProblems(value)) context.addIssue({ code: 'custom', message });
    }),
  excludes: z
    .array(
      z
        .string()
        .min(1)
        .max(1_024)
        .refine((value) => !/[\0\r\n]/.test(value), 'must be a single line without NUL characters')
        .refine(
          (value) => !/^[-+!]/.test(value),
          'must not start with "-", "+" or "!", which rsync reads as options or filter rules',
        ),
    )
    .max(100)
    .default([]),
  delete: z.boolean().default(false),
  dry_run: z.boolean().default(false),
});

const output = z.object({
  source: z.string(),
  destination: z.string(),
  files_transferred: z.int().min(0),
  output_tail: z.string(),
});

/** Copies a local directory or file to a local or ssh destination with rsync. */
export const deployRsync = defineAction({
  id: 'deploy.rsync',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'rsync makes the destination match the source: a retry transfers only what is still missing or different, so the destination ends up as after one copy.',
  },
  env: ['RSYNC_RSH'],
  guardedInputs: [
    { input: 'destination', decides: "chooses where the files are copied, with the worker's ssh credentials" },
  ],
  description:
    'Copies a local file or directory with rsync -a to a local path or to host:path / user@host:path over ssh, ' +
    'and returns {source, destination, files_transferred, output_tail}. A source ending in "/" copies its ' +
    'contents. excludes become --exclude patterns; delete removes destination files missing from the source ' +
    '(after the transfer; excluded files are kept); dry_run only reports what would change. The remote shell and ' +
    'its options come from the worker environment (RSYNC_RSH), never from the step. Network failures (rsync exit ' +
    'codes 10, 12, 30, 35, and 255 from ssh) are retried; other failures are not.',
  input,
  output,
  defaults: { timeout: '1h', heartbeat: '1m' },
  examples: [
    {
      title: 'Publish a built site to a web server',
      with: {
        source: '${{ steps.checkout.output.path }}/dist/',
        destination: 'deploy@web-1.example.com:/srv/www/releases/${{ vars.version }}',
        excludes: ['*.map', '.git'],
        delete: true,
      },
    },
    {
      title: 'Preview a copy to a local share',
      with: { source: '/srv/flow/artifacts/app/', destination: '/mnt/releases/app', dry_run: true },
    },
  ],
  async run(request, context) {
    const { deps, signal } = context;
    await requireLocalPath(request.source, 'any', 'source');
    const argv = [
      await rsyncBinary(),
      '-a',
      '--stats',
      '--itemize-changes',
      ...(request.delete ? ['--delete-after'] : []),
      ...(request.dry_run ? ['--dry-run'] : []),
      ...request.excludes.map((pattern) => `--exclude=${pattern}`),
      '--',
      request.source,
      request.destination,
    ];
    let fromStats: number | undefined;
    let itemized = 0;
    const result = await runCommand(argv, {
      // The C locale keeps the --stats wording and number format stable.
      env: { ...pickEnvironment(deps.env, CHILD_ENV), LC_ALL: 'C' },
      signal,
      onProgress: (tail) => context.heartbeat({ output_tail: lastLines(tail, HEARTBEAT_LINES) }),
      onLine: (line, stream) => {
        if (stream !== 'stdout') return;
        const stats = /^Number of regular files transferred: ([\d,.']+)/.exec(line);
        if (stats?.[1] !== undefined) fromStats = Number(stats[1].replace(/[,.']/g, ''));
        else if (/^[<>]f/.test(line)) itemized += 1;
      },
    }).catch((error: unknown) => {
      throw error instanceof CommandStartError
        ? ApplicationFailure.nonRetryable(error.message, FailureType.CommandFailed)
        : error;
    });
    if (result.exit_code !== 0) {
      const code = result.exit_code;
      const outcome =
        code === null
          ? `was killed by ${result.signal ?? 'a signal'}`
          : `exited with code ${code}${EXIT_MEANINGS[code] ? ` (${EXIT_MEANINGS[code]})` : ''}`;
      throw ApplicationFailure.create({
        message: `${displayCommand(argv)} ${outcome}; last lines of output:\n${lastLines(result.output_tail, FAILURE_LINES)}`,
        type: FailureType.CommandFailed,
        nonRetryable: code === null || !RETRYABLE_EXIT_CODES.has(code),
        details: [result],
      });
    }
    return {
      source: request.source,
      destination: request.destination,
      files_transferred: fromStats ?? itemized,
      output_tail: result.output_tail,
    };
  },
});

/** What is wrong with a destination: empty when it is an absolute local path or a safe `[user@]host:path`. */
function destinationProblems(value: string): string[] {
  if (value.startsWith('-')) return ['must not start with "-": it is a destination, not an option'];
  if (value.includes('\0')) return ['must not contain NUL characters'];
  if (value.startsWith('/')) {
    return value.split('/').includes('..') ? ['must not contain ".." segments'] : [];
  }
  if (/^rsync:\/\//i.test(value)) return ['rsync daemon URLs (rsync://) are not supported'];
  const match = /^(?:([^@:/]*)@)?([^:/]*|\[[^\]]*\]):(.*)$/s.exec(value);
  if (!match) return ['must be an absolute local path, host:path or user@host:path'];
  const [, user, host = '', path = ''] = match;
  const problems: string[] = [];
  if (user !== undefined && !USER.test(user)) problems.push(`user "${user}" must be a plain user name`);
  if (!HOST.test(host)) problems.push(`host "${host}" must be a host name or IP address`);
  if (path.startsWith(':')) problems.push('rsync daemon destinations (host::module) are not supported');
  else if (!REMOTE_PATH.test(path)) {
    problems.push('the remote path must be non-empty and hold only letters, digits and _ . / + = @ % , ~ -');
  } else if (path.startsWith('-')) problems.push('the remote path must not start with "-"');
  else if (path.split('/').includes('..')) problems.push('the remote path must not contain ".." segments');
  return problems;
}

/** Debian's rsync, or whichever rsync PATH finds. */
async function rsyncBinary(): Promise<string> {
  try {
    await fs.access(RSYNC, constants.X_OK);
    return RSYNC;
  } catch {
    return 'rsync';
  }
}
