import semver from 'semver';
import type { AnyAction } from '../activities/define-action';
import { TASK_QUEUE } from '../common/definition';
import { SDK_VERSION } from './version';

/**
 * The brand of an action pack. A string rather than a symbol: a pack may be defined with another copy of the SDK than
 * the worker's (its own `node_modules/flow`), and a worker must still recognise it.
 */
export const ACTION_PACK_KIND = 'flow-action-pack';

/** What a pack name looks like: lower-case letters, digits and `_`, starting with a letter. */
export const PACK_NAME = /^[a-z][a-z0-9_]*$/;

/** The name of the pack of Flow's built-in actions; no other pack may take it. */
export const BUILT_IN_PACK_NAME = 'flow';

/** What a team writes: the argument of {@link defineActionPack}. */
export interface ActionPackDefinition {
  /** The pack's name, which is also its actions' namespace: a pack `payments` defines `payments.<verb>` only. */
  readonly name: string;
  /** The pack's own semantic version, such as `1.4.0`. */
  readonly version: string;
  /**
   * The task queue the pack's actions run on (default: the worker's main queue, `flow`): 1-200 letters, digits, `.`,
   * `_` or `-`. Runs schedule the pack's steps there, so a worker of the pack's team (`FLOW_WORKER_WORKFLOWS=off`)
   * runs them with its own credentials; see docs/action-packs.md.
   */
  readonly taskQueue?: string;
  /** Every action of the pack, declared with `defineAction`, in one explicit list. */
  readonly actions: readonly AnyAction[];
}

/** A pack of actions, as {@link defineActionPack} returns it (frozen) and a worker loads it. */
export interface ActionPack extends ActionPackDefinition {
  readonly kind: typeof ACTION_PACK_KIND;
  /** The {@link SDK_VERSION} the pack was defined with; a worker refuses a pack of another major. */
  readonly sdkVersion: string;
}

/** A pack definition that cannot be used; `problems` lists every reason, each a sentence. */
export class InvalidActionPackError extends Error {
  constructor(
    /** The pack's name as given, or a description when it has none. */
    readonly pack: string,
    readonly problems: readonly string[],
  ) {
    super(`action pack ${pack} is not valid: ${problems.join('; ')}`);
    this.name = 'InvalidActionPackError';
  }
}

/**
 * Declares a pack of actions: the module a worker loads (named in its `FLOW_ACTION_PACKS`) exports the result as its
 * default export. Throws {@link InvalidActionPackError} for a name that is not `[a-z][a-z0-9_]*`, a version that is
 * not semver, an action outside the pack's namespace, or two actions with one id, so a pack's own tests catch what
 * the worker would refuse at start.
 */
export function defineActionPack(definition: ActionPackDefinition): ActionPack {
  const pack = packOf(definition);
  const problems = actionPackProblems(pack);
  if (problems.length > 0) throw new InvalidActionPackError(packLabel(pack), problems);
  return pack;
}

/**
 * The pack of Flow's own actions, named `flow`. Its ids keep their domains (`git.tag`, `jira.comment`, …), so the
 * namespace rule of {@link defineActionPack} does not apply to it. Not part of the SDK's entry point.
 */
export function builtInActionPack(version: string, actions: readonly AnyAction[]): ActionPack {
  const pack = packOf({ name: BUILT_IN_PACK_NAME, version, actions });
  const problems = actionPackProblems(pack, { builtIn: true });
  if (problems.length > 0) throw new InvalidActionPackError(packLabel(pack), problems);
  return pack;
}

/** Whether `value` carries the brand of an action pack (whatever copy of the SDK defined it). */
export function isActionPack(value: unknown): value is ActionPack {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === ACTION_PACK_KIND;
}

/**
 * Everything wrong with a pack, each a sentence; empty when it is usable. Workers check every pack they load with it
 * again, because a pack made by another copy of the SDK (or by hand) never passed through this one's
 * {@link defineActionPack}.
 */
