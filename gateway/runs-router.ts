import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  isGrpcServiceError,
  QueryNotRegisteredError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, WorkflowNotFoundError, type Payload } from '@temporalio/common';
import { temporal as proto, type google } from '@temporalio/proto';
import { Router, type Request, type Response } from 'express';
import { DEFINITION_ID, STEP_ID } from '../common/definition';
import {
  REFUSAL_STATUS,
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalAnswer,
  type ApprovalView,
  type CancelRecord,
  type CancelRequest,
  type RunStatus,
} from '../common/run-control';
import { WORKFLOW_TYPES } from '../common/run-types';
import { flowSearchAttributes } from '../common/search-attributes';
import { actorOf } from './auth';
import { ProblemError, type ProblemFieldError } from './problem';
import { jsonBody, parseJsonObject, rawBody, rawBodyOf, requireJsonObject, routeParam } from './request-body';

/** What the runs API needs: this deployment's Temporal client and task queue, and where the Temporal UI is. */
export interface RunsRouterDeps {
  /** Read per request, so building the app touches no Temporal connection. */
  readonly temporal: { readonly client: Client; readonly taskQueue: string };
  /** Base URL of the Temporal Web UI (`FLOW_TEMPORAL_UI_URL`), without a trailing slash. */
  readonly temporalUiUrl: string;
  /** A secret the page tokens are signed with, so that `next` accepts only tokens this API issued. */
  readonly pageTokenSecret: string;
}

const ExecutionStatus = proto.api.enums.v1.WorkflowExecutionStatus;
/** gRPC status codes of a Temporal that cannot answer now, which a client may retry. */
const RETRYABLE_GRPC_CODES: readonly number[] = [4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */];

/** The execution statuses of a run, as the API names them, with their names in Temporal. */
const RUN_STATUSES = [
  { status: 'running', visibility: 'Running', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING },
  { status: 'completed', visibility: 'Completed', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED },
  { status: 'failed', visibility: 'Failed', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED },
  { status: 'cancelled', visibility: 'Canceled', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED },
  { status: 'terminated', visibility: 'Terminated', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED },
  { status: 'timed_out', visibility: 'TimedOut', code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT },
  {
    status: 'continued_as_new',
    visibility: 'ContinuedAsNew',
    code: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
  },
] as const;

/** A run's execution status: one of {@link RUN_STATUSES}, or `unknown` for one this API does not name. */
export type RunExecutionStatus = (typeof RUN_STATUSES)[number]['status'] | 'unknown';

/** One run as `GET /api/runs` lists it; `GET /api/runs/:workflowId` shows the same fields and more. */
export interface RunListItem {
  readonly workflowId: string;
  readonly runId: string;
  /** From the run's search attributes; null for a run started without them. */
  readonly definition: string | null;
  readonly revision: number | null;
  readonly eventId: string | null;
  readonly status: RunExecutionStatus;
  readonly startTime: string | null;
  /** Null while the run is open. */
  readonly closeTime: string | null;
  /** The run's page in the Temporal Web UI. */
  readonly ui: string;
}

/** `GET /api/runs/:workflowId`: the execution as Temporal describes it, and the run's own account of its steps. */
export type RunView = RunListItem & {
  /** The run's summary line, as the Temporal UI's run list shows it. */
  readonly summary?: string;
} & (Omit<RunStatus, 'definition' | 'revision' | 'eventId'> | { readonly status_unavailable: string });

/** Page sizes of `GET /api/runs`. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** How long a listing or a describe may take before the API answers 503. */
const VISIBILITY_DEADLINE_MS = 10_000;
/** How long the run's status query may take; a query needs a worker to answer it. */
const QUERY_DEADLINE_MS = 5_000;
/** Longest cancel reason and approval comment. */
const MAX_REASON = 500;
const MAX_COMMENT = 2_000;

/**
 * A Temporal workflow id as this API accepts one in a path: run ids are `<definition>-<event id>`, and event ids hold
 * letters, digits, `.`, `_`, `-` and the `~` of hashed idempotency keys (`eventIdFor` in intake/accept-event.ts).
 */
