/**
 * Activities: the only place where actions touch the outside world. Every action in `catalog.ts` becomes one
 * activity whose type is the action id. `createActivities(deps)` builds them from their dependencies, so tests wire
 * fakes of the same type (`ReturnType<typeof createActivities>`).
 */
import { Context } from '@temporalio/activity';
import type {
  DeliverToWaitsInput,
  EventLookup,
  LookBackInput,
  LookedBackEvent,
  WaitRegistration,
} from '../common/event-waits';
import type { ResolvedApprovers } from '../common/approver-groups';
import type { ApprovalNoticeInput, NoticeReceipt, RunEventInput } from '../common/run-control';
import type { DefinitionSnapshot, FlowEvent, StartRunsInput, StartRunsResult } from '../common/run-types';
import type { NotifyInput, NotifyResult } from '../common/subscriptions';
import type { DigestInput, DigestResult } from './subscriptions/rate';
import type { DequeuedNotice } from '../common/train-types';
import { LifecycleBindings } from '../registry/lifecycle-bindings';
import { actionAttempt } from './action-attempt';
import { actions, checkMetaActions } from './catalog';
import { keptAlive, withKeepAlive } from './keep-alive';
import type { AnyAction, StepMeta } from './define-action';
import type { ActionDeps, RegistryDeps } from './deps';

export { actions, actionsById, checkMetaActions, META_ACTION_INPUTS_FILE, metaActionInputs } from './catalog';
export { defineAction, defineMetaAction } from './define-action';
export { describeActions, renderActionDocs } from './describe-actions';
export type { ActionDescription } from './describe-actions';
export type { ActionContext, ActionDefinition, ActionExample, AnyAction, StepMeta } from './define-action';
export type { ActionDeps, RegistryDeps } from './deps';
export { MAX_EVENT_DEPTH } from './actions/flow-emit-event';
export { FailureType, failureForStatus, missingConfiguration, peerUnreachable, requireEnv } from './failures';

/** An activity implementing one action: the rendered `with` plus where the step runs. */
export type ActionActivity = (input: unknown, step: StepMeta) => Promise<unknown>;

/** Dependencies of all activities. */
export type ActivityDeps = ActionDeps & RegistryDeps;

/** Internal activities of the dispatcher; their names are not action ids, so definitions cannot call them. */
export interface InternalActivities {
  findDefinitionsForEvent(source: string, type: string): Promise<DefinitionSnapshot[]>;
  /** Starts one interpreter run per match; idempotent, so it may be retried (see `intake/start-runs.ts`). */
  startRuns(input: StartRunsInput): Promise<StartRunsResult>;
  /**
   * Grants a train to its holder and resolves when the holder closes, however it closes (see `intake/trains.ts`).
   * `status` is the close status; absent when the run never started.
   */
  watchTrainHolder(input: { workflowId: string; group: string }): Promise<{ status?: string }>;
  /** Tells a waiting run that it left its train's queue without running. */
  notifyRun(input: { workflowId: string } & DequeuedNotice): Promise<void>;
  /**
   * The dispatcher's lookup since `deliver-to-waits`: the definitions bound to the event, the waits its fields key,
   * and the lifecycle types its runs emit.
   */
  lookUpEvent(event: FlowEvent): Promise<EventLookup>;
  /** Signals an event to the waits the dispatcher matched; reports the runs that had closed. */
  deliverToWaits(input: DeliverToWaitsInput): Promise<{ closed: string[] }>;
  /** Registers a step's wait where the dispatchers of matching events find it (idempotent). */
  registerWait(input: WaitRegistration): Promise<void>;
  /** Removes a wait that ended. */
  unregisterWait(input: WaitRegistration): Promise<void>;
  /** Finds the oldest matching event whose dispatcher started since the run did (see `intake/event-waits.ts`). */
  lookBackForEvent(input: LookBackInput): Promise<LookedBackEvent | undefined>;
  /** Posts an approval's request, reminder or outcome; returns where the request was posted. */
  approvalNotice(input: ApprovalNoticeInput): Promise<NoticeReceipt>;
  /** Emits one run lifecycle event (source `flow`), deduplicated per run and transition. */
  emitRunEvent(input: RunEventInput): Promise<void>;
  /**
   * Expands an approval's `group:<name>` approvers to the members the registry holds now; a group that does not
   * exist is missing from `groups`. The approval keeps what this returns (see `workflows/approval.ts`).
   */
  resolveApprovers(names: string[]): Promise<ResolvedApprovers>;
  /**
   * Notifies the subscriptions the dispatcher decided to notify of its event, exactly once per subscription and
   * event through delivery records (`activities/subscriptions/notify.ts`); what failed for good is in `failed`.
   */
  notifySubscribers(input: NotifyInput): Promise<NotifyResult>;
  /**
   * Sends one subscription's digest of a minute: how many notifications its rate limit held back, once, through the
   * delivery record `digest/<subscription>/<minute>` (`activities/subscriptions/digest.ts`; the `subscriptionDigest`
   * workflow calls it when the minute is over).
   */
  sendSubscriptionDigest(input: DigestInput): Promise<DigestResult>;
}

