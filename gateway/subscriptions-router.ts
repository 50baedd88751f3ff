import { Router, type Request, type RequestHandler, type Response } from 'express';
import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import type { Subscription } from '../common/subscriptions';
import {
  DefinitionSyntaxError,
  parseDefinitionText,
  SubscriptionConflictError,
  SubscriptionOwnerError,
  validateSubscription,
  type DefinitionFormat,
  type DefinitionStore,
  type StoredSubscription,
  type SubscriptionStore,
} from '../registry';
import { withYamlLines } from '../registry/definition-format';
import type { DefinitionError } from '../registry/validate-definition';
import { MAX_OWNER_LENGTH, SUBSCRIPTION_ID } from '../registry/validate-subscription';
import { actorOf, requireScope, type ApiAuth } from './auth';
import { ProblemError } from './problem';
import { decodeUtf8, rawBody, rawBodyOf, routeParam } from './request-body';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
/** Where {@link subscriptionsAccess} records whether the caller may manage anyone's subscriptions. */
const MANAGES_ALL = 'managesAllSubscriptions';
/** Attempts at a generated id before giving up (a clash of the random suffix is already unlikely). */
const ID_ATTEMPTS = 5;

/** True for the paths (below `/api`) that {@link subscriptionsAccess} guards instead of the API's scope check. */
export function isSubscriptionsPath(path: string): boolean {
  return path === '/subscriptions' || path.startsWith('/subscriptions/');
}

/**
 * The access check of `/api/subscriptions`, in place of the API's (write scope for any change): every request needs
 * the read scope (a console session's changes its CSRF header too, as everywhere), and it notes whether the caller
 * also has the write scope. The router then lets a read-scope caller change only its own subscriptions, the one
 * change a read token may make, and a write-scope caller change anyone's.
 */
export function subscriptionsAccess(auth: ApiAuth): RequestHandler {
  const read = requireScope(auth, 'read');
  const write = requireScope(auth, 'write');
  return (req, res, next) => {
    read(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      // The same credentials passed the read check, so the write check can only fail on the scope.
      write(req, res, (missing?: unknown) => {
        res.locals[MANAGES_ALL] = missing === undefined;
        next();
      });
    });
  };
}

/** What the subscriptions API works with. */
export interface SubscriptionsRouterDeps {
  readonly subscriptions: SubscriptionStore;
  /** Where an outcome subscription's definition must exist. */
  readonly definitions: Pick<DefinitionStore, 'get'>;
}

/**
 * `/api/subscriptions` (docs/subscriptions.md): list (all, `?owner=me` or `?owner=<name>`), read, create with a
 * generated id (POST), create or replace (PUT, JSON or YAML), delete. Anyone with the read scope reads them all; a
 * read-scope caller creates, changes and deletes only its own (403 for another's), a write-scope caller anyone's.
 * Mount behind {@link subscriptionsAccess}.
 */