const WORKFLOW_ID = /^[A-Za-z0-9._:@~-]{1,300}$/;
/** An event id as `eventIdFor` makes one: `<source>-<idempotency key, UUID or ~hash>`. */
const EVENT_ID = /^[a-z0-9][a-z0-9_.-]{0,63}-(?:[A-Za-z0-9][A-Za-z0-9._-]{0,79}|~[0-9a-f]{32})$/;
const LIST_PARAMETERS = ['definition', 'status', 'event', 'limit', 'next'] as const;

/**
 * The runs API: `GET /api/runs` (this deployment's interpreter runs, from Temporal's visibility), `GET
 * /api/runs/:workflowId` (one run, with its steps from the `runStatus` query), and, with the write scope, `POST
 * /api/runs/:workflowId/cancel` and `POST /api/runs/:workflowId/approvals/:stepId`. A run's state lives in its
 * workflow: these read it with a query and change it with updates whose validators refuse at once, so a refusal is
 * an HTTP answer (see {@link REFUSAL_STATUS}), never a half-done change.
 */
export function runsRouter(deps: RunsRouterDeps): Router {
  const router = Router();
  const pageTokens = new PageTokens(deps.pageTokenSecret);
  const ui = (client: Client, workflowId: string, runId: string): string =>
    `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(client.options.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

  router.get('/runs', async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const parameters = listParameters(req);
    const query = visibilityQuery(taskQueue, parameters);
    const nextPageToken = parameters.next === undefined ? undefined : pageTokens.read(query, parameters.next);
    const list = (pageToken: Uint8Array | undefined, pageSize: number) =>
      temporalCall(client, VISIBILITY_DEADLINE_MS, () =>
        client.workflowService.listWorkflowExecutions({
          namespace: client.options.namespace,
          query,
          pageSize,
          ...(pageToken ? { nextPageToken: pageToken } : {}),
        }),
      );
    const page = await list(nextPageToken, parameters.limit);
    let next = page.nextPageToken?.length ? page.nextPageToken : undefined;
    // Visibility hands out a token whenever a page is full, even when nothing follows; one item tells.
    if (next && page.executions.length >= parameters.limit && (await list(next, 1)).executions.length === 0) {
      next = undefined;
    }
    const items = page.executions.map((raw): RunListItem => {
      const workflowId = raw.execution?.workflowId ?? '';
      const runId = raw.execution?.runId ?? '';
      const attributes = raw.searchAttributes?.indexedFields ?? {};
      return {
        workflowId,
        runId,
        definition: stringAttribute(attributes[flowSearchAttributes.FlowDefinition.name]),
        revision: numberAttribute(attributes[flowSearchAttributes.FlowRevision.name]),
        eventId: stringAttribute(attributes[flowSearchAttributes.FlowEventId.name]),
        status: statusOf(raw.status),
        startTime: isoTime(raw.startTime),
        closeTime: isoTime(raw.closeTime),
        ui: ui(client, workflowId, runId),
      };
    });
    res.json({ items, ...(next ? { next: pageTokens.issue(query, next) } : {}) });
  });

  router.get('/runs/:workflowId', async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const { description } = await interpreterRun(client, taskQueue, workflowId);
    const summary = await description.staticSummary();
    const described: RunListItem & { summary?: string } = {
      workflowId,
      runId: description.runId,
      definition: description.typedSearchAttributes.get(flowSearchAttributes.FlowDefinition) ?? null,
      revision: description.typedSearchAttributes.get(flowSearchAttributes.FlowRevision) ?? null,
      eventId: description.typedSearchAttributes.get(flowSearchAttributes.FlowEventId) ?? null,
      status: statusOf(description.status.code),
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime?.toISOString() ?? null,
      ...(summary ? { summary } : {}),
      ui: ui(client, workflowId, description.runId),
    };
    const answer = await runStatus(client, workflowId, description.runId, taskQueue);
    if ('unavailable' in answer) {
      res.json({ ...described, status_unavailable: answer.unavailable } satisfies RunView);
      return;
    }
    const { definition: _definition, revision: _revision, eventId: _eventId, ...state } = answer.status;
    res.json({ ...described, ...state } satisfies RunView);
  });

  router.post('/runs/:workflowId/cancel', rawBody, async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const reason = cancelReason(optionalJsonObject(req));
    const { handle, description } = await interpreterRun(client, taskQueue, workflowId);
    requireOpen(description, workflowId, 'cancelled');
    const request: CancelRequest = { by: actor(res), ...(reason === undefined ? {} : { reason }) };
    let record: CancelRecord;
    try {
      record = await temporalCall(client, VISIBILITY_DEADLINE_MS, () =>
        handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, { args: [request] }),
      );
    } catch (error) {
      if (refusalOf(error)?.type === RUN_REFUSALS.notCancellable) await completeAcceptedCancel(client, handle);
      throw updateProblem(error, workflowId, 'cancelled', ui(client, workflowId, description.runId));
    }
    try {
      await temporalCall(client, VISIBILITY_DEADLINE_MS, () => handle.cancel());
    } catch (error) {
      // The run ended on its own right after it accepted the cancel: nothing is left to cancel.
      if (!(error instanceof WorkflowNotFoundError)) {
        throw new ProblemError(
          503,
          'Service Unavailable',
          `Run ${workflowId} recorded the cancel, but Temporal's cancellation could not be sent (${errorMessage(error)}). POST the cancel again to complete it.`,
          { headers: { 'Retry-After': '5' } },
        );
      }
    }
    res.status(202).json(record);
  });

  router.post('/runs/:workflowId/approvals/:stepId', jsonBody, async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const workflowId = workflowIdParam(req);
    const stepId = routeParam(req, 'stepId');
    if (!STEP_ID.test(stepId)) {
      throw badParameter(
        'stepId',
        `The step id ${JSON.stringify(stepId.slice(0, 64))} is not one: step ids are 1-63 lowercase letters, digits and "_", starting with a letter or "_".`,
      );
    }
    const { decision, comment } = approvalBody(requireJsonObject(req));
    const { handle, description } = await interpreterRun(client, taskQueue, workflowId);
    requireOpen(description, workflowId, 'answered');
    const answer: ApprovalAnswer = {
      stepId,
      decision,
      by: actor(res),
      ...(comment === undefined ? {} : { comment }),
      via: 'api',
    };
    try {
      const view = await temporalCall(client, VISIBILITY_DEADLINE_MS, () =>
        handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, { args: [answer] }),
      );
      res.json(view);
    } catch (error) {
      throw updateProblem(error, workflowId, 'answered', ui(client, workflowId, description.runId));
    }
  });

  return router;
}

