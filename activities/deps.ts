import type {
  DeliverToWaitsInput,
  LookBackInput,
  LookedBackEvent,
  RegisteredWait,
  WaitRegistration,
} from '../common/event-waits';
import type { ResolvedApprovers } from '../common/approver-groups';
import type { ApprovalNoticeInput, NoticeReceipt, RunEventInput } from '../common/run-control';
import type { DefinitionSnapshot, StartRunsInput, StartRunsResult } from '../common/run-types';
import type { NotifyInput, NotifyResult, SubscriptionSnapshot } from '../common/subscriptions';
import type { DigestInput, DigestResult, RateSettings } from './subscriptions/rate';
import type { DequeuedNotice } from '../common/train-types';
import type { AcceptedEvent, ActivityControl, EventSubmission } from '../intake';

/** What actions may use from the outside world; `workers/main.ts` wires the real ones, tests their own. */
export interface ActionDeps {
  /** The worker's environment: the only place credentials come from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
  /** Accepts an event through the same durable intake as the gateway. */
  readonly emitEvent: (submission: EventSubmission) => Promise<AcceptedEvent>;
}

/** What the dispatcher's internal activities need. */
export interface RegistryDeps {
  readonly findDefinitionsForEvent: (source: string, type: string) => Promise<DefinitionSnapshot[]>;
  /** Starts the matched runs on the worker's task queue (`startRuns` from `intake`). */
  readonly startRuns: (input: StartRunsInput) => Promise<StartRunsResult>;
  /** Grants a train to its holder and waits for the holder's close (`watchTrainHolder` from `intake`). */
  readonly watchTrainHolder: (
    input: { workflowId: string; group: string },
    activity: ActivityControl,
  ) => Promise<{ status?: string }>;
  /** Tells a waiting run it left its train's queue (`notifyRun` from `intake`). */
  readonly notifyRun: (input: { workflowId: string } & DequeuedNotice) => Promise<void>;
  /** The live waits keyed by an event's fields (`WaitStore.findForEvent` in `registry`). */
  readonly findWaitsForEvent: (
    source: string,
    type: string,
    body: Readonly<Record<string, unknown>>,
  ) => Promise<RegisteredWait[]>;
  /** Registers a wait (`WaitStore.register`). */
  readonly registerWait: (wait: WaitRegistration) => Promise<void>;
  /** Removes a wait that ended (`WaitStore.unregister`). */
  readonly unregisterWait: (wait: WaitRegistration) => Promise<void>;
  /** Signals an event to matched waits (`deliverToWaits` from `intake`). */
  readonly deliverToWaits: (input: DeliverToWaitsInput) => Promise<{ closed: string[] }>;
  /** Looks for a matching event that came before the wait registered (`lookBackForEvent` from `intake`). */
  readonly lookBackForEvent: (input: LookBackInput) => Promise<LookedBackEvent | undefined>;
  /** Posts an approval's request, reminder or outcome to its Slack channel and Jira issue (`activities/approvals`). */
  readonly approvalNotice: (input: ApprovalNoticeInput) => Promise<NoticeReceipt>;
  /** Emits one run lifecycle event through the intake, once per run and transition (`emitRunEvent` from `intake`). */
  readonly emitRunEvent: (input: RunEventInput) => Promise<void>;
  /** Expands the `group:<name>` entries of an approval's approvers to the groups' members (`GroupStore.resolve`). */
  readonly resolveApprovers: (approvers: readonly string[]) => Promise<ResolvedApprovers>;
  /** The subscriptions bound to an event's key (`SubscriptionStore.findForEvent`); none without a store. */
  readonly findSubscriptionsForEvent: (source: string, type: string) => Promise<SubscriptionSnapshot[]>;
  /** Notifies the subscriptions the dispatcher decided to notify, once each (`activities/subscriptions`). */
  readonly notifySubscribers: (input: NotifyInput, activity: ActivityControl) => Promise<NotifyResult>;
  /** Sends a subscription's digest of a minute its rate limit held notifications back in (`activities/subscriptions`). */
  readonly sendSubscriptionDigest: (input: DigestInput, activity: ActivityControl) => Promise<DigestResult>;
  /**
   * The subscriptions' rate windows and digest grace (`RateSettings`); production's by default (a minute, 5 s). Tests
   * shorten them; the code path is the same.
   */
  readonly subscriptionRate?: RateSettings;
}
