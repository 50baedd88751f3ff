import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  bundleWorkflowCode,
  type BundleOptions,
  type NativeConnection,
  Worker,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { actions as builtInActions, createActivities, type ActivityDeps, type AnyAction } from '../activities';
import { approvalNotice } from '../activities/approvals';
import {
  notifySubscribers,
  sendSubscriptionDigest,
  startSubscriptionDigest,
  type SubscriptionDeliveries,
} from '../activities/subscriptions';
import {
  acceptEvent,
  deliverToWaits,
  emitRunEvent,
  lookBackForEvent,
  notifyRun,
  startRuns,
  watchTrainHolder,
} from '../intake';
import type { FlowConfig } from '../config';
import type { DefinitionStore, SubscriptionStore, WaitStore } from '../registry';
import { trainWatchQueue } from '../common/train-types';
import { workerActions, type LoadedActionPack } from './action-packs';
import { createWorkerMetrics, metricsWorkerOptions, type WorkerMetrics } from './metrics';

/**
 * Everything a Flow worker is built from. `workers/main.ts`, the tests' harness and the bench all build their
 * workers through {@link createWorker} with this, so the wiring of the activities' dependencies exists once.
 */
export interface WorkerDeps {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  /** Starts runs and accepts `flow.emit_event`'s events, on {@link taskQueue}. */
  readonly client: Client;
  /**
   * Where the dispatcher looks up an event's definitions. Required unless {@link workflows} is false: an
   * activity-only worker runs no dispatcher.
   */
  readonly registry?: Pick<DefinitionStore, 'findForEvent'>;
  /**
   * Whether this worker runs Flow's workflows (default true). False makes an activity-only worker: one Temporal
   * worker on {@link taskQueue} with only its packs' actions (plus {@link actions} when given; no built-ins
   * otherwise), no workflow code, no internal activities and no train watcher, so a team runs its pack where its
   * credentials live. Its actions cannot emit events (`flow.emit_event`'s path needs the workflows' queue).
   */
  readonly workflows?: boolean;
  /**
   * Where `flow.wait_for_event` registers its waits and the dispatcher finds them. Without it (workers that run no
   * waits, such as the bench's), a wait step fails with `WaitsUnavailable` and dispatchers deliver to no wait.
   */
  readonly waits?: Pick<WaitStore, 'findForEvent' | 'register' | 'unregister'>;
  /**
   * Where the dispatcher finds the subscriptions bound to an event (`SubscriptionStore`) and where their notifications
   * keep their delivery records (`SubscriptionDeliveries`). Without it no event notifies anyone (and runs emit only
   * the lifecycle types definitions are bound to).
   */
  readonly subscriptions?: {
    readonly store: Pick<SubscriptionStore, 'findForEvent' | 'get'>;
    /** The delivery records and, beside them, the rate windows (`SubscriptionDeliveries.windows`). */
    readonly deliveries: Pick<SubscriptionDeliveries, 'claim' | 'update' | 'windows'>;
  };
  /** Where approvals expand their `group:<name>` approvers (`GroupStore`); without it such an approval fails. */
  readonly groups?: { readonly resolve: ActivityDeps['resolveApprovers'] };
  /** The worker's environment: the only place actions read credentials and peer URLs from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The actions this worker registers; by default every built-in action. */
  readonly actions?: readonly AnyAction[];
  /** Team packs whose actions this worker registers besides {@link actions} (`loadActionPacks` loads them). */
  readonly actionPacks?: readonly LoadedActionPack[];
  /** Replaces single dependencies of the activities (tests: a fake `fetch`, a failing lookup). */
  readonly activityOverrides?: Partial<ActivityDeps>;
  /** Where runs and step attempts are counted; by default a registry nobody serves. */
  readonly metrics?: WorkerMetrics;
  /** Workflow code bundled ahead of time (tests and the bench bundle once); by default the worker bundles it. */
  readonly workflowBundle?: WorkflowBundleWithSourceMap | { readonly codePath: string };
  /** Further worker options, such as cache sizes. */
  readonly options?: Partial<WorkerOptions>;
}

/**
 * How Flow's workflow code is bundled, wherever it is: the worker, the tests' prebuilt bundle, the bench.
 *
 * The worker keeps one V8 context and gives each cached workflow its own instance of every bundled module, so a
 * module costs memory per waiting run. The CEL library is large (its parser, type checker and function registry)
 * and holds nothing about a run: it is loaded once and shared by all of them. Everything of Flow's own, which may
 * keep per-run state, stays per workflow. Every other module is evaluated again for each workflow, so workflow code
 * imports nothing heavy (`test/workflows/bundle-contents.test.ts` lists the packages it may bundle): the definition
 * schema's zod, once bundled through a shared constant, was about a fifth of the worker's CPU per event.
 */
const flowBundleOptions = {
  workflowsPath: require.resolve('../workflows'),
  preloadModules: ['@marcbachmann/cel-js'],
};

