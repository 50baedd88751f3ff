import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { planWaits, type DeliverToWaitsInput, type EventLookup, type RegisteredWait } from '../../common/event-waits';
import { createExpressionEngine } from '../../common/expressions';
import { dispatchResult, planRuns } from '../../common/matching';
import {
  WORKFLOW_TYPES,
  type DefinitionSnapshot,
  type DispatchResult,
  type FlowEvent,
  type RunInput,
  type StartRunsInput,
  type StartRunsResult,
} from '../../common/run-types';
import { META_ACTIONS } from '../../common/meta-actions';
import type { LifecycleType, RunEventInput } from '../../common/run-control';
import { TRAIN_SIGNALS } from '../../common/train-types';
import * as workflows from '../../workflows';
import { flowSearchAttributes } from '../../common/search-attributes';
import {
  planSubscriptions,
  subscriptionsDispatched,
  type NotifyInput,
  type NotifyResult,
  type SubscriptionSnapshot,
} from '../../common/subscriptions';
import {
  DELIVER_TO_WAITS_PATCH,
  MARK_UNMATCHED_PATCH,
  NOTIFY_SUBSCRIBERS_PATCH,
  START_RUNS_LOCAL_PATCH,
} from '../../workflows/dispatcher';
import { createWorkerMetrics, metricsWorkerOptions } from '../../workers/metrics';
import { flowBundle } from '../support/harness';
import { localActivityMarkers } from '../support/local-activity-markers';

const dir = path.join(__dirname, 'histories');
const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;
/** The workflow type of dispatchers accepted before `dispatchEvent` (`workflows/legacy-dispatcher.ts`). */
const LEGACY_DISPATCH = 'dispatch';
/** The interpreter's patch (`workflows/interpreter.ts`) under which a cancelled step ends its run Cancelled. */
const CANCEL_STAYS_CANCELLED_PATCH = 'cancel-stays-cancelled';