export function subscriptionsRouter(deps: SubscriptionsRouterDeps): Router {
  const { subscriptions, definitions } = deps;
  const router = Router();

  router.get('/subscriptions', async (req, res) => {
    const limit = Math.min(Math.max(Number(req.query['limit'] ?? 100) || 100, 1), 1_000);
    const after = typeof req.query['after'] === 'string' ? req.query['after'] : undefined;
    const ownerParam = ownerQuery(req);
    const owner = ownerParam === 'me' ? actorName(res) : ownerParam;
    const items = await subscriptions.list({
      limit,
      ...(after === undefined ? {} : { after }),
      ...(owner === undefined ? {} : { owner }),
    });
    const last = items.at(-1);
    const query = ownerParam === undefined ? '' : `owner=${encodeURIComponent(ownerParam)}&`;
    res.json({
      items: items.map(subscriptionBody),
      next:
        items.length === limit && last
          ? `/api/subscriptions?${query}after=${encodeURIComponent(last.subscription.id)}&limit=${limit}`
          : null,
    });
  });

  router.get('/subscriptions/:id', async (req, res) => {
    const id = subscriptionIdParam(req);
    const stored = await subscriptions.get(id);
    if (!stored) throw notFound(id);
    // The revision, for a later If-Match: a change made against it is refused once someone else saved meanwhile.
    res.set('ETag', `"${stored.revision}"`).json(subscriptionBody(stored));
  });

  router.put('/subscriptions/:id', rawBody, async (req, res) => {
    const id = subscriptionIdParam(req);
    const actor = actorName(res);
    // A write-scope caller who changes someone else's subscription without naming an owner leaves it theirs.
    const owner = managesAll(res) ? (await subscriptions.get(id))?.subscription.owner : undefined;
    const expectedRevision = await expectedRevisionOf(req, id, subscriptions);
    const body = await checkedBody(req, res, { id, definitions, ...(owner === undefined ? {} : { owner }) });
    const saved = await asOwner(id, actor, () =>
      asPrecondition(id, () =>
        subscriptions.save(body.subscription, actor, {
          ...(managesAll(res) ? {} : { ownedBy: actor }),
          ...(expectedRevision === undefined ? {} : { expectedRevision }),
        }),
      ),
    );
    res.status(saved.created ? 201 : 200).json({
      ...subscriptionBody(saved.subscription),
      created: saved.created,
      unchanged: saved.unchanged,
    });
  });

  // Creates a subscription, never replaces one: with an id in the body, a 409 when it exists; without, a new id.
  router.post('/subscriptions', rawBody, async (req, res) => {
    const actor = actorName(res);
    for (let attempt = 1; ; attempt++) {
      const body = await checkedBody(req, res, { definitions });
      try {
        const saved = await subscriptions.save(body.subscription, actor, { expectedRevision: 0 });
        res
          .status(201)
          .location(`/api/subscriptions/${saved.subscription.subscription.id}`)
          .json({ ...subscriptionBody(saved.subscription), created: true, unchanged: false });
        return;
      } catch (error) {
        if (!(error instanceof SubscriptionConflictError)) throw error;
        if (body.idGiven)
          throw new ProblemError(
            409,
            'Conflict',
            `Subscription ${error.id} exists already; PUT /api/subscriptions/${error.id} changes it, or leave out the id and one is generated.`,
          );
        if (attempt >= ID_ATTEMPTS) throw error;
      }
    }
  });

  router.delete('/subscriptions/:id', async (req, res) => {
    const id = subscriptionIdParam(req);
    const actor = actorName(res);
    const expectedRevision = await expectedRevisionOf(req, id, subscriptions);
    const deleted = await asOwner(id, actor, () =>
      asPrecondition(id, () =>
        subscriptions.delete(id, actor, {
          ...(managesAll(res) ? {} : { ownedBy: actor }),
          ...(expectedRevision === undefined ? {} : { expectedRevision }),
        }),
      ),
    );
    if (!deleted) throw notFound(id);
    res.json({ id, deleted: true, lastRevision: deleted.revision });
  });

  return router;
}

/** The API's view of a stored subscription: the subscription itself (what a PUT sends back) and what the store adds. */
function subscriptionBody(stored: StoredSubscription): Record<string, unknown> {
  return {
    id: stored.subscription.id,
    revision: stored.revision,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    author: stored.author,
    subscription: stored.subscription,
  };
}

/**
 * The subscription a PUT or POST carries, parsed and validated: 415 for another type, 400 for a body that is not
 * JSON or YAML, 403 when a read-scope caller names another owner, 422 with every problem and its path (and, for
 * YAML, its line).
 */
async function checkedBody(
  req: Request,
  res: Response,
  options: { id?: string; definitions: Pick<DefinitionStore, 'get'>; owner?: string },
): Promise<{ subscription: Subscription; idGiven: boolean }> {
  const format = bodyFormat(req);
  const source = decodeUtf8(req, rawBodyOf(req));
  if (source.trim() === '')
    throw new ProblemError(400, 'Bad Request', `The body is empty; send the subscription as ${format.toUpperCase()}.`);
  let raw: unknown;
  try {
    raw = parseDefinitionText(source, format);
  } catch (error) {
    if (!(error instanceof DefinitionSyntaxError)) throw error;
    const where = error.line ? ` (line ${error.line}, column ${error.column ?? 1})` : '';
    throw new ProblemError(
      400,
      'Bad Request',
      `The subscription is not valid ${format.toUpperCase()}${where}: ${error.message}`,
      error.line ? { line: error.line, column: error.column ?? 1 } : {},
    );
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH))
    throw new ProblemError(
      400,
      'Bad Request',
      `The body nests objects and lists deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  const actor = actorName(res);
  const record = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const owner = record['owner'];
  if (owner !== undefined && owner !== actor && !managesAll(res))
    throw new ProblemError(
      403,
      'Forbidden',
      `This token has the read scope, which manages only its own subscriptions (owner ${JSON.stringify(actor)}), not ${JSON.stringify(owner)}'s. Leave owner out, or use a token with the write scope.`,
    );
  const result = await validateSubscription(raw, {
    ...(options.id === undefined ? {} : { id: options.id }),
    owner: options.owner ?? actor,
    definitions: options.definitions,
  });
  if (!result.ok) throw invalid(format === 'yaml' ? withYamlLines(source, result.errors) : result.errors);
  return { subscription: result.subscription, idGiven: record['id'] !== undefined };
}

