import { ApplicationFailure } from '@temporalio/common';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ConfigError, parseFlag, parseWorkspaceDir } from '../../config';
import type { ActionContext } from '../define-action';
import { FailureType, peerUnreachable } from '../failures';

/**
 * The git workspace cache. Each repository URL gets one bare mirror, `<FLOW_WORKSPACE_DIR>/mirrors/<hash>.git`
 * (`git clone --mirror` once, then `git fetch --prune` before every action reads it), and each run gets its own
 * worktree of that mirror, `<FLOW_WORKSPACE_DIR>/worktrees/<run>/<hash>` (`git worktree add`), which later steps
 * of the same run reuse. Parallel runs therefore share objects but never a working copy. The worker removes a run's
 * worktrees once the run has ended (`workspace-sweep.ts`); the mirrors stay.
 *
 * Worktrees are always on a detached HEAD and the mirror's refs are only ever what the remote has: actions commit
 * on a detached HEAD and push `<sha>:refs/heads/<branch>`. So `fetch --prune` never meets a checked-out branch,
 * and a failed step leaves nothing behind that the next fetch does not overwrite.
 *
 * Every git command runs through simple-git with an argv array (never a shell), with all of simple-git's
 * `unsafe` switches left off. Values from events reach git only after the input schemas validated them, and
 * refs are resolved to commit ids before they are used in any further command.
 */

/** Environment the workspace reads, all from the worker's environment (`deps.env`). */
export type WorkerEnv = Readonly<Record<string, string | undefined>>;

/** What the workspace needs from the action that uses it. */
export interface WorkspaceOptions {
  /** The worker environment: `FLOW_WORKSPACE_DIR`, `GIT_AUTHOR_NAME`, `GIT_AUTHOR_EMAIL`, `FLOW_GIT_ALLOW_FILE_URLS`. */
  readonly env: WorkerEnv;
  /** Kills running git processes when the activity is cancelled. */
  readonly signal?: AbortSignal;
  /** Called after slow steps (clone, fetch, push), so a long clone does not look like a dead worker. */
  readonly heartbeat?: () => void;
}

/** A ref and the commit it points to (tags peeled). */
export interface RefTarget {
  readonly name: string;
  /** The object the ref points to: the commit, or for an annotated tag the tag object. */
  readonly object: string;
  /** The commit, after peeling tags. */
  readonly commit: string;
}

/**
 * Environment variables of the worker process that reach git although simple-git strips `GIT_*` variables by
 * default: they are how operators give the worker its own git credentials. They come from the worker's process,
 * never from input; simple-git's checks on environment variables set per command stay on.
 */
const CREDENTIAL_ENVIRONMENT = [
  'GIT_SSH_COMMAND',
  'GIT_SSH',
  'GIT_SSH_VARIANT',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  'GIT_TERMINAL_PROMPT',
] as const;

/** A git process that prints nothing for this long is killed (a hung connection, a credential prompt). */
const GIT_IDLE_TIMEOUT_MS = 10 * 60_000;

/** The workspace options of an action's context: the worker environment, cancellation and heartbeats. */
export function workspaceOptions(context: ActionContext): WorkspaceOptions {
  return { env: context.deps.env, signal: context.signal, heartbeat: () => context.heartbeat() };
}

/**
 * The workspace directory: `FLOW_WORKSPACE_DIR`, or `<tmpdir>/flow-workspaces/<worker identity>` (parsed as config/
 * parses it).
 */
export function workspaceDir(env: WorkerEnv): string {
  return asStepFailure(() => parseWorkspaceDir(env));
}

/** A setting the worker environment gets wrong fails the step without retrying, with config/'s message. */
function asStepFailure<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError)
      throw ApplicationFailure.nonRetryable(error.message, FailureType.MissingConfiguration);
    throw error;
  }
}

/** The first 16 hex digits of the URL's SHA-256: the mirror's directory name. */
export function repositoryKey(repository: string): string {
  return createHash('sha256').update(repository).digest('hex').slice(0, 16);
}

