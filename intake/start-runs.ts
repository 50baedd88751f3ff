import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { mapLimit } from '../common/map-limit';
import type { LifecycleBody, RunEventInput } from '../common/run-control';
import { runSearchAttributes } from '../common/search-attributes';
import {
  dispatchWorkflowId,
  runSummary,
  type FlowEvent,
  type PlannedRun,
  type RejectedRun,
  type StartRunsInput,
  type StartRunsResult,
  type TrainAdmission,
} from '../common/run-types';
import { trainWorkflowId } from '../common/train-types';
import { emitRunEvent } from './lifecycle-events';
import { admitToTrain } from './trains';
import { startFlowWorkflow, type StartableWorkflows } from './workflow-starts';

/**
 * How many starts are in flight at once. Each is one request on the client's one HTTP/2 connection, so the limit
 * only keeps an event with thousands of runs from queueing thousands of requests at the server at once.
 */
const PARALLEL_STARTS = 200;

/**
 * How many start requests are built and sent in one turn of the event loop. Unpaced, every request (each with its
 * definition's snapshot) is built before the first one is sent: on a loaded machine the first run of a fan-out to 100
 * started 80-160 ms after the activity began. Ten a turn, the first starts within about 8 ms while the server starts
 * those as the worker builds the rest; the time until the last run started was the same within the benchmark's noise
 * (bench `fanout`, phases `toFirstStart` and `starts`; one a turn was slower).
 */
const STARTS_PER_TURN = 10;

/** What starting runs needs: a client and the task queue the runs go to. */
export interface RunStarterDeps {
  readonly client: Client;
  readonly taskQueue: string;
}

/**
 * Starts one interpreter run per matched definition, in parallel, for the dispatcher's `startRuns` activity.
 *
 * Each run's id is fixed by its definition and event, and a second start of the same id is refused while the run is
 * open and after it closed (conflict policy FAIL, reuse policy REJECT_DUPLICATE). So an activity retried after a
 * partial attempt starts only the runs still missing, and no run ever starts twice for one event. The dispatcher
 * relies on it: its first attempt is a local activity, and when that fails the durable activity is this retry.
 *
 * A run whose definition declares `concurrency` is first admitted by its group's train (`trains.ts`); the train may
 * refuse it (busy with `when_busy: reject`, or full), and then it is not started. Admission is idempotent, so a retry
 * gets the same answers.
 *
 * What a train answered is a run lifecycle event when the run's `lifecycle` lists its type: `run_queued` and
 * `run_rejected` (`run_superseded` is emitted by the superseded run itself, when its train tells it). They are
 * emitted here, in the activity, so they add nothing to the dispatcher's history, and a retried attempt emits none twice (each has its
 * idempotency key, see `lifecycle-events.ts`).
 *
 * A run is not a child of the dispatcher: the server records child starts one at a time, each in a workflow task of
 * its own, so 100 children took 18 s where 100 plain starts take 1 s. The run names its event and dispatcher in its
 * details instead, and carries the event id as a search attribute.
 */
export async function startRuns(deps: RunStarterDeps, input: StartRunsInput): Promise<StartRunsResult> {
  const { event } = input;
  // Runs with a group enter their train first, one after another in plan order, so that two definitions sharing a
  // group queue in a fixed order. A run its train refuses is not started.
  const trains: Record<string, TrainAdmission | RejectedRun> = {};
  // Each admission's lifecycle events are sent at once, without holding up the next admission; awaited below.
  const emitting: Promise<void>[] = [];
  for (const run of input.runs) {
    if (!run.train) continue;
    const { definition, revision } = run.snapshot;
    const admission = await admitToTrain(deps, run.train.group, {
      workflowId: run.workflowId,
      eventId: event.id,
      definition: definition.id,
      whenBusy: run.train.whenBusy,
      maxQueue: run.train.maxQueue,
    });
    const answer: TrainAdmission | RejectedRun = admission.admitted
      ? { group: run.train.group, ...admission.answer }
      : {
          definition: definition.id,
          revision,
          workflowId: run.workflowId,
          group: run.train.group,
          reason: admission.reason,
          ...(admission.holder === undefined ? {} : { holder: admission.holder }),
        };
    trains[run.workflowId] = answer;
    if (run.lifecycle !== undefined && run.lifecycle.length > 0) {
      const emission = emitTrainEvents(deps, event, run, answer);
      // Handled by the Promise.all below; this keeps a failure from counting as unhandled until then.
      emission.catch(() => undefined);
      emitting.push(emission);
    }
  }
  const admitted = input.runs.filter((run) => !(trains[run.workflowId] && 'reason' in trains[run.workflowId]!));
  // A start that fails does not stop the others: the attempt fails once every start was tried, so the next attempt
  // (the durable activity after the dispatcher's local one) has only the failed ones left and races none in flight.
  const starting = mapLimit(
    admitted,
    PARALLEL_STARTS,
    async (run) => {
      try {
        await startFlowWorkflow(deps.client, 'interpret', runStartOptions(run, event, deps.taskQueue));
        return 'started' as const;
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return 'alreadyStarted' as const;
        return { failed: error };
      }
    },
    { callsPerTurn: STARTS_PER_TURN },
  );
  const [outcomes] = await Promise.all([starting, Promise.all(emitting)]);
  const failure = outcomes.find((outcome) => typeof outcome === 'object');
  if (failure) throw failure.failed;
  const started = outcomes.filter((outcome) => outcome === 'started').length;
  return {
    started,
    alreadyStarted: outcomes.length - started,
    ...(Object.keys(trains).length > 0 ? { trains } : {}),
  };
}

