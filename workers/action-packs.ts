/**
 * Loading action packs at a worker's start: the built-in pack (Flow's own actions, pack `flow`) plus the packs named
 * in `FLOW_ACTION_PACKS`. Every problem stops the worker at start with a message naming the entry and what to do,
 * because a worker that started without an action would leave each step calling it retrying forever.
 */
import path from 'node:path';
import { actions as builtInActions, type AnyAction } from '../activities';
import { TASK_QUEUE } from '../common/definition';
import { actionPackProblems, builtInActionPack, isActionPack, packLabel, type ActionPack } from '../sdk/action-pack';
import { SDK_VERSION } from '../sdk/version';

/** A pack a worker loaded, with where it came from, for messages. */
export interface LoadedActionPack {
  readonly pack: ActionPack;
  /** The `FLOW_ACTION_PACKS` entry as written, or `built-in`. */
  readonly source: string;
  /** The file the entry resolved to; absent for the built-in pack. */
  readonly file?: string;
}

/** A pack that cannot be loaded; the message says which entry and why. */
export class ActionPackLoadError extends Error {
  constructor(
    /** The `FLOW_ACTION_PACKS` entry, when one entry is at fault. */
    readonly source: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ActionPackLoadError';
  }
}

/** The built-in pack: Flow's own actions (by default every one in `activities/catalog.ts`) as pack `flow`. */
export function builtInPack(actions: readonly AnyAction[] = builtInActions): LoadedActionPack {
  // Built-in actions ship with the SDK they are declared with, so the pack takes its version.
  return { pack: builtInActionPack(SDK_VERSION, actions), source: 'built-in' };
}

/** Where packs are loaded from: the directory relative entries are resolved against, and how a file is required. */
export interface LoadActionPacksOptions {
  /** Relative paths and package names are resolved from here: the worker's working directory. */
  readonly cwd: string;
  /** The actions the team packs are checked against (default every built-in action). */
  readonly builtIns?: readonly AnyAction[];
}

/**
 * Loads the packs named by `specifiers` (the entries of `FLOW_ACTION_PACKS`), each the default export of its module,
 * and checks them against the built-in actions and each other. Throws {@link ActionPackLoadError} for a module that
 * cannot be found or fails to load, an export that is not a pack, a pack that is not valid (name, version, an action
 * outside its namespace), an id that two packs define, and an id that is a built-in action's.
 */
export function loadActionPacks(specifiers: readonly string[], options: LoadActionPacksOptions): LoadedActionPack[] {
  const loaded = specifiers.map((specifier) => loadActionPack(specifier, options.cwd));
  workerActions(options.builtIns ?? builtInActions, loaded);
  return loaded;
}

/**
 * Every action a worker registers: the built-in ones, then each pack's. Throws {@link ActionPackLoadError} when two
 * packs define one id (naming both), when a pack's id is a built-in action's, or when one pack is loaded twice.
 */
export function workerActions(builtIns: readonly AnyAction[], packs: readonly LoadedActionPack[]): AnyAction[] {
  const owners = new Map<string, LoadedActionPack>();
  const builtIn = builtInPack(builtIns);
  for (const loaded of [builtIn, ...packs]) {
    for (const action of loaded.pack.actions) {
      const owner = owners.get(action.id);
      if (owner === builtIn) {
        throw new ActionPackLoadError(
          loaded.source,
          `${describe(loaded)} defines "${action.id}", which is a built-in action's id; built-in ids cannot be replaced, so rename the pack's action`,
        );
      }
      if (owner) {
        throw new ActionPackLoadError(
          loaded.source,
          `the action id "${action.id}" is defined by two packs: ${describe(owner)} and ${describe(loaded)}; load only one of them`,
        );
      }
      owners.set(action.id, loaded);
    }
  }
  const byName = new Map<string, LoadedActionPack>();
  for (const loaded of packs) {
    const first = byName.get(loaded.pack.name);
    if (first) {
      throw new ActionPackLoadError(
        loaded.source,
        `the pack "${loaded.pack.name}" is loaded twice: as ${describe(first)} and as ${describe(loaded)}; load only one of them`,
      );
    }
    byName.set(loaded.pack.name, loaded);
  }
  return [builtIn, ...packs].flatMap(({ pack }) => pack.actions);
}

/**
 * One line per loaded pack for the worker's log: its name, version, entry, actions and the task queue they run on
 * (`taskQueue`, the pack's own or the worker's main queue).
 */
