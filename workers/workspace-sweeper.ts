import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../common/run-types';
import { SWEEP_GRACE_MS, type SweepResult } from '../activities/git';

/**
 * The workflow ids of every open run in the client's namespace (all task queues): a superset of this worker's, which
 * only makes a sweep keep more. Runs that continued as new in the last `recentMs` count as open too: their next run
 * has the same id and the same worktrees, and visibility may not list it yet. Rejects when the list cannot be read,
 * so a sweep never works from a partial list.
 */
export function openRunIds(client: Client, recentMs = SWEEP_GRACE_MS): () => Promise<string[]> {
  return async () => {
    const since = new Date(Date.now() - recentMs).toISOString();
    const query =
      `WorkflowType = "${WORKFLOW_TYPES.interpret}" AND (ExecutionStatus = "Running" OR ` +
      `(ExecutionStatus = "ContinuedAsNew" AND CloseTime > "${since}"))`;
    const ids = new Set<string>();
    for await (const run of client.workflow.list({ query })) ids.add(run.workflowId);
    return [...ids];
  };
}

/** How the sweeper runs. */
export interface SweeperOptions {
  /** One sweep; see `sweepWorkspace`. */
  readonly sweep: () => Promise<SweepResult>;
  /** Time between the end of one sweep and the start of the next. */
  readonly intervalMs: number;
  /** Time before the first sweep; by default one minute, so a restarting worker first catches up on its tasks. */
  readonly firstDelayMs?: number;
  /** Where progress and failures are reported (the worker's console). */
  readonly log: (line: string) => void;
}

/** A running sweeper; `stop` waits for a sweep in progress to end. */
export interface Sweeper {
  stop(): Promise<void>;
}

/**
 * Sweeps the git workspace on a timer that never keeps the process alive. A failed sweep (Temporal unreachable, a
 * directory it cannot remove) is reported and tried again at the next interval; it never stops the worker.
 */
export function startWorkspaceSweeper(options: SweeperOptions): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const every =
    options.intervalMs >= 60_000
      ? `${Math.round(options.intervalMs / 60_000)} min`
      : `${Math.ceil(options.intervalMs / 1000)} s`;
  const schedule = (delay: number): void => {
    timer = setTimeout(() => {
      running = once().finally(() => {
        running = undefined;
        if (!stopped) schedule(options.intervalMs);
      });
    }, delay);
    timer.unref();
  };
  const once = async (): Promise<void> => {
    try {
      const result = await options.sweep();
      if (result.removed.length > 0) {
        options.log(
          `[worker] workspace: removed the worktrees of ${result.removed.length} ended run(s); kept ${result.kept} of open or new runs`,
        );
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.log(`[worker] workspace sweep failed, trying again in ${every}: ${message}`);
    }
  };
  schedule(options.firstDelayMs ?? 60_000);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