interface ListParameters {
  readonly definition?: string;
  readonly status?: (typeof RUN_STATUSES)[number];
  readonly event?: string;
  readonly limit: number;
  readonly next?: string;
}

/** The listing's query parameters, each checked against what it may be: nothing unchecked reaches a query. */
function listParameters(req: Request): ListParameters {
  const query = req.query as Record<string, unknown>;
  for (const name of Object.keys(query)) {
    if (!(LIST_PARAMETERS as readonly string[]).includes(name)) {
      throw badParameter(
        name.slice(0, 64),
        `GET /api/runs has no parameter ${JSON.stringify(name.slice(0, 64))}; use ${LIST_PARAMETERS.join(', ')}.`,
      );
    }
  }
  const one = (name: (typeof LIST_PARAMETERS)[number]): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw badParameter(name, `Give the parameter ${name} once.`);
    return value;
  };
  const definition = one('definition');
  if (definition !== undefined && !DEFINITION_ID.test(definition)) {
    throw badParameter(
      'definition',
      `definition=${JSON.stringify(definition.slice(0, 64))} is not a definition id: use 1-64 lowercase letters, digits and dashes, such as start-release.`,
    );
  }
  const statusName = one('status');
  const status = statusName === undefined ? undefined : RUN_STATUSES.find((entry) => entry.status === statusName);
  if (statusName !== undefined && !status) {
    throw badParameter(
      'status',
      `status=${JSON.stringify(statusName.slice(0, 64))} is not a run status: use one of ${RUN_STATUSES.map((entry) => entry.status).join(', ')}.`,
    );
  }
  const event = one('event');
  if (event !== undefined && !EVENT_ID.test(event)) {
    throw badParameter(
      'event',
      `event=${JSON.stringify(event.slice(0, 64))} is not an event id: use the eventId that POST /events answered, such as jira-REL-7.`,
    );
  }
  const limitText = one('limit');
  if (limitText !== undefined && (!/^[1-9]\d{0,2}$/.test(limitText) || Number(limitText) > MAX_LIMIT)) {
    throw badParameter('limit', `limit must be a whole number from 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`);
  }
  const next = one('next');
  return {
    ...(definition === undefined ? {} : { definition }),
    ...(status === undefined ? {} : { status }),
    ...(event === undefined ? {} : { event }),
    limit: limitText === undefined ? DEFAULT_LIMIT : Number(limitText),
    ...(next === undefined ? {} : { next }),
  };
}

