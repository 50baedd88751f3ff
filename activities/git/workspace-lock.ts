import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file a worker keeps in its git workspace while it runs. */
export const WORKSPACE_LOCK_FILE = '.flow-worker.lock';

/** What the lock file holds: who has the workspace. */
interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly identity: string;
  readonly since: string;
}

/** A workspace another live worker holds; the message names it and what to set. */
export class WorkspaceInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `the git workspace ${dir} is in use by another worker (pid ${owner.pid} on ${owner.hostname}, ${owner.identity}, since ${owner.since}); ` +
        'workers must not share a workspace: give this worker its own FLOW_WORKSPACE_DIR, or leave FLOW_WORKSPACE_DIR unset so each worker gets ' +
        `<tmpdir>/flow-workspaces/<its FLOW_WORKER_ID or pid@hostname> (if that worker is gone, delete ${path.join(dir, WORKSPACE_LOCK_FILE)})`,
    );
    this.name = 'WorkspaceInUseError';
  }
}

/** The lock files this process holds (a lock naming this pid but not listed here was left by an earlier process). */
const heldHere = new Set<string>();

/** A held workspace lock; {@link release} removes the file if it is still this process's. */
export interface WorkspaceLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the git workspace `dir` for this process: creates `<dir>/.flow-worker.lock` exclusively (`wx`) with this
 * process's pid. A lock whose pid is dead on this host is stale and taken over; one held by a live process (or by a
 * process on another host, which cannot be checked from here) throws {@link WorkspaceInUseError}. The lock is
 * released when the process exits.
 */
export function lockWorkspace(dir: string, identity: string): WorkspaceLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, WORKSPACE_LOCK_FILE);
  if (heldHere.has(file)) {
    throw new WorkspaceInUseError(dir, { pid: process.pid, hostname: os.hostname(), identity, since: 'earlier' });
  }
  const owner: LockOwner = { pid: process.pid, hostname: os.hostname(), identity, since: new Date().toISOString() };
  const content = `${JSON.stringify(owner)}\n`;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      fs.writeFileSync(file, content, { flag: 'wx' });
      heldHere.add(file);
      const release = (): void => {
        heldHere.delete(file);
        try {
          if (fs.readFileSync(file, 'utf8') === content) fs.unlinkSync(file);
        } catch {
          // Already gone, or taken over: nothing of ours to remove.
        }
      };
      process.once('exit', release);
      return {
        file,
        release: () => {
          process.off('exit', release);
          release();
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = readOwner(file);
    if (held === 'missing') continue;
    const stale =
      held === 'unreadable' || (held.hostname === os.hostname() && (held.pid === process.pid || !isAlive(held.pid)));
    if (!stale) {
      throw new WorkspaceInUseError(dir, held);
    }
    // Stale (its process is dead) or half-written by a process that died while writing it: take it over. Renaming
    // it aside first means that of two workers taking over the same stale lock, only one removes it.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
      fs.unlinkSync(aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`could not take the git workspace lock ${file}: it kept changing hands`);
}

function readOwner(file: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return 'unreadable';
    return {
      pid: parsed.pid,
      hostname: String(parsed.hostname ?? os.hostname()),
      identity: String(parsed.identity ?? `${parsed.pid}`),
      since: String(parsed.since ?? 'an unknown time'),
    };
  } catch {
    return 'unreadable';
  }
}

/**
 * Whether a process with this pid lives on this host (EPERM: it does, but belongs to another user). This process's
 * own pid counts as alive, except in a lock it does not hold: a container's worker is often pid 1 again after a
 * restart, and the lock its previous run left is then stale.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the default workspaces (`<base>/<pid>@<this host>`) of worker processes on this host that have ended: a
 * worker without `FLOW_WORKER_ID` gets a new workspace each time it starts, and without this its predecessors'
 * mirrors would stay on disk. A directory is removed only when its pid is dead and it holds no live lock; others'
 * directories (another host's, a `FLOW_WORKER_ID`'s, an older version's `mirrors/` and `worktrees/`) are left alone.
 * Resolves with the directories removed.
 */
export async function removeEndedWorkspaces(base: string): Promise<string[]> {
  const host = os.hostname().replace(/[^A-Za-z0-9._@-]/g, '_');
  const names = await fs.promises.readdir(base).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = /^(\d+)@(.+)$/.exec(name);
    if (!match || match[2] !== host) continue;
    const pid = Number(match[1]);
    if (isAlive(pid)) continue;
    const dir = path.join(base, name);
    const held = readOwner(path.join(dir, WORKSPACE_LOCK_FILE));
    if (held !== 'missing' && held !== 'unreadable' && (held.hostname !== os.hostname() || isAlive(held.pid))) continue;
    await fs.promises.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