export function actionPackProblems(pack: ActionPack, options: { builtIn?: boolean } = {}): string[] {
  const problems: string[] = [];
  const name: unknown = pack.name;
  if (typeof name !== 'string' || !PACK_NAME.test(name)) {
    problems.push(
      `its name ${JSON.stringify(name)} is not a pack name: use lower-case letters, digits and _, starting with a letter (such as "payments")`,
    );
  } else if (name === BUILT_IN_PACK_NAME && !options.builtIn) {
    problems.push(`the name "${BUILT_IN_PACK_NAME}" is the built-in pack's; choose another`);
  }
  if (typeof pack.version !== 'string' || semver.valid(pack.version) === null) {
    problems.push(`its version ${JSON.stringify(pack.version)} is not a semantic version such as "1.0.0"`);
  }
  if (typeof pack.sdkVersion !== 'string' || semver.valid(pack.sdkVersion) === null) {
    problems.push(`it records no SDK version (sdkVersion); define it with defineActionPack from flow/sdk`);
  } else if (semver.major(pack.sdkVersion) !== semver.major(SDK_VERSION)) {
    problems.push(
      `it was defined with Flow SDK ${pack.sdkVersion}, and this is SDK ${SDK_VERSION}: build it against SDK ${semver.major(SDK_VERSION)}.x`,
    );
  }
  const taskQueue: unknown = pack.taskQueue;
  if (taskQueue !== undefined && (typeof taskQueue !== 'string' || !TASK_QUEUE.test(taskQueue))) {
    problems.push(
      `its taskQueue ${JSON.stringify(taskQueue)} is not a task queue name (1-200 letters, digits, ".", "_" or "-"); leave it out for "flow"`,
    );
  }
  if (!Array.isArray(pack.actions)) {
    problems.push('its actions are not a list: give them as `actions: [...]`');
    return problems;
  }
  // A worker may register no built-in action at all (tests of the dispatcher alone); a team's pack has a purpose.
  if (pack.actions.length === 0 && !options.builtIn) problems.push('it has no actions: list them in `actions: [...]`');
  // Without a valid name there is no namespace to check the ids against.
  const namespace = !options.builtIn && typeof name === 'string' && PACK_NAME.test(name) ? name : undefined;
  const seen = new Set<string>();
  pack.actions.forEach((action: unknown, index) => {
    const id = actionId(action);
    if (id === undefined) {
      problems.push(`actions[${index}] is not an action declared with defineAction`);
      return;
    }
    if (seen.has(id)) {
      problems.push(`it declares the action id "${id}" twice`);
      return;
    }
    seen.add(id);
    const { kind, run } = action as { kind?: unknown; run?: unknown };
    // Built-in meta-actions run inside the interpreter; a team's action is always an activity with a handler.
    if (!options.builtIn && (kind !== 'activity' || typeof run !== 'function')) {
      problems.push(`the action "${id}" has no run(): declare it with defineAction`);
    }
    if (namespace !== undefined) problems.push(...namespaceProblems(namespace, id));
    const guarantee = (action as { guarantee?: unknown }).guarantee;
    if (guarantee !== undefined && !isGuarantee(guarantee)) {
      problems.push(
        `the action "${id}" has a guarantee that is not {level, explanation}: level is "exactly-once", ` +
          '"at-least-once-with-dedupe" or "at-least-once", explanation a non-empty string (or leave guarantee out)',
      );
    }
  });
  return problems;
}

const GUARANTEE_LEVELS: readonly unknown[] = ['exactly-once', 'at-least-once-with-dedupe', 'at-least-once'];

/** Whether a pack action's `guarantee` is one the catalog can show. */
function isGuarantee(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { level, explanation } = value as { level?: unknown; explanation?: unknown };
  return GUARANTEE_LEVELS.includes(level) && typeof explanation === 'string' && explanation.trim() !== '';
}

/** The action id of a verb in a pack: `payments.refund`. */
const VERB = /^[a-z][a-z0-9_]*$/;

function namespaceProblems(packName: string, id: string): string[] {
  const prefix = `${packName}.`;
  if (!id.startsWith(prefix)) {
    return [
      `the action id "${id}" is outside the pack's namespace: a pack named "${packName}" may only define "${packName}.*"`,
    ];
  }
  if (!VERB.test(id.slice(prefix.length))) {
    return [
      `the action id "${id}" is not "${packName}.<verb>" with a verb of lower-case letters, digits and _ (such as "${packName}.post_message")`,
    ];
  }
  return [];
}

/** The id of something that looks like an action, or undefined when it does not. */
function actionId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, input, output } = value as { id?: unknown; input?: unknown; output?: unknown };
  const isSchema = (schema: unknown): boolean =>
    typeof schema === 'object' &&
    schema !== null &&
    typeof (schema as { safeParse?: unknown }).safeParse === 'function';
  return typeof id === 'string' && id !== '' && isSchema(input) && isSchema(output) ? id : undefined;
}

/** How messages name a pack: `"payments" 1.2.0`, or what it is when it has no usable name. */
export function packLabel(pack: { readonly name?: unknown; readonly version?: unknown }): string {
  if (typeof pack.name !== 'string') return 'without a name';
  return typeof pack.version === 'string' ? `"${pack.name}" ${pack.version}` : `"${pack.name}"`;
}

/** A frozen pack of `definition`, branded, recording this SDK's version. */
function packOf(definition: ActionPackDefinition): ActionPack {
  const { name, version, taskQueue, actions } = definition;
  return Object.freeze({
    kind: ACTION_PACK_KIND,
    sdkVersion: SDK_VERSION,
    name,
    version,
    ...(taskQueue === undefined ? {} : { taskQueue }),
    // A pack from plain JavaScript may give anything here; actionPackProblems says what is wrong with it.
    actions: Object.freeze(Array.isArray(actions) ? Array.from<AnyAction>(actions) : actions),
  });
}
