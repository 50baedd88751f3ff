/**
 * `GET /api/events/unmatched`: the events seen recently that started and woke no run, each with why. Dispatchers that
 * matched nothing say so in the search attribute `FlowMatchedRuns = 0` (workflows/dispatcher.ts), so visibility lists
 * them without reading the others; each one's result (its close event alone) says why. The event's body is never
 * read or shown: it may hold secrets.
 */
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { google } from '@temporalio/proto';
import { Router, type Request } from 'express';
import { EVENT_NAME } from '../common/definition';
import type { EventDispatchResult } from '../common/event-waits';
import { mapLimit } from '../common/map-limit';
import { WORKFLOW_TYPES } from '../common/run-types';
import { flowSearchAttributes } from '../common/search-attributes';
import type { dispatchEvent } from '../workflows';
import { temporalCall, type DeploymentTemporal } from './interpreter-runs';
import { ProblemError } from './problem';
import { apiDeadline, badParameter } from './runs/runs-api';

/** One event that matched nothing, as `GET /api/events/unmatched` lists it. */
export interface UnmatchedEvent {
  /** The event id, as `POST /events` answered it; search for it in the Temporal UI (`FlowEventId`). */
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  /** When Temporal accepted the event: its dispatcher's start (ISO 8601). */
  readonly receivedAt: string | null;
  /** The dispatcher, `event-<eventId>`. */
  readonly workflowId: string;
  /** Why nothing ran, one line per definition bound (or one saying none is), and per waiting run found. */
  readonly why: readonly string[];
  /** The dispatcher's page in the Temporal Web UI. */
  readonly ui: string;
}

/** The answer of `GET /api/events/unmatched`. */
export interface UnmatchedEvents {
  /** Newest first. */
  readonly items: readonly UnmatchedEvent[];
  /** How many were asked for. */
  readonly limit: number;
  /** How many events of this deployment Temporal still holds (its retention period), matched or not. */
  readonly dispatched: number;
}

/** What the router needs. */
export interface UnmatchedEventsDeps {
  /** Read per request, so building the app touches no Temporal connection. */
  readonly temporal: DeploymentTemporal;
  /** Base URL of the Temporal Web UI, without a trailing slash. */
  readonly temporalUiUrl: string;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** How many results are read at once. */
const PARALLEL_READS = 8;
const PARAMETERS = ['limit', 'source', 'type'] as const;
/** gRPC's INVALID_ARGUMENT: what visibility answers to a query naming an attribute it does not have. */
const INVALID_ARGUMENT = 3;

/** `GET /api/events/unmatched?limit=20&source=&type=` (read scope). */
export function unmatchedEventsRouter(deps: UnmatchedEventsDeps): Router {
  const router = Router();
  router.get('/events/unmatched', async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const parameters = unmatchedParameters(req);
    const deadline = apiDeadline();
    const dispatchers = [
      `WorkflowType = ${literal(WORKFLOW_TYPES.dispatchEvent)}`,
      `TaskQueue = ${literal(taskQueue)}`,
      ...(parameters.source === undefined
        ? []
        : [`${flowSearchAttributes.FlowSource.name} = ${literal(parameters.source)}`]),
      ...(parameters.type === undefined
        ? []
        : [`${flowSearchAttributes.FlowEventType.name} = ${literal(parameters.type)}`]),
    ];
    // Completed only: the attribute is set in the task that completes the dispatcher, so its result is there to read.
    const unmatched = [
      ...dispatchers,
      `${flowSearchAttributes.FlowMatchedRuns.name} = 0`,
      `ExecutionStatus = 'Completed'`,
    ].join(' AND ');
    const [page, count] = await Promise.all([
      visibility(client, deadline, () =>
        client.workflowService.listWorkflowExecutions({
          namespace: client.options.namespace,
          query: unmatched,
          pageSize: parameters.limit,
        }),
      ),
      visibility(client, deadline, () =>
        client.workflowService.countWorkflowExecutions({
          namespace: client.options.namespace,
          query: dispatchers.join(' AND '),
        }),
      ),
    ]);
    const executions = page.executions
      .slice(0, parameters.limit)
      .map((raw) => ({
        workflowId: raw.execution?.workflowId ?? '',
        runId: raw.execution?.runId ?? '',
        startTime: isoTime(raw.startTime),
      }))
      .filter((execution) => execution.workflowId !== '')
      // Visibility orders closed workflows by their close; a dispatcher that waited out an outage closed late.
      .sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? ''));
    const items = await mapLimit(executions, PARALLEL_READS, async (execution): Promise<UnmatchedEvent | undefined> => {
      let result: EventDispatchResult;
      try {
        // A closed workflow's result is one history call that returns its close event alone.
        result = await temporalCall(client, deadline, () =>
          client.workflow.getHandle<typeof dispatchEvent>(execution.workflowId, execution.runId).result(),
        );
      } catch (error) {
        // Deleted by retention between the listing and the read.
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
      return {
        eventId: result.eventId,
        source: result.source,
        type: result.type,
        receivedAt: execution.startTime,
        workflowId: execution.workflowId,
        why: whyUnmatched(result),
        ui: `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(client.options.namespace)}/workflows/${encodeURIComponent(execution.workflowId)}/${encodeURIComponent(execution.runId)}/history`,
      };
    });
    const body: UnmatchedEvents = {
      items: items.filter((item): item is UnmatchedEvent => item !== undefined),
      limit: parameters.limit,
      dispatched: Number(count.count ?? 0),
    };
    res.json(body);
  });
  return router;
}

