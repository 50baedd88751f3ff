import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** What one workflow history says about a run; times are epoch milliseconds on the server's clock. */
export interface HistoryFacts {
  readonly workflowId: string;
  readonly events: number;
  /** Event counts by type, such as `ActivityTaskScheduled: 10`. */
  readonly byType: Readonly<Record<string, number>>;
  /** Workflow tasks the worker completed. */
  readonly workflowTasks: number;
  /** Markers (side effects, local activities, versions): the interpreter should add none. */
  readonly markers: number;
  readonly startedAt: number;
  /** When the run closed; undefined while it is open. */
  readonly closedAt?: number;
  /** Time the worker spent in workflow tasks: the sum of WorkflowTaskStarted → WorkflowTaskCompleted. */
  readonly workflowTaskMs: number;
  /** Time in activities, from being scheduled (so including the wait for a worker) to completing. */
  readonly activityMs: number;
  readonly activities: number;
  /** Activity durations by activity type, summed. */
  readonly activityMsByType: Readonly<Record<string, number>>;
  /**
   * Local activities by activity type: the summed duration of the workflow tasks that ran them (WorkflowTaskStarted →
   * WorkflowTaskCompleted). History has no exact time for a local activity, so this is an upper bound: it includes
   * the rest of that workflow task.
   */
  readonly localActivityMsByType: Readonly<Record<string, number>>;
  /** When each child workflow was reported started, in history order. */
  readonly childrenStartedAt: readonly number[];
  /** Whether a timer was started, so the run is waiting on it. */
  readonly timers: number;
}

/** Fetches a workflow's history and extracts the facts the scenarios report. */
export async function historyFacts(client: Client, workflowId: string, runId?: string): Promise<HistoryFacts> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return factsOf(workflowId, history.events ?? []);
}

/** Extracts the facts from a list of history events. */
export function factsOf(workflowId: string, events: readonly HistoryEvent[]): HistoryFacts {
  const timeOf = new Map<number, number>();
  const activityTypeOf = new Map<number, string>();
  const byType: Record<string, number> = {};
  const activityMsByType: Record<string, number> = {};
  const localActivityMsByType: Record<string, number> = {};
  const taskStartedOf = new Map<number, number>();
  const childrenStartedAt: number[] = [];
  let startedAt: number | undefined;
  let closedAt: number | undefined;
  let workflowTasks = 0;
  let workflowTaskMs = 0;
  let activityMs = 0;
  let activities = 0;
  for (const event of events) {
    const id = toNumber(event.eventId);
    const at = timestampMs(event.eventTime);
    timeOf.set(id, at);
    const type = event.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED;
    const name = eventTypeName(type);
    byType[name] = (byType[name] ?? 0) + 1;
    switch (type) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        startedAt = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        closedAt = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        workflowTasks++;
        const started = timeOf.get(toNumber(event.workflowTaskCompletedEventAttributes?.startedEventId));
        if (started !== undefined) {
          workflowTaskMs += at - started;
          taskStartedOf.set(id, started);
        }
        break;
      }
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const attributes = event.markerRecordedEventAttributes;
        const activityType =
          attributes?.markerName === LOCAL_ACTIVITY_MARKER ? localActivityType(attributes) : undefined;
        const completedId = toNumber(attributes?.workflowTaskCompletedEventId);
        const taskStarted = taskStartedOf.get(completedId);
        const taskCompleted = timeOf.get(completedId);
        if (activityType !== undefined && taskStarted !== undefined && taskCompleted !== undefined)
          localActivityMsByType[activityType] =
            (localActivityMsByType[activityType] ?? 0) + (taskCompleted - taskStarted);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        activityTypeOf.set(id, event.activityTaskScheduledEventAttributes?.activityType?.name ?? 'unknown');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const scheduledId = toNumber(event.activityTaskCompletedEventAttributes?.scheduledEventId);
        const scheduled = timeOf.get(scheduledId);
        if (scheduled !== undefined) {
          activities++;
          activityMs += at - scheduled;
          const activityType = activityTypeOf.get(scheduledId) ?? 'unknown';
          activityMsByType[activityType] = (activityMsByType[activityType] ?? 0) + (at - scheduled);
        }
        break;
      }
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        childrenStartedAt.push(at);
        break;
      default:
        break;
    }
  }
  if (startedAt === undefined) throw new Error(`the history of ${workflowId} has no WorkflowExecutionStarted event`);
  return {
    workflowId,
    events: events.length,
    byType,
    workflowTasks,
    markers: byType['MarkerRecorded'] ?? 0,
    startedAt,
    ...(closedAt === undefined ? {} : { closedAt }),
    workflowTaskMs,
    activityMs,
    activities,
    activityMsByType,
    localActivityMsByType,
    childrenStartedAt,
    timers: byType['TimerStarted'] ?? 0,
  };
}

/** The marker Temporal's Core SDK records for a local activity. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The activity type in a local activity marker's `data` payload (JSON written by Core). */
function localActivityType(attributes: temporal.api.history.v1.IMarkerRecordedEventAttributes): string | undefined {
  const data = attributes.details?.['data']?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: unknown };
    return typeof parsed.activity_type === 'string' ? parsed.activity_type : undefined;
  } catch {
    return undefined;
  }
}

/** The dispatcher's registry lookups: definitions and waits together, and definitions alone in older dispatchers. */
const LOOKUP_TYPES = ['lookUpEvent', 'findDefinitionsForEvent'] as const;

/**
 * The dispatcher's registry lookup: its local activity (the workflow task that ran it), plus the durable activity
 * that takes over when the local one failed.
 */
export function lookupMs(facts: HistoryFacts): number {
  return LOOKUP_TYPES.reduce(
    (sum, type) => sum + (facts.localActivityMsByType[type] ?? 0) + (facts.activityMsByType[type] ?? 0),
    0,
  );
}

/**
 * History events per step: every event except the five any workflow has (started, the first workflow task's three
 * events, and the close), divided by the steps. A hand-written workflow that calls one activity per step has 6.
 */
export function eventsPerStep(facts: HistoryFacts, steps: number): number {
  return (facts.events - 5) / steps;
}

/** `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` → `ActivityTaskScheduled`. */
function eventTypeName(type: temporal.api.enums.v1.EventType): string {
  const raw = EventType[type] ?? `EVENT_TYPE_${String(type)}`;
  return raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z0-9])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());
}

/** A protobuf timestamp in epoch milliseconds, keeping the sub-millisecond part. */
export function timestampMs(ts: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  if (!ts) return Number.NaN;
  return toNumber(ts.seconds) * 1000 + (ts.nanos ?? 0) / 1e6;
}

function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  return typeof value === 'number' ? value : value.toNumber();
}
