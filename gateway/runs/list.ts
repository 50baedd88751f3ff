import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { google } from '@temporalio/proto';
import type { Request, RequestHandler } from 'express';
import { DEFINITION_ID } from '../../common/definition';
import { WORKFLOW_TYPES } from '../../common/run-types';
import { flowSearchAttributes } from '../../common/search-attributes';
import { EVENT_ID } from '../../intake/accept-event';
import { temporalCall } from '../interpreter-runs';
import { RUN_STATUSES, statusOf, type RunExecutionStatus } from './execution-status';
import { apiDeadline, badParameter, temporalUiLink, type RunsRouterDeps } from './runs-api';

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

/** Page sizes of `GET /api/runs`. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const LIST_PARAMETERS = ['definition', 'status', 'event', 'limit', 'next'] as const;

/**
 * `GET /api/runs`: this deployment's interpreter runs from Temporal's visibility, filtered by
 * definition, status and event, a page at a time.
 */
export function listRuns(deps: RunsRouterDeps): RequestHandler {
  const pageTokens = new PageTokens(deps.pageTokenSecret);
  return async (req, res) => {
    const { client, taskQueue } = deps.temporal;
    const parameters = listParameters(req);
    const query = visibilityQuery(taskQueue, parameters);
    const nextPageToken = parameters.next === undefined ? undefined : pageTokens.read(query, parameters.next);
    const list = (pageToken: Uint8Array | undefined, pageSize: number) =>
      temporalCall(client, apiDeadline(), () =>
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
        ui: temporalUiLink(deps, client, workflowId, runId),
      };
    });
    res.json({ items, ...(next ? { next: pageTokens.issue(query, next) } : {}) });
  };
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