/**
 * Why a dispatcher started and woke no run, one line each: no definition bound, or per definition its condition,
 * that it is disabled, or what its train answered; and per waiting run it found, why the run did not take the event.
 */
export function whyUnmatched(result: EventDispatchResult): string[] {
  const lines: string[] = [];
  if (result.skipped.length === 0 && (result.rejected ?? []).length === 0)
    lines.push(`no definition is bound to ${result.source}/${result.type}`);
  for (const skipped of result.skipped)
    for (const reason of skipReasons(skipped.reason)) lines.push(`${skipped.definition}: ${reason}`);
  for (const rejected of result.rejected ?? [])
    lines.push(`${rejected.definition}: its train ${rejected.group} refused the run: ${rejected.reason}`);
  for (const wait of result.waits?.skipped ?? [])
    lines.push(`waiting run ${wait.workflowId} (step ${wait.stepId}): ${wait.reason}`);
  // Subscribers may have been told even though no run started: the list is about runs, but say so.
  const sent = result.subscriptions?.sent ?? [];
  if (sent.length > 0)
    lines.push(
      `notified ${sent.length === 1 ? 'one subscription' : `${sent.length} subscriptions`}: ${sent.map((s) => s.id).join(', ')}`,
    );
  return lines;
}

/**
 * A skipped definition's reason (`decideMatch` in common/matching.ts) in the words of the listing: "disabled", and
 * one "condition `<if>` was false" or "condition `<if>` could not be evaluated: …" per binding of the event. A reason
 * it does not know (a concurrency group that could not be rendered, a binding removed since) is kept as it is.
 */
