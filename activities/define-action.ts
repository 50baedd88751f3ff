import type { z } from 'zod';
import type { StepOptions } from '../common/definition';
import { isMetaAction, type MetaActionId, type MetaActionInput } from '../common/meta-actions';
import type { Causation } from '../common/run-types';
import type { ActionDeps } from './deps';

/** Where a step runs: passed by the interpreter as the activity's second argument, never from the definition. */
export interface StepMeta {
  readonly eventId: string;
  readonly definition: string;
  readonly revision: number;
  readonly stepId: string;
  readonly workflowId: string;
  readonly causation: Causation;
}

/** What an action's `run` gets besides its input. */
export interface ActionContext {
  readonly deps: ActionDeps;
  readonly step: StepMeta;
  /**
   * Which attempt of the step this is: 1 for the first, then 2, 3, … as Temporal retries it (after a failure, a
   * timeout or a worker that died). An action that deduplicates a side effect may look for an earlier attempt's only
   * from 2 on.
   */
  readonly attempt: number;
  /** Records progress; after a worker restart the next attempt reads it back from `lastHeartbeat`. */
  heartbeat(details?: unknown): void;
  readonly lastHeartbeat: unknown;
  /** Aborted when the activity is cancelled or times out. */
  readonly signal: AbortSignal;
}

/** One example of an action, shown in the catalog and executed in tests. */
export interface ActionExample {
  readonly title: string;
  readonly with: Readonly<Record<string, unknown>>;
}

/**
 * An input that chooses what runs or where credentials and files go. A step whose value for it is rendered from event
 * data (directly, or through `vars` and step outputs derived from it) is refused at save, unless the step names the
 * input in `allow_event_data`; see `registry/event-data-flow.ts`.
 */
export interface GuardedInput {
  /** A top-level key of the action's input. */
  readonly input: string;
  /** What the input decides, completing "an input that …"; shown in refusals, the catalog and docs/actions.md. */
  readonly decides: string;
  /** Guarded only when the step also sets this input to something other than an empty object or list. */
  readonly onlyWith?: string;
}

/**
 * How often an action's side effect happens when Temporal runs its step more than once (a retry after a failure, a
 * timeout or a worker that died; activities are at least once):
 * - `exactly-once`: it has no side effect outside the run, or a retry cannot repeat it (the effect is keyed, or a
 *   no-op when already done);
 * - `at-least-once-with-dedupe`: a retry looks for what an earlier attempt did and returns it instead of doing it
 *   again, within limits the explanation states (how far back it looks, what the peer must support);
 * - `at-least-once`: a retry repeats the side effect unless the receiver deduplicates it.
 */
export type GuaranteeLevel = 'exactly-once' | 'at-least-once-with-dedupe' | 'at-least-once';

/** The guarantee an action documents (docs/actions.md, `GET /api/actions`): its level, and how and within which limits. */
export interface ActionGuarantee {
  readonly level: GuaranteeLevel;
  /** One or two sentences: why this level, and the limits of any dedupe. */
  readonly explanation: string;
}

/** The guarantee of an action that declares none: a pack's action from an SDK before 1.1, or one that leaves it out. */
export const DEFAULT_GUARANTEE: ActionGuarantee = {
  level: 'at-least-once',
  explanation: 'Declares no guarantee: a retry may repeat its side effect.',
};

/** An action: data (id, description, schemas, examples, defaults) plus a handler. */
export interface ActionDefinition<Input extends z.ZodType = z.ZodType, Output extends z.ZodType = z.ZodType> {
  /** `domain.verb`; also the activity type the Temporal UI shows. Never changes once shipped. */
  readonly id: string;
  readonly description: string;
  readonly input: Input;
  readonly output: Output;
  readonly examples: readonly ActionExample[];
  /** Activity options for this action, overridden by a step's own. */
  readonly defaults?: StepOptions;
  /** Worker environment variables the action reads (credentials, peer URLs); listed in docs/actions.md. */
  readonly env?: readonly string[];
  /** Inputs where event data is refused at save unless the step opts in (`allow_event_data`). */
  readonly guardedInputs?: readonly GuardedInput[];
  /**
   * What a retry of the step does to the action's side effect. Every built-in action declares one; a pack's action
   * may (the catalog shows {@link DEFAULT_GUARANTEE}, at least once, when it does not).
   */
  readonly guarantee?: ActionGuarantee;
  /** `meta` actions run inside the interpreter (they only change workflow state) and have no handler. */
  readonly kind: 'activity' | 'meta';
  run?(input: z.output<Input>, context: ActionContext): Promise<z.input<Output>>;
}