/**
 * The revision a change was made against, from `If-Match`: `"3"` (the ETag a GET sent) or `3`; `*` means whatever
 * revision is current, and that there is one. Undefined without the header: the change happens whatever is current.
 */
async function expectedRevisionOf(
  req: Request,
  id: string,
  store: Pick<SubscriptionStore, 'get'>,
): Promise<number | undefined> {
  const header = req.get('If-Match')?.trim();
  if (header === undefined) return undefined;
  if (header === '*') {
    const current = await store.get(id);
    if (!current) throw preconditionFailed(id, 0, '*');
    return current.revision;
  }
  const match = /^(?:"(\d{1,9})"|(\d{1,9}))$/.exec(header);
  const revision = Number(match?.[1] ?? match?.[2] ?? 0);
  if (revision < 1)
    throw new ProblemError(
      400,
      'Bad Request',
      `If-Match ${JSON.stringify(header.slice(0, 80))} is not a revision of subscription ${id}; send the ETag of GET /api/subscriptions/${id} (such as "3"), or * for any revision.`,
    );
  return revision;
}

/** Runs a write made against a revision: a 412 saying what is current when someone changed it meanwhile. */
async function asPrecondition<T>(id: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof SubscriptionConflictError)) throw error;
    throw preconditionFailed(id, error.current, String(error.expected));
  }
}

function preconditionFailed(id: string, current: number, expected: string): ProblemError {
  return new ProblemError(
    412,
    'Precondition Failed',
    current === 0
      ? `Subscription ${id} does not exist (or was deleted), but this change was made against ${expected === '*' ? 'an existing one (If-Match: *)' : `revision ${expected}`}. Nothing was changed; PUT it without If-Match to create it.`
      : `Subscription ${id} is at revision ${current}, but this change was made against revision ${expected}: someone changed it meanwhile. Nothing was changed; reload it, re-apply your change, and send it again with If-Match: "${current}".`,
    { id, currentRevision: current },
  );
}

/** Runs a write restricted to `actor`'s subscriptions; another's is a 403 that says whose it is and why. */
async function asOwner<T>(id: string, actor: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof SubscriptionOwnerError)) throw error;
    throw new ProblemError(
      403,
      'Forbidden',
      `Subscription ${id} belongs to ${JSON.stringify(error.owner)}. This token has the read scope, which manages only its own subscriptions (owner ${JSON.stringify(actor)}); changing another's needs the write scope.`,
      { owner: error.owner },
    );
  }
}

function managesAll(res: Response): boolean {
  return res.locals[MANAGES_ALL] === true;
}

/** The acting user (see `requireScope`); always set behind {@link subscriptionsAccess}. */
function actorName(res: Response): string {
  const actor = actorOf(res);
  if (actor === undefined) throw new Error('the subscriptions router needs subscriptionsAccess in front of it');
  return actor;
}

function ownerQuery(req: Request): string | undefined {
  const owner = req.query['owner'];
  if (owner === undefined) return undefined;
  if (typeof owner !== 'string' || owner.trim() === '' || owner.length > MAX_OWNER_LENGTH)
    throw new ProblemError(
      400,
      'Bad Request',
      `Give ?owner= once, as me (your own) or an owner's name of 1-${MAX_OWNER_LENGTH} characters.`,
    );
  return owner;
}

function bodyFormat(req: Request): DefinitionFormat {
  if (req.is('application/json') || req.is('application/*+json')) return 'json';
  if (req.is(YAML_TYPES)) return 'yaml';
  throw new ProblemError(
    415,
    'Unsupported Media Type',
    `Send the subscription as JSON (Content-Type: application/json) or YAML (Content-Type: application/yaml); got ${req.get('content-type') ?? 'no Content-Type'}.`,
  );
}

function subscriptionIdParam(req: Request): string {
  const id = routeParam(req, 'id');
  if (!SUBSCRIPTION_ID.test(id))
    throw new ProblemError(
      400,
      'Bad Request',
      `${JSON.stringify(id.slice(0, 80))} is not a subscription id: use 1-128 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, such as alice-shop-releases.`,
    );
  return id;
}

function notFound(id: string): ProblemError {
  return new ProblemError(
    404,
    'Not Found',
    `There is no subscription ${id}. GET /api/subscriptions lists them; PUT /api/subscriptions/${id} creates it.`,
  );
}

/** 422 with every problem and its path (and, for YAML, its line); nothing was stored. */
function invalid(errors: readonly (DefinitionError & { line?: number })[]): ProblemError {
  const first = errors[0];
  return new ProblemError(
    422,
    'Invalid Subscription',
    `The subscription was not saved: ${errors.length} error${errors.length === 1 ? '' : 's'}${first ? `, the first at ${first.path}: ${first.message}` : ''}`,
    { errors },
  );
}