/** Where the bare mirror of a repository lives. */
export function mirrorDir(env: WorkerEnv, repository: string): string {
  return path.join(workspaceDir(env), 'mirrors', `${repositoryKey(repository)}.git`);
}

/** The directory holding all worktrees of one run: a readable, collision-free name for the workflow id. */
export function runDir(env: WorkerEnv, workflowId: string): string {
  const readable = workflowId
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[.-]/, '_')
    .slice(0, 80);
  const digest = createHash('sha256').update(workflowId).digest('hex').slice(0, 12);
  return path.join(workspaceDir(env), 'worktrees', `${readable}-${digest}`);
}

/** Where a run's worktree of a repository lives. */
export function worktreeDir(env: WorkerEnv, workflowId: string, repository: string): string {
  return path.join(runDir(env, workflowId), repositoryKey(repository));
}

/**
 * Serialises work on one mirror inside this process: clone, fetch, worktree changes and pushes of concurrent
 * activities take turns. This lock does not reach across processes, so each worker has a workspace of its own: by
 * default one named after its identity, and a configured one is locked at start (`workspace-lock.ts`).
 */
const mirrorLocks = new Map<string, Promise<void>>();

async function withLock<T>(key: string, use: () => Promise<T>): Promise<T> {
  const previous = mirrorLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => released);
  mirrorLocks.set(key, tail);
  await previous;
  try {
    return await use();
  } finally {
    release();
    if (mirrorLocks.get(key) === tail) mirrorLocks.delete(key);
  }
}

/** The commit identity of Flow's commits and tags: `GIT_AUTHOR_NAME` / `GIT_AUTHOR_EMAIL`, or `Flow <flow@localhost>`. */
export function commitIdentity(env: WorkerEnv): { name: string; email: string } {
  const name = env['GIT_AUTHOR_NAME']?.trim() || 'Flow';
  const email = env['GIT_AUTHOR_EMAIL']?.trim() || 'flow@localhost';
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  const invalid = /[\u0000-\u001f\u007f<>]/;
  if (invalid.test(name) || invalid.test(email)) {
    throw ApplicationFailure.nonRetryable(
      'GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL must not contain control characters or < >',
      FailureType.MissingConfiguration,
    );
  }
  return { name, email };
}

/** A simple-git instance for one directory: no unsafe options, the worker's identity, cancellation and a timeout. */
function gitAt(baseDir: string, options: WorkspaceOptions): SimpleGit {
  const identity = commitIdentity(options.env);
  return simpleGit({
    baseDir,
    maxConcurrentProcesses: 1,
    config: [`user.name=${identity.name}`, `user.email=${identity.email}`],
    allowEnvironment: CREDENTIAL_ENVIRONMENT,
    timeout: { block: GIT_IDLE_TIMEOUT_MS },
    ...(options.signal ? { abort: options.signal } : {}),
    // simple-git treats a non-zero exit without stderr output as success; every failure must be one here.
    errors: (error, result) =>
      error ?? (result.exitCode !== 0 ? Buffer.concat([...result.stdErr, ...result.stdOut]) : undefined),
  });
}

/** Runs one git command (an argv array) and returns its stdout; failures become classified `ApplicationFailure`s. */
export async function runGit(git: SimpleGit, args: readonly string[]): Promise<string> {
  try {
    return await git.raw([...args]);
  } catch (error) {
    throw gitFailure(error, args);
  }
}