export function skipReasons(reason: string): string[] {
  if (reason === 'the definition is disabled (enabled: false)') return ['disabled'];
  const reasons: string[] = [];
  let rest = reason;
  while (rest !== '') {
    const start = /^on\[\d+\]\.if /.exec(rest);
    if (!start) return [reason];
    rest = rest.slice(start[0].length);
    const quoted = /^"(?:[^"\\]|\\.)*"/.exec(rest);
    if (quoted) {
      // `on[i].if "<if>" is false`
      const condition = JSON.parse(quoted[0]) as string;
      rest = rest.slice(quoted[0].length);
      if (!rest.startsWith(' is false')) return [reason];
      rest = rest.slice(' is false'.length);
      reasons.push(`condition \`${condition}\` was false`);
    } else if (rest.startsWith('could not be evaluated: ')) {
      // `on[i].if could not be evaluated: <message>`, up to the next binding's reason.
      rest = rest.slice('could not be evaluated: '.length);
      const next = /; on\[\d+\]\.if /.exec(rest);
      const message = next ? rest.slice(0, next.index) : rest;
      rest = rest.slice(message.length);
      reasons.push(`a condition could not be evaluated: ${message}`);
    } else return [reason];
    if (rest.startsWith('; ')) rest = rest.slice(2);
    else if (rest !== '') return [reason];
  }
  return reasons.length > 0 ? reasons : [reason];
}

interface UnmatchedParameters {
  readonly limit: number;
  readonly source?: string;
  readonly type?: string;
}

/** The query parameters, each checked against what it may be: nothing unchecked reaches a query. */
function unmatchedParameters(req: Request): UnmatchedParameters {
  const query = req.query as Record<string, unknown>;
  for (const name of Object.keys(query)) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      throw badParameter(
        name.slice(0, 64),
        `GET /api/events/unmatched has no parameter ${JSON.stringify(name.slice(0, 64))}; use ${PARAMETERS.join(', ')}.`,
      );
    }
  }
  const one = (name: (typeof PARAMETERS)[number]): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw badParameter(name, `Give the parameter ${name} once.`);
    return value;
  };
  const limitText = one('limit');
  if (limitText !== undefined && (!/^[1-9]\d{0,2}$/.test(limitText) || Number(limitText) > MAX_LIMIT)) {
    throw badParameter('limit', `limit must be a whole number from 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`);
  }
  const name = (parameter: 'source' | 'type', example: string): string | undefined => {
    const value = one(parameter);
    if (value !== undefined && !EVENT_NAME.test(value)) {
      throw badParameter(
        parameter,
        `${parameter}=${JSON.stringify(value.slice(0, 64))} is not an event ${parameter}: use lowercase letters, digits, ".", "_" or "-", such as ${example}.`,
      );
    }
    return value;
  };
  const source = name('source', 'jira');
  const type = name('type', 'issue_transitioned');
  return {
    limit: limitText === undefined ? DEFAULT_LIMIT : Number(limitText),
    ...(source === undefined ? {} : { source }),
    ...(type === undefined ? {} : { type }),
  };
}

/**
 * A visibility call: an outage is a 503 (temporalCall), and a namespace without `FlowMatchedRuns` (a cluster whose
 * worker has not registered it yet) is a 503 that says how to register it.
 */
async function visibility<T>(client: Client, deadline: ReturnType<typeof apiDeadline>, call: () => Promise<T>) {
  try {
    return await temporalCall(client, deadline, call);
  } catch (error) {
    const name = flowSearchAttributes.FlowMatchedRuns.name;
    const grpc = isGrpcServiceError(error) ? error : (error as { cause?: unknown } | undefined)?.cause;
    const code: number | undefined = isGrpcServiceError(grpc) ? grpc.code : undefined;
    if (isGrpcServiceError(grpc) && code === INVALID_ARGUMENT && grpc.details.includes(name)) {
      throw new ProblemError(
        503,
        'Service Unavailable',
        `Temporal namespace ${client.options.namespace} has no search attribute ${name}. Start a Flow worker (it ` +
          `registers it), or run: temporal operator search-attribute create --namespace ` +
          `${client.options.namespace} --name ${name} --type Int`,
      );
    }
    throw error;
  }
}

/** A visibility string literal. The values are checked against patterns without quotes first; this is a second fence. */
function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function isoTime(timestamp: google.protobuf.ITimestamp | null | undefined): string | null {
  if (!timestamp?.seconds) return null;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}