export function describeActionPacks(packs: readonly LoadedActionPack[], taskQueue: string): string[] {
  return packs.map(({ pack, source }) => {
    const ids = pack.actions.map(({ id }) => id).join(', ');
    return `action pack "${pack.name}" ${pack.version} from ${source}: ${ids} (task queue "${pack.taskQueue ?? taskQueue}")`;
  });
}

/**
 * The task queue of every action a worker knows: the built-in ones on `mainQueue` (the queue Flow's workflows run on),
 * each pack's on its `taskQueue`, or `mainQueue` when it names none. The registry copies these into each run's
 * snapshot (`DefinitionStoreOptions.actionQueues`), so a step is scheduled where its action's workers poll.
 */
export function actionQueues(
  builtIns: readonly AnyAction[],
  packs: readonly LoadedActionPack[],
  mainQueue: string,
): Map<string, string> {
  const queues = new Map<string, string>(builtIns.map(({ id }) => [id, mainQueue]));
  for (const { pack } of packs) for (const { id } of pack.actions) queues.set(id, pack.taskQueue ?? mainQueue);
  return queues;
}

/** Resolves, requires and checks one `FLOW_ACTION_PACKS` entry. */
function loadActionPack(specifier: string, cwd: string): LoadedActionPack {
  const entry = `FLOW_ACTION_PACKS entry "${specifier}"`;
  const isPath = specifier.startsWith('.') || path.isAbsolute(specifier);
  let file: string;
  try {
    file = require.resolve(isPath ? path.resolve(cwd, specifier) : specifier, { paths: [cwd] });
  } catch (error) {
    throw new ActionPackLoadError(
      specifier,
      `${entry} cannot be found (resolved from ${cwd}): ${firstLine(error)}; ${isPath ? 'check the path' : 'install the package where the worker runs, or give a path'}`,
      { cause: error },
    );
  }
  let exported: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- which module is known only at start
    exported = require(file) as unknown;
  } catch (error) {
    throw new ActionPackLoadError(specifier, `${entry} (${file}) failed while loading: ${firstLine(error)}`, {
      cause: error,
    });
  }
  const pack = defaultExport(exported);
  if (!isActionPack(pack)) {
    throw new ActionPackLoadError(
      specifier,
      `${entry} (${file}) does not export an action pack: its default export is ${describeValue(pack)}${namedPackHint(exported)}; export the result of defineActionPack({ name, version, actions }) from flow/sdk as the module's default export`,
    );
  }
  const loaded = { pack, source: specifier, file };
  const problems = actionPackProblems(pack);
  if (typeof pack.taskQueue === 'string' && !TASK_QUEUE.test(pack.taskQueue)) {
    problems.push(
      `its taskQueue ${JSON.stringify(pack.taskQueue)} is not a task queue name: use 1-200 letters, digits, ".", "_" or "-"`,
    );
  }
  if (problems.length > 0) {
    throw new ActionPackLoadError(specifier, `${describe(loaded)} is not valid: ${problems.join('; ')}`);
  }
  return loaded;
}

/** The module's default export: `export default` compiled to CommonJS, or `module.exports` itself. */
function defaultExport(exported: unknown): unknown {
  if (isActionPack(exported)) return exported;
  if (typeof exported === 'object' && exported !== null && 'default' in exported) return exported.default;
  return exported;
}

/** When the module exports a pack under another name, says so. */
function namedPackHint(exported: unknown): string {
  if (typeof exported !== 'object' || exported === null) return '';
  const named = Object.entries(exported)
    .filter(([name, value]) => name !== 'default' && isActionPack(value))
    .map(([name]) => name);
  return named.length > 0 ? ` (it exports a pack named ${named.join(', ')}, but not as default)` : '';
}

/** What was found, in a few words: `undefined`, `a function named x`, `an object with keys a, b`, … */
function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') return value.name ? `a function named ${value.name}` : 'a function';
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((key) => key !== '__esModule');
    if (keys.length === 0) return 'an empty object';
    const shown = keys.slice(0, 8).join(', ');
    return `an object with keys ${shown}${keys.length > 8 ? ', …' : ''}`;
  }
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 60))}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `the ${typeof value} ${value}`;
  }
  return `a ${typeof value}`;
}

/** How messages name a loaded pack: `pack "payments" 1.2.0 (FLOW_ACTION_PACKS entry "./packs/payments")`. */
function describe(loaded: LoadedActionPack): string {
  const where = loaded.file ? `FLOW_ACTION_PACKS entry "${loaded.source}"` : 'built in';
  return `pack ${packLabel(loaded.pack)} (${where})`;
}

/** The first line of an error's message; Node's resolution errors go on with the stack of requiring modules. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