/** Bundles Flow's workflows ahead of time (tests and the bench reuse one bundle across workers). */
export function bundleFlowWorkflows(logger?: BundleOptions['logger']): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ ...flowBundleOptions, logger });
}

/** The activities' dependencies of a worker: the real intake and registry, unless overridden. */
export function workerActivityDeps(deps: WorkerDeps): ActivityDeps {
  const intake = { client: deps.client, taskQueue: deps.taskQueue };
  return {
    env: deps.env,
    fetch: globalThis.fetch,
    emitEvent: (submission) => acceptEvent(intake, submission),
    findDefinitionsForEvent: (source, type) =>
      deps.registry?.findForEvent(source, type) ??
      Promise.reject(new Error('this worker was created without a registry (WorkerDeps.registry)')),
    startRuns: (input) => startRuns(intake, input),
    watchTrainHolder: (input, activity) => watchTrainHolder(intake, input, activity),
    notifyRun: (input) => notifyRun(intake, input),
    findWaitsForEvent: (source, type, body) => deps.waits?.findForEvent(source, type, body) ?? Promise.resolve([]),
    registerWait: (wait) => (deps.waits ? deps.waits.register(wait) : Promise.reject(waitsUnavailable())),
    unregisterWait: (wait) => deps.waits?.unregister(wait) ?? Promise.resolve(),
    deliverToWaits: (input) => deliverToWaits(intake, input),
    lookBackForEvent: (input) => lookBackForEvent(intake, input),
    // The notices use the environment and fetch the actions use, overridden or not.
    approvalNotice: (input) =>
      approvalNotice(
        { env: deps.activityOverrides?.env ?? deps.env, fetch: deps.activityOverrides?.fetch ?? globalThis.fetch },
        input,
      ),
    emitRunEvent: (input) => emitRunEvent(intake, input),
    findSubscriptionsForEvent: (source, type) =>
      deps.subscriptions?.store.findForEvent(source, type) ?? Promise.resolve([]),
    // Slack and SMTP with the environment and fetch the actions use, overridden or not; digests start on this queue.
    notifySubscribers: (input, activity) =>
      deps.subscriptions
        ? notifySubscribers(
            {
              env: deps.activityOverrides?.env ?? deps.env,
              fetch: deps.activityOverrides?.fetch ?? globalThis.fetch,
              deliveries: deps.subscriptions.deliveries,
              startDigest: (digest) => startSubscriptionDigest(intake, digest),
              ...(deps.activityOverrides?.subscriptionRate ? { rate: deps.activityOverrides.subscriptionRate } : {}),
            },
            input,
            activity,
          )
        : Promise.reject(subscriptionsUnavailable()),
    sendSubscriptionDigest: (input, activity) =>
      deps.subscriptions
        ? sendSubscriptionDigest(
            {
              env: deps.activityOverrides?.env ?? deps.env,
              fetch: deps.activityOverrides?.fetch ?? globalThis.fetch,
              store: deps.subscriptions.store,
              deliveries: deps.subscriptions.deliveries,
            },
            input,
            activity,
          )
        : Promise.reject(subscriptionsUnavailable()),
    resolveApprovers: (names) =>
      deps.groups?.resolve(names) ??
      Promise.reject(
        ApplicationFailure.nonRetryable(
          'this worker was created without a group store (WorkerDeps.groups), so it cannot expand group:<name> approvers',
          'GroupsUnavailable',
        ),
      ),
    ...deps.activityOverrides,
  };
}

function subscriptionsUnavailable(): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    'this worker was created without subscriptions (WorkerDeps.subscriptions), so it cannot notify them',
    'SubscriptionsUnavailable',
  );
}

function waitsUnavailable(): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    'this worker was created without a wait store (WorkerDeps.waits), so it cannot register flow.wait_for_event',
    'WaitsUnavailable',
  );
}

/** What an activity-only worker's actions get for `emitEvent`: its queue is not the one dispatchers run on. */
function eventsUnavailable(): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    'this worker runs only activities (FLOW_WORKER_WORKFLOWS=off), so its actions cannot emit events; emit them from a step on a Flow worker',
    'EventsUnavailable',
  );
}

/** How long after its grace a worker gives up on an activity that ignores its cancellation, and exits anyway. */
export const SHUTDOWN_FORCE_AFTER_GRACE_MS = 10_000;

/**
 * The worker options `workers/main.ts` reads from the configuration. A graceful stop: the Temporal runtime shuts the
 * worker down on SIGINT and SIGTERM; it stops polling at once, and running activities get `FLOW_SHUTDOWN_GRACE` to
 * finish before they are cancelled (their attempts then fail and Temporal retries them on another worker). Should one
 * ignore its cancellation, the worker gives up on it {@link SHUTDOWN_FORCE_AFTER_GRACE_MS} later and the process exits
 * anyway. The worker is named by its identity in Temporal. `FLOW_WORKER_MAX_ACTIVITIES` and, for a worker that runs
 * workflows, `FLOW_WORKER_CACHE_SIZE` size it; unset, the SDK's defaults apply.
 */
