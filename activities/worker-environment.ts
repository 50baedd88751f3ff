/**
 * Checks, when a worker starts, the settings that actions read from its environment at run time, so a typo in
 * `FLOW_HTTP_BLOCK_PRIVATE` or an origin list stops the worker with a message instead of failing (or, worse,
 * silently allowing) the first step that reads it days later.
 */
import { blockPrivateEnabled } from './network-guard';
import { isOriginsVariable, readOriginList } from './secret-origins';

/** Every problem found in the worker environment, one sentence each; empty when it is usable. */
export function workerEnvironmentProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const checks: (() => unknown)[] = [
    () => blockPrivateEnabled(env),
    () => readOriginList(env, 'FLOW_HTTP_PRIVATE_ORIGINS'),
    ...Object.keys(env)
      .filter(isOriginsVariable)
      .sort()
      .map((name) => () => readOriginList(env, name)),
  ];
  const problems: string[] = [];
  for (const check of checks) {
    try {
      check();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  return problems;
}