/** The visibility query of a listing: this deployment's interpreter runs, narrowed by the checked filters. */
function visibilityQuery(taskQueue: string, parameters: ListParameters): string {
  const clauses = [`WorkflowType = ${literal(WORKFLOW_TYPES.interpret)}`, `TaskQueue = ${literal(taskQueue)}`];
  if (parameters.definition !== undefined) {
    clauses.push(`${flowSearchAttributes.FlowDefinition.name} = ${literal(parameters.definition)}`);
  }
  if (parameters.status !== undefined) clauses.push(`ExecutionStatus = ${literal(parameters.status.visibility)}`);
  if (parameters.event !== undefined) {
    clauses.push(`${flowSearchAttributes.FlowEventId.name} = ${literal(parameters.event)}`);
  }
  return clauses.join(' AND ');
}

/** A visibility string literal. The user's values are checked against patterns without quotes first; this is a second fence. */
function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * Page tokens: the visibility store's own token, signed together with the listing's query. A `next` this API did
 * not issue, or one from a listing with other filters, is a 400 rather than bytes handed to the visibility store.
 * The key derives from a secret every gateway of a deployment shares, so tokens survive a restart and work on any
 * replica.
 */
class PageTokens {
  private static readonly MAC_BYTES = 16;
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHash('sha256').update('flow runs page token\0').update(secret).digest();
  }

  issue(query: string, token: Uint8Array): string {
    return Buffer.concat([this.mac(query, token), token]).toString('base64url');
  }

  read(query: string, next: string): Uint8Array {
    const bytes = /^[A-Za-z0-9_-]{1,4000}$/.test(next) ? Buffer.from(next, 'base64url') : Buffer.alloc(0);
    const mac = bytes.subarray(0, PageTokens.MAC_BYTES);
    const token = bytes.subarray(PageTokens.MAC_BYTES);
    if (token.length === 0 || bytes.toString('base64url') !== next || !timingSafeEqual(mac, this.mac(query, token))) {
      throw badParameter(
        'next',
        'next is not a page token of this listing: pass the next of the previous page with the same definition, status and event, or leave it out to start from the first page.',
      );
    }
    return token;
  }

  private mac(query: string, token: Uint8Array): Buffer {
    return createHmac('sha256', this.key)
      .update(query)
      .update('\0')
      .update(token)
      .digest()
      .subarray(0, PageTokens.MAC_BYTES);
  }
}

/** The latest execution of `workflowId` when it is an interpreter run of this task queue; a 404 problem otherwise. */
async function interpreterRun(
  client: Client,
  taskQueue: string,
  workflowId: string,
): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
  const handle = client.workflow.getHandle(workflowId);
  const notFound = new ProblemError(
    404,
    'Not Found',
    `There is no run ${workflowId}. Run ids are <definition>-<event id>, as the event's dispatcher result and GET /api/runs list them.`,
  );
  let description: WorkflowExecutionDescription;
  try {
    description = await temporalCall(client, VISIBILITY_DEADLINE_MS, () => handle.describe());
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw notFound;
    throw error;
  }
  // Dispatchers, trains and another deployment's runs (its own task queue) are not runs of this Flow.
  if (description.type !== WORKFLOW_TYPES.interpret || description.taskQueue !== taskQueue) throw notFound;
  return { handle, description };
}