/** What `git push` says when the remote ref moved while we worked: the next attempt fetches again and decides anew. */
const PUSH_RACED = /\[rejected\].*\((?:fetch first|non-fast-forward|stale info|already exists)\)/;
/** What `git push` says when the remote refuses the update itself: a hook, a protected branch, permissions. */
const PUSH_REJECTED = /\[remote rejected\]|\[rejected\]|protected branch|hook declined/i;
/** HTTP statuses from the git server that retrying cannot fix. */
const HTTP_REJECTED = /returned error: (?!408|429)4\d\d/;
const UNREACHABLE = [
  /Could not read from remote repository/i,
  /unable to access/i,
  /Could not resolve host/i,
  /Temporary failure in name resolution/i,
  /Connection (?:refused|reset|timed out|closed)/i,
  /Network is unreachable/i,
  /No route to host/i,
  /timed out/i,
  /the remote end hung up unexpectedly/i,
  /early EOF/i,
  /RPC failed/i,
  /returned error: (?:5\d\d|408|429)/,
  /block timeout reached/,
];

/** Classifies a git failure: network trouble and push races are retryable, everything else is not. */
export function gitFailure(error: unknown, args: readonly string[]): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const full = (error instanceof Error ? error.message : String(error)).trim();
  // git's own diagnosis comes last; keep the end of long output (progress lines, hook chatter).
  const output = full.length > 2000 ? `…${full.slice(-2000)}` : full;
  const command = `git ${args[0] ?? ''}`;
  const message = `${command} failed: ${output || 'no output'}`;
  if (args[0] === 'push' && PUSH_RACED.test(output)) {
    return ApplicationFailure.retryable(`${message} (the remote changed meanwhile; retrying)`, 'PushRaced');
  }
  if (args[0] === 'push' && PUSH_REJECTED.test(output)) return ApplicationFailure.nonRetryable(message, 'PushRejected');
  if (HTTP_REJECTED.test(output) || /Authentication failed|Permission to .* denied/i.test(output)) {
    return ApplicationFailure.nonRetryable(message, FailureType.CommandFailed);
  }
  if (UNREACHABLE.some((pattern) => pattern.test(output))) return peerUnreachable(message);
  if (/Abort (?:signal received|already signaled)/.test(output)) {
    return ApplicationFailure.retryable(`${command} was cancelled`, 'Cancelled');
  }
  return ApplicationFailure.nonRetryable(message, FailureType.CommandFailed);
}

/** A run's worktree of a mirror, on a detached HEAD. */
export class Worktree {
  constructor(
    readonly dir: string,
    readonly git: SimpleGit,
  ) {}

  /** Runs a git command in the worktree. */
  run(args: readonly string[]): Promise<string> {
    return runGit(this.git, args);
  }

  /** The commit the worktree is on. */
  async head(): Promise<string> {
    return (await this.run(['rev-parse', '--verify', 'HEAD'])).trim();
  }

  /** Files left with conflicts by a failed merge. */
  async unmergedFiles(): Promise<string[]> {
    const output = await this.run(['diff', '--name-only', '--diff-filter=U', '-z']);
    return [...new Set(output.split('\0').filter(Boolean))];
  }

  /** Resolves a path inside the worktree, refusing one that leaves it through a symlink. */
  async file(relative: string): Promise<string> {
    const root = await fs.realpath(this.dir);
    const absolute = path.join(root, relative);
    const stat = await fs.lstat(absolute).catch(() => undefined);
    if (!stat) {
      throw ApplicationFailure.nonRetryable(`${relative} does not exist in the repository`, 'VersionFileNotFound');
    }
    const real = await fs.realpath(absolute);
    if (stat.isSymbolicLink() || !stat.isFile() || !real.startsWith(root + path.sep)) {
      throw ApplicationFailure.nonRetryable(
        `${relative} is not a regular file inside the repository`,
        'VersionFileInvalid',
      );
    }
    return real;
  }
}

/** The bare mirror of one repository, refreshed and locked for the duration of one action. */
export class Mirror {
  private refs: Map<string, RefTarget> | undefined;

  constructor(
    readonly repository: string,
    readonly dir: string,
    readonly git: SimpleGit,
    private readonly options: WorkspaceOptions,
  ) {}

  /** Runs a git command in the mirror. */
  run(args: readonly string[]): Promise<string> {
    return runGit(this.git, args);
  }

