import fs from 'node:fs/promises';
import path from 'node:path';
import { removeRunDirectory, runDir, workspaceDir, type WorkerEnv } from './workspace';

/** What a sweep needs. */
export interface SweepOptions {
  /** The worker environment (`FLOW_WORKSPACE_DIR`). */
  readonly env: WorkerEnv;
  /**
   * The workflow ids of the runs that are still open. More ids than that (every open run of the namespace) only keeps
   * more; fewer would remove a running release's working copy, so an error must reject rather than answer short.
   */
  readonly openWorkflowIds: () => Promise<Iterable<string>>;
  /**
   * A run directory changed less than this long ago is kept even when its run is not listed: a run that has just
   * started may not be visible in the list yet. Default 10 minutes.
   */
  readonly graceMs?: number;
  /** The current time in ms, for tests. */
  readonly now?: number;
}

/** What one sweep did. */
export interface SweepResult {
  /** The run directories removed, with every worktree in them. */
  readonly removed: readonly string[];
  /** How many run directories were kept: their runs are open, or they are too new to judge. */
  readonly kept: number;
}

/** How long a new run directory is safe from a sweep when its run is not listed as open. */
export const SWEEP_GRACE_MS = 10 * 60_000;

/**
 * Removes the worktrees of runs that have ended. Each run keeps its working copies under
 * `<workspace>/worktrees/<run>` for its later steps; once the run is closed nothing reads them again, and without a
 * sweep they would fill the disk one release at a time. The mirrors stay: they are the cache every run shares.
 *
 * Run directories are named by a digest of the workflow id, so the sweep asks which runs are open and keeps those,
 * rather than guessing a run from its directory. When there is nothing to sweep it does not ask at all.
 */
export async function sweepWorkspace(options: SweepOptions): Promise<SweepResult> {
  const root = path.join(workspaceDir(options.env), 'worktrees');
  const names = await fs.readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  if (names.length === 0) return { removed: [], kept: 0 };
  const open = new Set<string>();
  for (const id of await options.openWorkflowIds()) open.add(path.basename(runDir(options.env, id)));
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? SWEEP_GRACE_MS;
  const removed: string[] = [];
  let kept = 0;
  for (const name of names.sort()) {
    const dir = path.join(root, name);
    const stat = await fs.stat(dir).catch(() => undefined);
    if (!stat?.isDirectory()) continue;
    if (open.has(name) || now - stat.mtimeMs < grace) {
      kept += 1;
      continue;
    }
    await removeRunDirectory(options.env, dir);
    removed.push(dir);
  }
  return { removed, kept };
}