/**
 * How a run is started: its fixed id with the dedupe policies (see {@link startRuns}), its input (the snapshot, the
 * event, and its train and lifecycle types when it has them), and what the UI lists and filters it by. The bench
 * starts the same way for comparison.
 */
export function runStartOptions(
  run: PlannedRun,
  event: FlowEvent,
  taskQueue: string,
): WorkflowStartOptions<StartableWorkflows['interpret']> {
  const { workflowId, snapshot, train, lifecycle } = run;
  const { definition, revision } = snapshot;
  return {
    workflowId,
    taskQueue,
    args: [
      {
        snapshot,
        event,
        ...(train ? { train: { group: train.group, workflowId: trainWorkflowId(train.group) } } : {}),
        ...(lifecycle !== undefined && lifecycle.length > 0 ? { lifecycle } : {}),
      },
    ],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary: runSummary(definition.name, revision, event),
    staticDetails: runDetails(definition.description, event),
    typedSearchAttributes: runSearchAttributes(definition.id, revision, event),
  };
}

/** The run's details in the UI: the definition's description, then which event and dispatcher started it. */
function runDetails(description: string | undefined, event: FlowEvent): string {
  const origin = `Started for event \`${event.id}\` (${event.source}/${event.type}) by \`${dispatchWorkflowId(event.id)}\`.`;
  return description ? `${description}\n\n${origin}` : origin;
}

/**
 * The lifecycle events of one run's train admission, of the types its `lifecycle` lists: `run_rejected` (with the
 * event the run was for, since the run never starts) and `run_queued`.
 */
async function emitTrainEvents(
  deps: RunStarterDeps,
  event: FlowEvent,
  run: PlannedRun,
  answer: TrainAdmission | RejectedRun,
): Promise<void> {
  const bound = new Set(run.lifecycle);
  const causation = { rootEventId: event.causation.rootEventId, depth: event.causation.depth };
  const body = {
    definition: run.snapshot.definition.id,
    revision: run.snapshot.revision,
    workflowId: run.workflowId,
    eventId: event.id,
    group: answer.group,
    ...(answer.holder === undefined ? {} : { holder: answer.holder }),
    ...(event.actor === undefined ? {} : { actor: event.actor }),
  };
  const events: RunEventInput[] = [];
  if ('reason' in answer) {
    if (bound.has('run_rejected'))
      events.push({
        type: 'run_rejected',
        causation,
        body: { ...body, status: 'rejected', trigger: triggerOf(event) },
      });
  } else {
    if (answer.outcome === 'queued' && bound.has('run_queued'))
      events.push({ type: 'run_queued', causation, body: { ...body, status: 'queued' } });
  }
  await Promise.all(events.map((input) => emitRunEvent(deps, input)));
}

/** The event a rejected run was for, as `run_rejected` carries it: its body's top-level strings and finite numbers. */
function triggerOf(event: FlowEvent): NonNullable<LifecycleBody['trigger']> {
  const fields = Object.entries(event.body).filter(
    (entry): entry is [string, string | number] =>
      typeof entry[1] === 'string' || (typeof entry[1] === 'number' && Number.isFinite(entry[1])),
  );
  // fromEntries defines own properties, so a field named `__proto__` stays a field.
  return { source: event.source, type: event.type, body: Object.fromEntries(fields) };
}