/** The run's `runStatus` answer, or why it could not be had. */
async function runStatus(
  client: Client,
  workflowId: string,
  runId: string,
  taskQueue: string,
): Promise<{ status: RunStatus } | { unavailable: string }> {
  try {
    const status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowId, runId).query<RunStatus>(RUN_HANDLERS.status),
    );
    return { status };
  } catch (error) {
    if (error instanceof QueryNotRegisteredError) {
      return {
        unavailable: `the run does not answer the ${RUN_HANDLERS.status} query; it was started by a Flow older than run control (${error.message.slice(0, 200)})`,
      };
    }
    if (error instanceof WorkflowNotFoundError) return { unavailable: 'the run is no longer retained by Temporal' };
    return {
      unavailable: `the run did not answer its ${RUN_HANDLERS.status} query within ${QUERY_DEADLINE_MS / 1000}s; is a worker polling task queue ${taskQueue}? (${errorMessage(error).slice(0, 200)})`,
    };
  }
}

/**
 * A cancel the run accepted earlier, whose Temporal cancellation never went out (the gateway failed in between), is
 * completed when it is asked again: the run holds the cancel record but still runs its steps. Temporal ignores a
 * second cancellation of a run already asked to cancel.
 */
async function completeAcceptedCancel(client: Client, handle: WorkflowHandle): Promise<void> {
  try {
    const status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      handle.query<RunStatus>(RUN_HANDLERS.status),
    );
    if (status.cancel && (status.phase === 'queued' || status.phase === 'running')) {
      await temporalCall(client, VISIBILITY_DEADLINE_MS, () => handle.cancel());
    }
  } catch {
    // The refusal is answered either way; a retry tries again.
  }
}

function requireOpen(description: WorkflowExecutionDescription, workflowId: string, what: string): void {
  if (description.status.name === 'RUNNING') return;
  throw new ProblemError(
    409,
    'Conflict',
    `Run ${workflowId} already ended (${statusOf(description.status.code)}), so it cannot be ${what}.`,
    { runStatus: statusOf(description.status.code) },
  );
}

/** The refusal inside a failed update: an `ApplicationFailure` whose type {@link REFUSAL_STATUS} knows. */
function refusalOf(error: unknown): { type: keyof typeof REFUSAL_STATUS; message: string } | undefined {
  if (!(error instanceof WorkflowUpdateFailedError) || !(error.cause instanceof ApplicationFailure)) return undefined;
  const type = error.cause.type;
  if (type === undefined || type === null || !Object.hasOwn(REFUSAL_STATUS, type)) return undefined;
  return { type: type as keyof typeof REFUSAL_STATUS, message: error.cause.message };
}

/** The problem to answer for a failed update: the refusal's own status and message, 409 for an ended run. */
function updateProblem(error: unknown, workflowId: string, what: string, ui: string): unknown {
  const refusal = refusalOf(error);
  if (refusal) {
    return new ProblemError(REFUSAL_STATUS[refusal.type], titleOf(REFUSAL_STATUS[refusal.type]), refusal.message, {
      refusal: refusal.type,
    });
  }
  if (error instanceof WorkflowNotFoundError) {
    return new ProblemError(409, 'Conflict', `Run ${workflowId} ended before it could be ${what}.`);
  }
  if (
    error instanceof WorkflowUpdateFailedError &&
    error.cause instanceof ApplicationFailure &&
    error.cause.message.startsWith('No registered handler for update')
  ) {
    return new ProblemError(
      409,
      'Conflict',
      `Run ${workflowId} was started by a Flow older than run control and cannot be ${what} through the API; use the Temporal UI: ${ui}`,
    );
  }
  return error;
}

function titleOf(status: number): string {
  const titles: Readonly<Record<number, string>> = {
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Unprocessable Content',
  };
  return titles[status] ?? 'Conflict';
}

/** Runs a Temporal call with a deadline; an unreachable or slow Temporal is a 503 the client may retry. */
async function temporalCall<T>(client: Client, deadlineMs: number, call: () => Promise<T>): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + deadlineMs, call);
  } catch (error) {
    const cause = isGrpcServiceError(error) ? error : (error as { cause?: unknown }).cause;
    if (isGrpcServiceError(cause) && RETRYABLE_GRPC_CODES.includes(cause.code)) {
      throw new ProblemError(
        503,
        'Service Unavailable',
        `Temporal did not answer within ${deadlineMs / 1000}s (${cause.details.slice(0, 200)}); retry shortly.`,
        { headers: { 'Retry-After': '5' } },
      );
    }
    throw error;
  }
}