/** Any action, whatever its schemas; what the catalog holds. */
export type AnyAction = ActionDefinition<z.ZodType, z.ZodType>;

/** A built-in action: one that states its guarantee. */
export type BuiltinAction = AnyAction & { readonly guarantee: ActionGuarantee };

/** What {@link defineAction} takes: the declaration without `kind`, with `run`. */
type ActionDeclaration<Input extends z.ZodType, Output extends z.ZodType> = Omit<
  ActionDefinition<Input, Output>,
  'kind' | 'run'
> & {
  run(input: z.output<Input>, context: ActionContext): Promise<z.input<Output>>;
};

/**
 * Declares an action that runs as an activity: its id (`domain.verb`, which is also the activity type), description,
 * zod input and output schemas, examples and `run()`. The catalog, docs and save-time validation are generated from
 * this one declaration. Flow's built-in actions and teams' packs (`flow/sdk`) are declared with it alike.
 *
 * @example
 * export const postMessage = defineAction({
 *   id: 'chat.post_message',
 *   description: 'Posts a message to a chat channel.',
 *   input: z.strictObject({ channel: z.string(), text: z.string() }),
 *   output: z.object({ id: z.string() }),
 *   examples: [{ title: 'Announce a release', with: { channel: '#releases', text: 'Shipped ${{ vars.version }}' } }],
 *   // Optional for a pack's action (at least once when left out); every built-in action states it.
 *   guarantee: { level: 'at-least-once', explanation: 'A retry after a lost answer posts the message again.' },
 *   async run({ channel, text }, { deps, signal }) {
 *     // …post with deps.fetch, passing signal so a cancelled step stops waiting…
 *   },
 * });
 */
export function defineAction<Input extends z.ZodType, Output extends z.ZodType>(
  action: ActionDeclaration<Input, Output> & { readonly guarantee: ActionGuarantee },
): ActionDefinition<Input, Output> & { readonly guarantee: ActionGuarantee };
export function defineAction<Input extends z.ZodType, Output extends z.ZodType>(
  action: ActionDeclaration<Input, Output>,
): ActionDefinition<Input, Output>;
export function defineAction<Input extends z.ZodType, Output extends z.ZodType>(
  action: ActionDeclaration<Input, Output>,
): ActionDefinition<Input, Output> {
  return { ...action, kind: 'activity' };
}

/**
 * Declares a meta-action, which the interpreter runs itself through `META_ACTIONS` (common/meta-actions.ts). Only
 * ids in that table are accepted, and the input schema's output must be what the table's entry runs on, so a
 * declaration cannot validate on save and then fail at run time.
 */
export function defineMetaAction<
  Id extends MetaActionId,
  Input extends z.ZodType<MetaActionInput<Id>>,
  Output extends z.ZodType,
>(
  action: Omit<ActionDefinition<Input, Output>, 'kind' | 'run' | 'id' | 'guarantee'> & {
    readonly id: Id;
    readonly guarantee: ActionGuarantee;
  },
): ActionDefinition<Input, Output> & { readonly guarantee: ActionGuarantee } {
  if (!isMetaAction(action.id)) throw new UnknownMetaActionError([action.id]);
  return { ...action, kind: 'meta' };
}

/** Actions declared as meta-actions that the interpreter has no entry for: they would pass save and fail at run time. */
export class UnknownMetaActionError extends Error {
  constructor(readonly ids: readonly string[]) {
    super(
      `${ids.join(', ')} ${ids.length === 1 ? 'is' : 'are'} declared kind "meta", but common/meta-actions.ts runs no such ` +
        'meta-action; declare it with defineAction as an activity',
    );
    this.name = 'UnknownMetaActionError';
  }
}