export function workerOptions(config: FlowConfig, kind: { workflows?: boolean } = {}): Partial<WorkerOptions> {
  const { identity, maxConcurrentActivities, maxCachedWorkflows } = config.worker;
  return {
    identity,
    shutdownGraceTime: config.shutdownGraceMs,
    shutdownForceTime: config.shutdownGraceMs + SHUTDOWN_FORCE_AFTER_GRACE_MS,
    ...(maxConcurrentActivities === undefined ? {} : { maxConcurrentActivityTaskExecutions: maxConcurrentActivities }),
    ...(maxCachedWorkflows === undefined || kind.workflows === false ? {} : { maxCachedWorkflows }),
  };
}

/** How many holders one worker process watches at once; a watcher waits on a long poll and costs almost nothing. */
const MAX_TRAIN_WATCHERS = 10_000;

/**
 * A Flow worker: the worker that runs Flow's workflows and actions on the task queue, and beside it, in the same
 * process and connection, a worker for the trains' holder watchers on a queue of their own (`trainWatchQueue`). A
 * watcher keeps its activity slot while its holder runs, so on the main worker a hundred busy trains would take every
 * slot and the holders could never run their steps.
 */
export class FlowWorker {
  constructor(
    /** Runs the workflows and every action; in an activity-only worker, its actions alone. */
    readonly worker: Worker,
    /** Runs only `watchTrainHolder`; absent in an activity-only worker, which runs no train. */
    readonly watcher?: Worker,
  ) {}

  private get workers(): Worker[] {
    return this.watcher ? [this.worker, this.watcher] : [this.worker];
  }

  /** Runs both until shutdown; when one stops (or fails), the other is shut down too. */
  async run(): Promise<void> {
    const runs = this.workers.map((worker) =>
      worker.run().finally(() => {
        this.shutdown();
      }),
    );
    await Promise.all(runs);
  }

  /** Runs both until `until` settles, then shuts them down; resolves with its value. */
  async runUntil<R>(until: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      return await (typeof until === 'function' ? until() : until);
    } finally {
      this.shutdown();
      await running;
    }
  }

  /** Asks both to stop (in-flight tasks drain); safe to call more than once. */
  shutdown(): void {
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  }
}

/**
 * Creates a Flow worker: Flow's workflows and every given action (by default the built-in ones) with the actions of
 * its packs, plus the watchers; or, with `workflows: false`, an activity-only worker (see {@link WorkerDeps.workflows}).
 */
export async function createWorker(deps: WorkerDeps): Promise<FlowWorker> {
  if (deps.workflows === false) return createActivityWorker(deps);
  if (!deps.registry) throw new Error('a worker that runs workflows needs a registry (WorkerDeps.registry)');
  const code = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : {
        workflowsPath: flowBundleOptions.workflowsPath,
        bundlerOptions: { preloadModules: flowBundleOptions.preloadModules },
      };
  const activityDeps = workerActivityDeps(deps);
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...code,
    activities: createActivities(activityDeps, workerActions(deps.actions ?? builtInActions, deps.actionPacks ?? [])),
    // Always wired: a workflow calling a sink the worker lacks makes the SDK log an error.
    ...metricsWorkerOptions(deps.metrics ?? createWorkerMetrics()),
    ...deps.options,
  });
  const { watchTrainHolder: watch } = createActivities(activityDeps, []);
  const watcher = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: trainWatchQueue(deps.taskQueue),
    activities: { watchTrainHolder: watch },
    maxConcurrentActivityTaskExecutions: MAX_TRAIN_WATCHERS,
    // Named like the main worker; no shutdown grace: a watcher waits on a long poll, so it is cancelled at once and
    // another worker's watcher takes over.
    ...(deps.options?.identity === undefined ? {} : { identity: deps.options.identity }),
  });
  return new FlowWorker(worker, watcher);
}

/**
 * An activity-only worker: its packs' actions (and {@link WorkerDeps.actions} when given) through the same activity
 * wrapper, with no Flow internals beside them. The packs are still checked against every built-in id.
 */
async function createActivityWorker(deps: WorkerDeps): Promise<FlowWorker> {
  const packs = deps.actionPacks ?? [];
  workerActions(builtInActions, packs);
  const own = [...(deps.actions ?? []), ...packs.flatMap(({ pack }) => pack.actions)];
  const activityDeps: ActivityDeps = {
    ...workerActivityDeps(deps),
    emitEvent: () => Promise.reject(eventsUnavailable()),
    ...deps.activityOverrides,
  };
  const actions = createActivities(activityDeps, own);
  // Only the actions: the internal activities (dispatcher lookups, run starts, waits) belong to the workflows' queue.
  const activities = Object.fromEntries(
    own.filter(({ kind }) => kind === 'activity').map(({ id }) => [id, actions[id]]),
  );
  const { interceptors } = metricsWorkerOptions(deps.metrics ?? createWorkerMetrics());
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    activities,
    interceptors,
    ...deps.options,
  });
  return new FlowWorker(worker);
}