describe('workflows: replay of recorded histories', () => {
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .sort()
    : [];

  const read = (file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');

  it('has recorded histories of every workflow type to replay', () => {
    // Every workflow the worker registers (the bundle's exports), so a new workflow type cannot go without one.
    const types = Object.keys(workflows);
    for (const type of [WORKFLOW_TYPES.dispatchEvent, WORKFLOW_TYPES.interpret, LEGACY_DISPATCH, 'train'])
      assert.ok(types.includes(type), `the workflows module exports ${type}`);
    for (const type of types) {
      assert.ok(
        files.some((file) => file.includes(`.${type}.`)),
        `a ${type} history`,
      );
    }
  });

  it('has a dispatchEvent history whose registry lookup is a local activity, so that path replays', () => {
    const dispatchers = files.filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`)).map(read);
    assert.ok(
      dispatchers.some(
        (text) =>
          text.includes('EVENT_TYPE_MARKER_RECORDED') &&
          text.includes('"startRuns"') &&
          !text.includes('"findDefinitionsForEvent"'),
      ),
      'a dispatchEvent that looked its definitions up in a local activity, then started runs from startRuns',
    );
  });

  it('has a dispatchEvent history whose local lookup failed and a durable activity took over, so that path replays', () => {
    const dispatchers = files.filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`)).map(read);
    assert.ok(
      dispatchers.some(
        (text) =>
          text.includes('EVENT_TYPE_MARKER_RECORDED') &&
          text.includes('"findDefinitionsForEvent"') &&
          text.includes('"startRuns"'),
      ),
      'a dispatchEvent recorded during a registry outage (scenario lookup-outage)',
    );
  });

  it("has dispatchEvent histories behind start-runs-local: runs started in the lookup's workflow task, and a failed local start the durable startRuns took over", () => {
    const dispatchers = files
      .filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`))
      .map((file) => historyFromJSON(JSON.parse(read(file))).events ?? []);
    const count = (events: readonly HistoryEvent[], type: temporal.api.enums.v1.EventType): number =>
      events.filter((event) => event.eventType === type).length;
    const local = dispatchers.filter((events) => patchesOf(events).includes(START_RUNS_LOCAL_PATCH));
    assert.ok(
      local.some(
        (events) =>
          recordedDispatch(events).startedLocally === 'completed' &&
          count(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) === 1 &&
          count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) === 0,
      ),
      'a dispatcher that started its runs in a local activity, in one workflow task (scenario start-runs-local)',
    );
    assert.ok(
      local.some(
        (events) =>
          recordedDispatch(events).startedLocally === 'failed' && recordedDispatch(events).startRuns !== undefined,
      ),
      'a dispatcher whose local startRuns failed and whose durable startRuns started the runs (start-runs-fallback)',
    );
    for (const events of dispatchers) {
      const { startedLocally, result } = recordedDispatch(events);
      if (startedLocally) assert.ok(result.matched.length > 0, 'the marker only where runs were started');
      assert.equal(patchesOf(events).includes(START_RUNS_LOCAL_PATCH), startedLocally !== undefined);
    }
  });

  it('has a run that sent an infinite result as null, from before the non-finite rule, so that path replays', () => {
    const text = read('non-finite-result.interpret.1.json');
    // Without the patch check the interpreter would fail the step where this history scheduled the activity.
    assert.ok(text.includes('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED'));
    assert.ok(!text.includes('EVENT_TYPE_MARKER_RECORDED'), 'recorded before the patch: no marker');
  });

  it('has legacy dispatch histories from both sides of the start-runs patch, so both branches replay', () => {
    const dispatchers = files.filter((file) => file.includes(`.${LEGACY_DISPATCH}.`)).map(read);
    assert.ok(
      dispatchers.some((text) => text.includes('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED')),
      'a dispatcher that started its runs as children (before the patch)',
    );
    assert.ok(
      dispatchers.some((text) => text.includes('"startRuns"') && text.includes('EVENT_TYPE_MARKER_RECORDED')),
      'a dispatcher that started its runs from the startRuns activity (after the patch)',
    );
  });

  it('has recorded runs through every meta-action, so dispatching through META_ACTIONS replays', () => {
    const actionsRun = new Set(
      files
        .filter((file) => file.includes(`.${WORKFLOW_TYPES.interpret}.`))
        .flatMap((file) => {
          const [started] = historyFromJSON(JSON.parse(read(file))).events ?? [];
          const input = decode<RunInput>(started?.workflowExecutionStartedEventAttributes?.input);
          return input.snapshot.definition.steps.map((step) => step.action);
        }),
    );
    for (const action of Object.keys(META_ACTIONS))
      assert.ok(actionsRun.has(action), `a recorded run through ${action}`);
  });

  it('has recorded runs through run control: answered by updates, on_failure after a failure and a cancel, continue_on_error, lifecycle events', () => {
    const runs = files.filter((file) => file.includes(`.${WORKFLOW_TYPES.interpret}.`));
    const inputOf = (file: string): RunInput => {
      const [started] = historyFromJSON(JSON.parse(read(file))).events ?? [];
      return decode<RunInput>(started?.workflowExecutionStartedEventAttributes?.input);
    };
    const has = (what: string, check: (text: string, input: RunInput) => boolean) =>
      assert.ok(
        runs.some((file) => check(read(file), inputOf(file))),
        what,
      );
    const cleansUp = (input: RunInput): boolean => (input.snapshot.definition.on_failure?.length ?? 0) > 0;
    has(
      'a run whose approval was answered by accepted answerApproval updates',
      (text) => text.includes('"answerApproval"') && text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED'),
    );
    has(
      'a failed run that ran its on_failure steps',
      (text, input) => cleansUp(input) && text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED'),
    );
    has(
      'a run cancelled after the cancelRun update, whose on_failure step ran',
      (text, input) =>
        cleansUp(input) &&
        text.includes('"cancelRun"') &&
        text.includes('EVENT_TYPE_ACTIVITY_TASK_COMPLETED') &&
        text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED'),
    );
    has(
      'a run cancelled while a step ran its activity, ended Cancelled behind the cancel-stays-cancelled patch (its marker), whose on_failure step ran',
      (text, input) =>
        cleansUp(input) &&
        text.includes('EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED') &&
        text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED') &&
        patchesOf(historyFromJSON(JSON.parse(text)).events ?? []).includes(CANCEL_STAYS_CANCELLED_PATCH),
    );
    has(
      'a completed run with a step that failed and continued',
      (text, input) =>
        input.snapshot.definition.steps.some((step) => step.continue_on_error) &&
        text.includes('EVENT_TYPE_ACTIVITY_TASK_FAILED') &&
        text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'),
    );
    has(
      'a run that emitted the run_started and run_completed bound when it was dispatched',
      (text, input) =>
        (['run_started', 'run_completed'] as const).every((type) => input.lifecycle?.includes(type)) &&
        text.includes('"emitRunEvent"'),
    );
  });

  it('has a recorded run with a step routed to another task queue, so routed scheduling replays', () => {
    const routed = files
      .filter((file) => file.includes(`.${WORKFLOW_TYPES.interpret}.`))
      .map((file) => historyFromJSON(JSON.parse(read(file))).events ?? [])
      .filter((events) => {
        const own = events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name;
        return events.some((event) => {
          const scheduled = event.activityTaskScheduledEventAttributes;
          return scheduled?.taskQueue?.name !== undefined && scheduled.taskQueue.name !== own;
        });
      });
    assert.ok(
      routed.some((events) =>
        events.some((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
      ),
      'a completed run whose step ran on another queue (scenario routed-step)',
    );
  });

  it('has recorded runs with local steps: in one workflow task, retried in the worker and after a timer', () => {
    const events = (file: string) => historyFromJSON(JSON.parse(read(file))).events ?? [];
    const count = (history: readonly HistoryEvent[], type: temporal.api.enums.v1.EventType): number =>
      history.filter((event) => event.eventType === type).length;
    const runOf = (scenario: string) => {
      const file = files.find((candidate) => candidate.startsWith(`${scenario}.${WORKFLOW_TYPES.interpret}.`));
      assert.ok(file, `a recorded run of scenario ${scenario}`);
      return events(file);
    };

    const local = runOf('local-steps');
    assert.deepEqual(
      localActivityMarkers(local).map(({ activityType, summary }) => [activityType, summary]),
      [
        ['http.request', 'Read the notes'],
        ['http.request', 'chat'],
        ['http.request', 'mail'],
      ],
      'three local steps, each a marker named after its step',
    );
    const remote = local.flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.deepEqual(remote, ['http.request'], 'the step with execution: remote is an activity task');
    // The local steps' task, then the one after the remote step completed.
    assert.equal(count(local, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 2);

    const retried = runOf('local-retry');
    assert.deepEqual(
      localActivityMarkers(retried).map(({ attempt, failed }) => [attempt, failed]),
      [
        [3, false],
        [1, true],
        [2, false],
      ],
      'retried twice in the worker; then a failure whose 11 s backoff is a durable timer, and the attempt after it',
    );
    assert.equal(count(retried, EventType.EVENT_TYPE_TIMER_STARTED), 1);
  });

  it('has a dispatchEvent history that delivered its event to a waiting run, and the run it woke', () => {
    const dispatchers = files.filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`)).map(read);
    assert.ok(
      dispatchers.some((text) => text.includes('"deliverToWaits"') && text.includes('EVENT_TYPE_MARKER_RECORDED')),
      'a dispatchEvent behind the deliver-to-waits patch that signalled a wait (scenario wait-for-event)',
    );
    const runs = files.filter((file) => file.includes(`.${WORKFLOW_TYPES.interpret}.`)).map(read);
    assert.ok(
      runs.some((text) => text.includes('"registerWait"') && text.includes('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED')),
      'a run woken by a delivery',
    );
  });

  it('has a dispatchEvent history that matched nothing and upserted FlowMatchedRuns = 0 behind its patch', () => {
    const dispatchers = files
      .filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`))
      .map((file) => historyFromJSON(JSON.parse(read(file))).events ?? []);
    const upserts = (events: readonly HistoryEvent[]): string[] =>
      events.flatMap((event) =>
        Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
      );
    const marked = dispatchers.filter((events) => patchesOf(events).includes(MARK_UNMATCHED_PATCH));
    assert.ok(
      marked.some((events) => upserts(events).includes(flowSearchAttributes.FlowMatchedRuns.name)),
      'a dispatcher behind the mark-unmatched patch that set FlowMatchedRuns (scenario unmatched)',
    );
    assert.ok(
      dispatchers.some(
        (events) =>
          patchesOf(events).includes(DELIVER_TO_WAITS_PATCH) &&
          !patchesOf(events).includes(MARK_UNMATCHED_PATCH) &&
          recordedDispatch(events).result.matched.length === 0,
      ),
      'a dispatcher that matched nothing from before the patch, which must replay without the upsert',
    );
    for (const events of dispatchers) {
      const matched = recordedDispatch(events).result.matched.length;
      if (matched > 0) assert.ok(!patchesOf(events).includes(MARK_UNMATCHED_PATCH), 'a matched one has no marker');
    }
  });

  it('has a dispatchEvent history that notified subscribers behind its patch, and no marker where none was bound', () => {
    const dispatchers = files
      .filter((file) => file.includes(`.${WORKFLOW_TYPES.dispatchEvent}.`))
      .map((file) => historyFromJSON(JSON.parse(read(file))).events ?? []);
    assert.ok(
      dispatchers.some(
        (events) =>
          patchesOf(events).includes(NOTIFY_SUBSCRIBERS_PATCH) && recordedDispatch(events).notify !== undefined,
      ),
      'a dispatcher that called notifySubscribers (scenario subscriptions)',
    );
    for (const events of dispatchers) {
      const found = recordedDispatch(events).subscriptions?.length ?? 0;
      assert.equal(patchesOf(events).includes(NOTIFY_SUBSCRIBERS_PATCH), found > 0, 'the marker iff a subscription');
    }
  });

  it('has a recorded train that held, queued and replaced runs, and a run that left its line unrun', () => {
    const train = files.filter((file) => file.includes('.train.')).map(read);
    assert.ok(train.some((text) => text.includes('"admit"') && text.includes('"watchTrainHolder"')));
    const runs = files.filter((file) => file.startsWith('train.interpret.')).map(read);
    assert.ok(
      runs.some((text) => text.includes('trainDequeued') && !text.includes('trainGranted')),
      'a run that was replaced while it waited',
    );
    assert.ok(
      runs.some((text) => text.includes('trainGranted')),
      'a run that was let go',
    );
  });

  it('has a recorded run superseded in its train that emitted run_superseded itself, after its dequeued notice', () => {
    const runs = files
      .filter((file) => file.includes(`.${WORKFLOW_TYPES.interpret}.`))
      .map((file) => historyFromJSON(JSON.parse(read(file))).events ?? []);
    const emitsAfterDequeued = (events: readonly HistoryEvent[]): boolean => {
      const dequeued = events.findIndex(
        (event) => event.workflowExecutionSignaledEventAttributes?.signalName === TRAIN_SIGNALS.dequeued,
      );
      if (dequeued < 0) return false;
      return events.slice(dequeued + 1).some((event) => {
        const scheduled = event.activityTaskScheduledEventAttributes;
        return (
          scheduled?.activityType?.name === 'emitRunEvent' &&
          decode<RunEventInput>(scheduled.input).type === 'run_superseded'
        );
      });
    };
    assert.ok(runs.some(emitsAfterDequeued), 'a run that emitted run_superseded after trainDequeued');
  });

  it("recomputes every recorded dispatcher's runs and result from its recorded event and lookup, legacy ones included", () => {
    const dispatchers = files.filter((file) => /\.(dispatch|dispatchEvent)\.\d+\.json$/.test(file));
    assert.ok(dispatchers.length > 0);
    for (const file of dispatchers) {
      const recorded = recordedDispatch(historyFromJSON(JSON.parse(read(file))).events ?? []);
      const engine = createExpressionEngine();
      const plan = planRuns(recorded.event, recorded.snapshots, engine, recorded.lifecycle);
      const waits =
        recorded.waits && recorded.waits.length > 0
          ? planWaits(engine, recorded.event.body, recorded.waits)
          : undefined;
      const subscriptions =
        recorded.subscriptions && recorded.subscriptions.length > 0
          ? planSubscriptions(engine, recorded.event, recorded.subscriptions)
          : undefined;
      assert.deepEqual(
        {
          ...dispatchResult(recorded.event, plan, recorded.started),
          ...(waits ? { waits } : {}),
          ...(subscriptions ? { subscriptions: subscriptionsDispatched(subscriptions, recorded.notified) } : {}),
        },
        recorded.result,
        `${file}: the result`,
      );
      assert.deepEqual(
        recorded.notify,
        subscriptions?.notify.length ? { event: recorded.event, subscriptions: subscriptions.notify } : undefined,
        `${file}: the notifications`,
      );
      assert.deepEqual(
        recorded.deliveries?.targets,
        waits?.delivered.length ? waits.delivered : undefined,
        `${file}: the deliveries`,
      );
      if (recorded.startRuns) assert.deepEqual(recorded.startRuns, { event: recorded.event, runs: plan.runs }, file);
      // A local activity's marker records its result, not its input: the runs it started are in the result above.
      else if (recorded.startedLocally) assert.deepEqual(recorded.children, [], file);
      else
        assert.deepEqual(
          recorded.children,
          plan.runs.map((run) => run.workflowId),
          `${file}: the child runs`,
        );
    }
  });

  for (const file of files) {
    it(`replays ${file} without nondeterminism`, async () => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
      const results = [];
      const metrics = createWorkerMetrics();
      const options = { workflowBundle: await flowBundle(), ...metricsWorkerOptions(metrics) };
      for await (const result of Worker.runReplayHistories(options, [{ workflowId: file, history }])) {
        results.push(result);
      }
      assert.equal(results.length, 1);
      assert.equal(results[0]?.error, undefined, String(results[0]?.error));
      // Replaying a run must not count it again.
      for (const counter of [metrics.runsStarted, metrics.runsCompleted, metrics.runsFailed]) {
        assert.deepEqual((await counter.get()).values, []);
      }
    });
  }
});

/** The first value in a recorded payload list. */
function decode<T>(payloads: Payloads): T {
  return defaultPayloadConverter.fromPayload<T>(payloads!.payloads![0]!);
}

/** The ids of the patches whose markers a history recorded. */
function patchesOf(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data'] : undefined;
    return data ? [decode<{ id: string }>(data).id] : [];
  });
}

/** What a recorded dispatcher received, looked up, started and returned; activity inputs are not checked by replay. */
function recordedDispatch(events: readonly HistoryEvent[]): {
  event: FlowEvent;
  snapshots: DefinitionSnapshot[];
  /** The waits the lookup found, for dispatchers behind the deliver-to-waits patch. */
  waits?: RegisteredWait[];
  /** The lifecycle types the lookup found bound, which each planned run carries. */
  lifecycle?: LifecycleType[];
  result: DispatchResult;
  startRuns?: StartRunsInput;
  /** What `startRuns` answered: for runs with a concurrency group, what each train said. */
  started?: StartRunsResult;
  /** Whether the local `startRuns` (behind start-runs-local) completed or failed, when there was one. */
  startedLocally?: 'completed' | 'failed';
  deliveries?: DeliverToWaitsInput;
  /** The subscriptions the lookup found, for dispatchers behind the notify-subscribers patch. */
  subscriptions?: SubscriptionSnapshot[];
  /** What `notifySubscribers` was asked and answered. */
  notify?: NotifyInput;
  notified?: NotifyResult;
  children: string[];
} {
  const scheduled = new Map(events.map((event) => [String(event.eventId), event.activityTaskScheduledEventAttributes]));
  let snapshots: DefinitionSnapshot[] | undefined;
  let startRuns: StartRunsInput | undefined;
  let startAnswer: StartRunsResult | undefined;
  let startedLocally: 'completed' | 'failed' | undefined;
  let waits: RegisteredWait[] | undefined;
  let lifecycle: LifecycleType[] | undefined;
  let deliveries: DeliverToWaitsInput | undefined;
  let subscriptions: SubscriptionSnapshot[] | undefined;
  let notify: NotifyInput | undefined;
  let notified: NotifyResult | undefined;
  const lookedUp = (lookup: EventLookup): void => {
    snapshots = lookup.definitions;
    waits = lookup.waits;
    lifecycle = lookup.lifecycle;
    subscriptions = lookup.subscriptions;
  };
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const local = marker?.details?.['data'] ? decode<{ activity_type?: string }>(marker.details['data']) : undefined;
    // A failed local activity's marker has no result.
    const localResult = marker?.details?.['result'];
    if (localResult && local?.activity_type === 'findDefinitionsForEvent') snapshots = decode(localResult);
    if (localResult && local?.activity_type === 'lookUpEvent') lookedUp(decode(localResult));
    if (local?.activity_type === 'startRuns') {
      startedLocally = localResult ? 'completed' : 'failed';
      if (localResult) startAnswer = decode(localResult);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const type = scheduled.get(String(completed?.scheduledEventId))?.activityType?.name;
    if (completed && type === 'findDefinitionsForEvent') snapshots = decode(completed.result);
    if (completed && type === 'lookUpEvent') lookedUp(decode(completed.result));
    if (completed && type === 'startRuns') startAnswer = decode(completed.result);
    if (completed && type === 'notifySubscribers') notified = decode(completed.result);
    const started = event.activityTaskScheduledEventAttributes;
    if (started?.activityType?.name === 'startRuns') startRuns = decode(started.input);
    if (started?.activityType?.name === 'deliverToWaits') deliveries = decode(started.input);
    if (started?.activityType?.name === 'notifySubscribers') notify = decode(started.input);
  }
  const find = (type: temporal.api.enums.v1.EventType): HistoryEvent[] =>
    events.filter((event) => event.eventType === type);
  const [first] = find(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const [last] = find(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  assert.ok(snapshots, 'a completed registry lookup');
  return {
    event: decode(first?.workflowExecutionStartedEventAttributes?.input),
    snapshots,
    result: decode(last?.workflowExecutionCompletedEventAttributes?.result),
    ...(startRuns ? { startRuns } : {}),
    ...(startAnswer ? { started: startAnswer } : {}),
    ...(startedLocally ? { startedLocally } : {}),
    ...(waits ? { waits } : {}),
    ...(lifecycle ? { lifecycle } : {}),
    ...(deliveries ? { deliveries } : {}),
    ...(subscriptions ? { subscriptions } : {}),
    ...(notify ? { notify } : {}),
    ...(notified ? { notified } : {}),
    children: find(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED).map(
      (event) => event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '',
    ),
  };
}