/**
 * Builds every activity a worker registers: one per action of `actionList` (by default every built-in action), plus
 * the dispatcher's internal ones.
 */
export function createActivities(
  deps: ActivityDeps,
  actionList: readonly AnyAction[] = actions,
): Record<string, (...args: never[]) => Promise<unknown>> {
  checkMetaActions(actionList);
  const byAction: Record<string, ActionActivity> = {};
  for (const action of actionList) {
    if (action.kind === 'activity') byAction[action.id] = actionActivity(action, deps);
  }
  // One cached reading of the lifecycle bindings per worker: see `registry/lifecycle-bindings.ts`.
  // Subscriptions to outcomes count as bound (docs/subscriptions.md).
  const lifecycle = new LifecycleBindings((source, type) => deps.findDefinitionsForEvent(source, type), {
    subscriptions: (source, type) => deps.findSubscriptionsForEvent(source, type),
  });
  const internal: InternalActivities = {
    findDefinitionsForEvent: (source, type) => deps.findDefinitionsForEvent(source, type),
    startRuns: (input) => deps.startRuns(input),
    watchTrainHolder: (input) => {
      const context = Context.current();
      return deps.watchTrainHolder(input, {
        heartbeat: () => context.heartbeat(),
        signal: context.cancellationSignal,
      });
    },
    notifyRun: (input) => deps.notifyRun(input),
    lookUpEvent: async (event) => {
      const [definitions, waits, bound, subscriptions] = await Promise.all([
        deps.findDefinitionsForEvent(event.source, event.type),
        deps.findWaitsForEvent(event.source, event.type, event.body),
        lifecycle.bound(),
        deps.findSubscriptionsForEvent(event.source, event.type),
      ]);
      return {
        definitions,
        waits,
        ...(bound.length > 0 ? { lifecycle: bound } : {}),
        // Absent when none, so lookups look as they did before subscriptions.
        ...(subscriptions.length > 0 ? { subscriptions } : {}),
      };
    },
    deliverToWaits: (input) => deps.deliverToWaits(input),
    registerWait: (input) => deps.registerWait(input),
    unregisterWait: (input) => deps.unregisterWait(input),
    lookBackForEvent: (input) => deps.lookBackForEvent(input),
    approvalNotice: (input) => deps.approvalNotice(input),
    emitRunEvent: (input) => deps.emitRunEvent(input),
    resolveApprovers: (names) => deps.resolveApprovers(names),
    notifySubscribers: (input) => {
      const context = Context.current();
      return deps.notifySubscribers(input, {
        heartbeat: () => context.heartbeat(),
        signal: context.cancellationSignal,
      });
    },
    sendSubscriptionDigest: (input) => {
      const context = Context.current();
      return deps.sendSubscriptionDigest(input, {
        heartbeat: () => context.heartbeat(),
        signal: context.cancellationSignal,
      });
    },
  };
  return { ...byAction, ...keepInternalAlive(internal) };
}

/**
 * The activity that runs one action: its attempt ({@link actionAttempt}) inside the activity's context, kept alive
 * ({@link withKeepAlive}) with the last details the action heartbeated, as scrubbed.
 */
export function actionActivity(action: AnyAction, deps: ActionDeps): ActionActivity {
  const attempt = actionAttempt(action, deps);
  return (rawInput, step) => {
    const context = Context.current();
    return withKeepAlive((heartbeat) =>
      attempt(rawInput, step, {
        heartbeat,
        lastHeartbeat: context.info.heartbeatDetails,
        signal: context.cancellationSignal,
        attempt: context.info.attempt,
      }),
    );
  };
}

/**
 * Internal activities that heartbeat themselves: the watcher, the notifications and digests beat on their own, and
 * `approvalNotice` records its progress as its heartbeat's details, which a keep-alive's beats would overwrite.
 */
const SELF_HEARTBEATING = new Set<keyof InternalActivities>([
  'watchTrainHolder',
  'notifySubscribers',
  'sendSubscriptionDigest',
  'approvalNotice',
]);

/**
 * Every other internal activity with a keep-alive ({@link keptAlive}), so that one whose worker dies is retried after
 * its heartbeat timeout rather than its start-to-close timeout: `startRuns` and the lookups among them.
 */
function keepInternalAlive(internal: InternalActivities): InternalActivities {
  const entries = Object.entries(internal) as [keyof InternalActivities, (...args: unknown[]) => Promise<unknown>][];
  return Object.fromEntries(
    entries.map(([name, activity]) => [name, SELF_HEARTBEATING.has(name) ? activity : keptAlive(activity)]),
  ) as unknown as InternalActivities;
}