function workflowIdParam(req: Request): string {
  const workflowId = routeParam(req, 'workflowId');
  if (!WORKFLOW_ID.test(workflowId)) {
    throw badParameter(
      'workflowId',
      `${JSON.stringify(workflowId.slice(0, 64))} is not a run id: run ids are 1-300 letters, digits, ".", "_", ":", "@", "~" or "-", such as start-release-jira-REL-7.`,
    );
  }
  return workflowId;
}

/** A body that may be left out: empty means `{}`; anything sent must be a JSON object (415/400 otherwise). */
function optionalJsonObject(req: Request): Record<string, unknown> {
  const raw = rawBodyOf(req);
  return raw.length === 0 ? {} : parseJsonObject(req, raw);
}

function cancelReason(body: Record<string, unknown>): string | undefined {
  const errors = unknownFields(body, ['reason']);
  const reason = body['reason'];
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    errors.push({ path: 'reason', message: `must be a string of at most ${MAX_REASON} characters` });
  }
  if (errors.length > 0) throw invalidBody('The cancel was not sent', errors);
  return typeof reason === 'string' && reason.trim() !== '' ? reason : undefined;
}

function approvalBody(body: Record<string, unknown>): { decision: ApprovalAnswer['decision']; comment?: string } {
  const errors = unknownFields(body, ['decision', 'comment']);
  const decision = body['decision'];
  if (decision !== 'approved' && decision !== 'rejected') {
    errors.push({ path: 'decision', message: 'must be "approved" or "rejected"' });
  }
  const comment = body['comment'];
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) {
    errors.push({ path: 'comment', message: `must be a string of at most ${MAX_COMMENT} characters` });
  }
  if (errors.length > 0 || (decision !== 'approved' && decision !== 'rejected')) {
    throw invalidBody('The answer was not recorded', errors);
  }
  return { decision, ...(typeof comment === 'string' && comment.trim() !== '' ? { comment } : {}) };
}

function unknownFields(body: Record<string, unknown>, known: readonly string[]): ProblemFieldError[] {
  return Object.keys(body)
    .filter((key) => !known.includes(key))
    .map((key) => ({ path: key.slice(0, 64), message: `is not a field; send ${known.join(' and ')}` }));
}

function invalidBody(what: string, errors: readonly ProblemFieldError[]): ProblemError {
  const first = errors[0];
  return new ProblemError(
    422,
    'Unprocessable Content',
    `${what}: ${errors.length} error${errors.length === 1 ? '' : 's'} in the body${first ? `, the first at ${first.path}: ${first.message}` : ''}.`,
    { errors },
  );
}

function badParameter(name: string, detail: string): ProblemError {
  return new ProblemError(400, 'Bad Request', detail, { errors: [{ path: name, message: detail }] });
}

function statusOf(code: proto.api.enums.v1.WorkflowExecutionStatus | null | undefined): RunExecutionStatus {
  return RUN_STATUSES.find((entry) => entry.code === code)?.status ?? 'unknown';
}

/** A keyword search attribute's value; the SDK once wrote single values as one-element lists. */
function stringAttribute(payload: Payload | undefined): string | null {
  const value = searchAttributeValue(payload);
  return typeof value === 'string' ? value : null;
}

function numberAttribute(payload: Payload | undefined): number | null {
  const value = searchAttributeValue(payload);
  return typeof value === 'number' ? value : null;
}

function searchAttributeValue(payload: Payload | undefined): unknown {
  if (!payload) return undefined;
  try {
    const value = defaultPayloadConverter.fromPayload<unknown>(payload);
    return Array.isArray(value) ? (value as unknown[])[0] : value;
  } catch {
    return undefined;
  }
}

function isoTime(timestamp: google.protobuf.ITimestamp | null | undefined): string | null {
  if (!timestamp?.seconds) return null;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Who is acting: the token's name, which the run records. The API's scope check always names it. */
function actor(res: Response): string {
  const name = actorOf(res);
  if (name === undefined) throw new Error('the runs API is mounted without its scope check');
  return name;
}
