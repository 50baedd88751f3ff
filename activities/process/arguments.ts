import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import { z } from 'zod';
import { DURATION } from '../../common/definition';
import { DEFAULT_PATH } from './run-command';

/**
 * A local absolute path handed to a process: it starts with `/` (so it can never be read as an option), holds no NUL
 * and no `..` segment, so it names exactly the place it appears to name.
 */
export const absolutePath = z
  .string()
  .max(4_096)
  .refine((value) => value.startsWith('/'), 'must be an absolute path, starting with /')
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
  .refine((value) => !value.split('/').includes('..'), 'must not contain ".." segments');

/** A duration such as `90s`, `30m` or `2h`. */
export const duration = z.string().regex(DURATION, 'must be a duration such as 500ms, 30s, 5m, 2h or 1d');

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration the {@link duration} schema accepted. */
export function durationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new TypeError(`not a duration: ${value}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

/**
 * Fails the step without retrying unless `path` exists on this worker and is of the expected kind. The schema can
 * only check the form of a path: definitions are also validated where the path does not exist.
 */
export async function requireLocalPath(path: string, kind: 'directory' | 'any', field: string): Promise<void> {
  let stats;
  try {
    stats = await fs.stat(path);
  } catch {
    throw ApplicationFailure.nonRetryable(`${field}: ${path} does not exist on the worker`, 'InvalidActionInput');
  }
  if (kind === 'directory' && !stats.isDirectory()) {
    throw ApplicationFailure.nonRetryable(`${field}: ${path} is not a directory`, 'InvalidActionInput');
  }
}

/**
 * The environment of a child process: only the named variables of the worker's environment, so credentials meant
 * for other actions never reach a build or a remote shell. PATH falls back to a standard one.
 */
export function pickEnvironment(
  workerEnv: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env['PATH'] ??= DEFAULT_PATH;
  return env;
}

/** An argv for messages: plain words as they are, anything else JSON-quoted, cut to `max` characters. */
export function displayCommand(argv: readonly string[], max = 300): string {
  const text = argv.map((arg) => (/^[A-Za-z0-9_./+=:@%,-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