  /** Every ref of the mirror (as of the last fetch or push), with tags peeled to their commits. */
  async allRefs(): Promise<ReadonlyMap<string, RefTarget>> {
    if (this.refs) return this.refs;
    const output = await this.run([
      'for-each-ref',
      '--format=%(refname)%00%(objectname)%00%(*objectname)',
      'refs/heads',
      'refs/tags',
    ]);
    const refs = new Map<string, RefTarget>();
    for (const line of output.split('\n')) {
      const [name, object, peeled] = line.split('\0');
      if (name && object) refs.set(name, { name, object, commit: peeled || object });
    }
    this.refs = refs;
    return refs;
  }

  /** The branch's ref on the remote, if it exists. */
  async branch(name: string): Promise<RefTarget | undefined> {
    return (await this.allRefs()).get(`refs/heads/${name}`);
  }

  /** The tag on the remote, if it exists. */
  async tag(name: string): Promise<RefTarget | undefined> {
    return (await this.allRefs()).get(`refs/tags/${name}`);
  }

  /**
   * Resolves a ref the way users write them: `HEAD` (the default branch), a full `refs/…` name, a branch, a tag
   * (peeled), or a commit id. Returns the full name it matched and the commit, or undefined.
   */
  async resolve(ref: string): Promise<{ name: string; commit: string } | undefined> {
    const refs = await this.allRefs();
    if (ref === 'HEAD') {
      const head = (await this.run(['symbolic-ref', '--quiet', 'HEAD']).catch(() => '')).trim();
      const target = refs.get(head);
      return target && { name: head, commit: target.commit };
    }
    for (const name of ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`]) {
      const target = refs.get(name);
      if (target) return { name, commit: target.commit };
    }
    if (/^[0-9a-f]{7,40}$/.test(ref)) {
      // A failure here only means "no such commit": the mirror is local and the id was validated as hex.
      const commit = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]).then(
        (output) => output.trim(),
        () => '',
      );
      if (commit) return { name: commit, commit };
    }
    return undefined;
  }

  /** Like {@link resolve}, but a missing ref fails the step without retrying. */
  async resolveOrFail(ref: string, what: string): Promise<{ name: string; commit: string }> {
    const resolved = await this.resolve(ref);
    if (!resolved) {
      throw ApplicationFailure.nonRetryable(`${what} ${ref} does not exist in ${this.repository}`, 'RefNotFound', {
        ref,
      });
    }
    return resolved;
  }

  /**
   * Pushes refspecs to the remote. `leases` are `--force-with-lease` values (`refs/heads/x:<sha>`, or
   * `refs/heads/x:` for "must not exist yet"), which make the push a compare-and-swap.
   */
  async push(refspecs: readonly string[], leases: readonly string[] = []): Promise<void> {
    this.refs = undefined;
    await this.run(['push', ...leases.map((lease) => `--force-with-lease=${lease}`), '--', 'origin', ...refspecs]);
    this.options.heartbeat?.();
  }

  /** Forgets the cached refs after a local change (a tag created in the mirror). */
  invalidateRefs(): void {
    this.refs = undefined;
  }

  /**
   * The run's worktree of this mirror, checked out (detached, clean) at `commit`. The first step of a run creates
   * it; later steps reuse it, discarding whatever a failed step left behind.
   */
  async worktree(workflowId: string, commit: string): Promise<Worktree> {
    const dir = worktreeDir(this.options.env, workflowId, this.repository);
    if (await this.ownsWorktree(dir)) {
      const worktree = new Worktree(dir, gitAt(dir, this.options));
      await worktree.run(['reset', '--hard', '--quiet']);
      await worktree.run(['checkout', '--force', '--quiet', '--detach', commit]);
      await worktree.run(['clean', '-ffdxq']);
      return worktree;
    }
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await this.run(['worktree', 'prune']);
    await this.run(['worktree', 'add', '--detach', '--', dir, commit]);
    return new Worktree(dir, gitAt(dir, this.options));
  }

  /** Whether `dir` is a worktree registered in this mirror (not a leftover of a deleted, re-cloned mirror). */
  private async ownsWorktree(dir: string): Promise<boolean> {
    const link = await fs.readFile(path.join(dir, '.git'), 'utf8').catch(() => undefined);
    const gitdir = /^gitdir: (.+)$/m.exec(link ?? '')?.[1]?.trim();
    if (!gitdir || !gitdir.startsWith(path.join(this.dir, 'worktrees') + path.sep)) return false;
    return fs.stat(gitdir).then(
      (stat) => stat.isDirectory(),
      () => false,
    );
  }
}

/** Whether the worker allows `file://` repositories (tests, local development): `FLOW_GIT_ALLOW_FILE_URLS=true`. */
function fileUrlsAllowed(env: WorkerEnv): boolean {
  return asStepFailure(() => parseFlag(env, 'FLOW_GIT_ALLOW_FILE_URLS'));
}

/**
 * Runs `use` with the repository's mirror, holding the mirror's lock throughout: clones the mirror on first use,
 * otherwise fetches (with prune) so the action reads what the remote has now.
 */
export async function withMirror<T>(
  repository: string,
  options: WorkspaceOptions,
  use: (mirror: Mirror) => Promise<T>,
): Promise<T> {
  if (repository.startsWith('file://') && !fileUrlsAllowed(options.env)) {
    // A file:// URL would let a definition read any repository on the worker's disk, including other teams' mirrors.
    throw ApplicationFailure.nonRetryable(
      'file:// repositories are disabled on this worker (set FLOW_GIT_ALLOW_FILE_URLS=true for tests and local use)',
      'RepositoryNotAllowed',
    );
  }
  const dir = mirrorDir(options.env, repository);
  return withLock(dir, async () => {
    const parent = path.dirname(dir);
    await fs.mkdir(parent, { recursive: true });
    const exists = await fs.stat(path.join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (exists) {
      await runGit(gitAt(dir, options), ['fetch', '--prune', 'origin']);
    } else {
      await cloneMirror(repository, dir, options);
    }
    options.heartbeat?.();
    return use(new Mirror(repository, dir, gitAt(dir, options), options));
  });
}

/** Clones into a temporary directory and renames it into place, so a crash never leaves a half-made mirror. */
async function cloneMirror(repository: string, dir: string, options: WorkspaceOptions): Promise<void> {
  const parent = path.dirname(dir);
  const temporary = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await runGit(gitAt(parent, options), ['clone', '--mirror', '--quiet', '--', repository, temporary]);
    // Pushes name their refspecs; with remote.origin.mirror git would refuse them (or, without refspecs, push everything).
    await runGit(gitAt(temporary, options), ['config', 'remote.origin.mirror', 'false']);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(temporary, dir);
  } finally {
    await fs.rm(temporary, { recursive: true, force: true });
  }
}

/**
 * Removes one run's directory under `<workspace>/worktrees` (see `workspace-sweep.ts`): each worktree in it while
 * holding its mirror's lock (so no action of this process is changing that mirror's worktrees meanwhile), and
 * unregisters it from its mirror; then the directory itself. Returns the worktree directories removed.
 */
export async function removeRunDirectory(env: WorkerEnv, dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const key of entries) {
    const mirror = path.join(workspaceDir(env), 'mirrors', `${key}.git`);
    await withLock(mirror, async () => {
      await fs.rm(path.join(dir, key), { recursive: true, force: true });
      removed.push(path.join(dir, key));
      const hasMirror = await fs.stat(path.join(mirror, 'HEAD')).then(
        () => true,
        () => false,
      );
      if (hasMirror) await runGit(gitAt(mirror, { env }), ['worktree', 'prune']);
    });
  }
  await fs.rm(dir, { recursive: true, force: true });
  return removed;
}

/** Worker environment variables the git actions read, for docs/actions.md. */
export const GIT_ENV = [
  'FLOW_WORKSPACE_DIR',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'FLOW_GIT_ALLOW_FILE_URLS',
] as const;
