import { Router, type Request, type Response } from 'express';
import type { AnyAction } from '../activities';
import { DEFINITION_ID, EVENT_NAME, type Definition } from '../common/definition';
import {
  definitionToYaml,
  DefinitionDeletedError,
  DefinitionSyntaxError,
  parseDefinitionText,
  validateDefinition,
  type DefinitionFormat,
  type DefinitionStore,
  type StoredDefinition,
} from '../registry';
import { definitionChanges } from '../registry/definition-changes';
import { withYamlLines } from '../registry/definition-format';
import type { RevisionChange } from '../registry/definitions-store';
import type { DefinitionError } from '../registry/validate-definition';
import { actorOf } from './auth';
import { ProblemError } from './problem';
import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import { decodeUtf8, rawBody, rawBodyOf, routeParam } from './request-body';
import { checkPrecondition, revisionPrecondition, saveUnder } from './revision-precondition';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
/** The change message of a save, like a commit message; `?message=` is the fallback for clients without headers. */
const MESSAGE_HEADER = 'X-Flow-Change-Message';
const MESSAGE_MAX = 500;

/**
 * `/api/definitions`: save (new revision), validate without saving, read, export as YAML, list, revisions, restore
 * and delete. Every revision records its author (the acting token's name) and the change message the save carried.
 */
export function definitionsRouter(store: DefinitionStore, catalog: ReadonlyMap<string, AnyAction>): Router {
  const router = Router();
  router.put('/definitions/:id', rawBody, async (req, res) => {
    const id = definitionIdParam(req);
    const change = changeOf(req, res);
    const precondition = revisionPrecondition(req, id);
    const { definition, source, format } = checkedBody(req, id, catalog);
    const saved = await saveUnder(
      id,
      precondition,
      () => currentRevisionOf(store, id),
      (expectedRevision) =>
        store.save(definition, { text: source, format }, change, expectedRevisionOption(expectedRevision)),
    );
    res.status(saved.unchanged ? 200 : 201).json(saved);
  });

  // A dry save: the same checks and the same 400 and 422 answers as PUT, and what a save would change; nothing is
  // stored. It needs the write scope like any POST: it is the step before a save, which a read token cannot make.
  router.post('/definitions/:id/validate', rawBody, async (req, res) => {
    const id = definitionIdParam(req);
    const precondition = revisionPrecondition(req, id);
    const { definition, source } = checkedBody(req, id, catalog);
    const current = await currentOrNone(store, id);
    // As PUT would answer: 412 when the save's If-Match (or If-None-Match: *) does not hold now.
    checkPrecondition(id, precondition, current?.revision ?? 0);
    // As the store decides: a save stores nothing only when both the definition and its text are the same.
    const unchanged =
      current !== undefined &&
      JSON.stringify(current.definition) === JSON.stringify(definition) &&
      current.sourceText === source;
    res.json({
      ok: true,
      id,
      revision: current?.revision ?? null,
      unchanged,
      diff: definitionChanges(current?.definition, definition),
    });
  });

  router.get('/definitions', async (req, res) => {
    const bound = boundEventOf(req);
    if (bound) {
      // The definitions bound to one event, from the registry's index by event: as fast with 10,000 definitions as
      // with 10, and in one page.
      const snapshots = await store.findForEvent(bound.source, bound.type);
      res.json({
        items: snapshots.map(({ definition, revision }) => ({
          id: definition.id,
          name: definition.name,
          ...(definition.description === undefined ? {} : { description: definition.description }),
          enabled: definition.enabled,
          revision,
          on: definition.on,
        })),
        next: null,
      });
      return;
    }
    const limit = Math.min(Math.max(Number(req.query['limit'] ?? 100) || 100, 1), 1_000);
    const after = typeof req.query['after'] === 'string' ? req.query['after'] : undefined;
    const items = await store.list({ limit, ...(after === undefined ? {} : { after }) });
    const last = items.at(-1);
    res.json({
      items,
      next:
        items.length === limit && last ? `/api/definitions?after=${encodeURIComponent(last.id)}&limit=${limit}` : null,
    });
  });

  router.get('/definitions/:id', async (req, res) => {
    const id = definitionIdParam(req);
    const revision = revisionParam(req.query['revision']);
    const stored = await getOrThrow(store, id, revision);
    sendDefinition(req, res, stored);
  });

  router.get('/definitions/:id/revisions', async (req, res) => {
    const id = definitionIdParam(req);
    const revisions = await store.revisions(id);
    if (revisions.length === 0) throw notFound(id);
    res.json({ id, revisions });
  });

  router.post('/definitions/:id/revisions/:revision/restore', async (req, res) => {
    const id = definitionIdParam(req);
    const revision = revisionParam(routeParam(req, 'revision'));
    const change = changeOf(req, res);
    // If-Match names the current revision the restore replaces, not the one restored.
    const precondition = revisionPrecondition(req, id);
    const stored = await store.get(id, revision);
    if (!stored)
      throw new ProblemError(
        404,
        'Not Found',
        `Definition ${id} has no revision ${String(revision)}; GET /api/definitions/${id}/revisions lists them.`,
      );
    // Actions may have changed since that revision was saved, so it is validated again like any save.
    const result = validateDefinition(stored.definition, catalog);
    if (!result.ok) throw invalid(result.errors);
    const saved = await saveUnder(
      id,
      precondition,
      () => currentRevisionOf(store, id),
      (expectedRevision) =>
        store.save(
          result.definition,
          { format: stored.sourceFormat, ...(stored.sourceText === undefined ? {} : { text: stored.sourceText }) },
          change,
          expectedRevisionOption(expectedRevision),
        ),
    );
    res.status(saved.unchanged ? 200 : 201).json({ ...saved, restoredFrom: revision });
  });

  router.delete('/definitions/:id', async (req, res) => {
    const id = definitionIdParam(req);
    // An If-Match is checked just before the delete; the store's delete takes no revision, so unlike a save's this
    // check is not made under the definition's lock.
    const precondition = revisionPrecondition(req, id);
    if (precondition !== undefined) checkPrecondition(id, precondition, await currentRevisionOf(store, id));
    const deleted = await store.delete(id);
    if (!deleted) throw notFound(id);
    res.json({ id, deleted: true, lastRevision: deleted.revision });
  });

  return router;
}

/**
 * The definition a PUT (or a dry save) carries, parsed and validated: a 400 for a body that is not YAML or JSON
 * (with the `line` and `column` of a YAML syntax error), a 422 listing every problem with its path and, for YAML,
 * the `line` it points at.
 */
function checkedBody(
  req: Request,
  id: string,
  catalog: ReadonlyMap<string, AnyAction>,
): { definition: Definition; source: string; format: DefinitionFormat } {
  const format = bodyFormat(req);
  const source = decodeUtf8(req, rawBodyOf(req));
  if (source.trim() === '') {
    throw new ProblemError(400, 'Bad Request', `The body is empty; send the definition as ${format.toUpperCase()}.`);
  }
  const rejected = (errors: readonly DefinitionError[]): ProblemError =>
    invalid(format === 'yaml' ? withYamlLines(source, errors) : errors);
  let raw: unknown;
  try {
    raw = parseDefinitionText(source, format);
  } catch (error) {
    if (!(error instanceof DefinitionSyntaxError)) throw error;
    const where = error.line ? ` (line ${error.line}, column ${error.column ?? 1})` : '';
    throw new ProblemError(
      400,
      'Bad Request',
      `The definition is not valid ${format.toUpperCase()}${where}: ${error.message}`,
      error.line ? { line: error.line, column: error.column ?? 1 } : {},
    );
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The definition nests objects and lists deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const body = raw as Record<string, unknown>;
    if (body['id'] === undefined) raw = { id, ...body };
    else if (body['id'] !== id) {
      throw rejected([
        {
          path: 'id',
          message: `is ${JSON.stringify(body['id'])} but the URL says ${JSON.stringify(id)}; they must match`,
        },
      ]);
    }
  }
  const result = validateDefinition(raw, catalog);
  if (!result.ok) throw rejected(result.errors);
  return { definition: result.definition, source, format };
}

/** The current revision's number; 0 for a definition that does not exist (or was deleted). */
async function currentRevisionOf(store: DefinitionStore, id: string): Promise<number> {
  return (await currentOrNone(store, id))?.revision ?? 0;
}

function expectedRevisionOption(expectedRevision: number | undefined): { expectedRevision?: number } {
  return expectedRevision === undefined ? {} : { expectedRevision };
}

/** The current revision, or undefined for a definition that does not exist (or was deleted). */
async function currentOrNone(store: DefinitionStore, id: string): Promise<StoredDefinition | undefined> {
  try {
    return (await store.get(id)) ?? undefined;
  } catch (error) {
    if (error instanceof DefinitionDeletedError) return undefined;
    throw error;
  }
}

async function getOrThrow(store: DefinitionStore, id: string, revision: number | undefined): Promise<StoredDefinition> {
  try {
    const stored = await store.get(id, revision);
    if (stored) return stored;
  } catch (error) {
    if (error instanceof DefinitionDeletedError) {
      throw new ProblemError(
        404,
        'Not Found',
        `Definition ${id} was deleted (last revision ${error.lastRevision}). PUT it again, or restore a revision with POST /api/definitions/${id}/revisions/${error.lastRevision}/restore.`,
      );
    }
    throw error;
  }
  if (revision !== undefined)
    throw new ProblemError(
      404,
      'Not Found',
      `Definition ${id} has no revision ${revision}; GET /api/definitions/${id}/revisions lists them.`,
    );
  throw notFound(id);
}

function sendDefinition(req: Request, res: Response, stored: StoredDefinition): void {
  const tag = `${stored.definition.id}@${stored.revision}`;
  res.set('Flow-Revision', String(stored.revision));
  // The same URL answers JSON or YAML: a cache (a browser's) must keep them apart, and their tags must differ, or a
  // revalidated YAML request is answered 304 with the JSON the cache holds.
  res.vary('Accept');
  if (req.accepts(['application/json', ...YAML_TYPES]) !== 'application/json' && req.accepts(YAML_TYPES)) {
    res.set('ETag', `"${tag}.yaml"`);
    // Export: the YAML as it was written when it was saved as YAML (comments included), otherwise generated.
    const yaml =
      stored.sourceFormat === 'yaml' && stored.sourceText ? stored.sourceText : definitionToYaml(stored.definition);
    res.type('application/yaml').send(yaml);
    return;
  }
  res.set('ETag', `"${tag}"`);
  res.json({
    id: stored.definition.id,
    revision: stored.revision,
    createdAt: stored.createdAt,
    author: stored.author,
    message: stored.message,
    definition: stored.definition,
  });
}

function bodyFormat(req: Request): DefinitionFormat {
  if (req.is('application/json') || req.is('application/*+json')) return 'json';
  if (req.is(YAML_TYPES)) return 'yaml';
  throw new ProblemError(
    415,
    'Unsupported Media Type',
    `Send the definition as YAML (Content-Type: application/yaml) or JSON (Content-Type: application/json); got ${req.get('content-type') ?? 'no Content-Type'}.`,
  );
}

/** Who makes this change (the token's name) and why, as the request says. */
function changeOf(req: Request, res: Response): RevisionChange {
  const author = actorOf(res);
  const message = changeMessage(req);
  return { ...(author === undefined ? {} : { author }), ...(message === undefined ? {} : { message }) };
}

/** The change message from the header or, failing that, `?message=`; blank means none. */
function changeMessage(req: Request): string | undefined {
  const header = req.get(MESSAGE_HEADER);
  const query = req.query['message'];
  if (header === undefined && query !== undefined && typeof query !== 'string') {
    throw new ProblemError(400, 'Bad Request', 'Give ?message= once.');
  }
  const given = header === undefined ? query : utf8Header(header);
  const message = typeof given === 'string' ? given.trim() : '';
  if (message === '') return undefined;
  const where = header === undefined ? '?message=' : MESSAGE_HEADER;
  if (/\p{Cc}/u.test(message)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The change message (${where}) holds a control character, such as a line break or a tab; send one line of text.`,
    );
  }
  const length = [...message].length;
  if (length > MESSAGE_MAX) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The change message (${where}) is ${length} characters long; keep it to ${MESSAGE_MAX}.`,
    );
  }
  return message;
}

/** Node reads header bytes as Latin-1; a client sending UTF-8 (as curl does) means the text those bytes encode. */
function utf8Header(value: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    throw new ProblemError(400, 'Bad Request', `The ${MESSAGE_HEADER} header is not UTF-8 text.`);
  }
}

function definitionIdParam(req: Request): string {
  const id = routeParam(req, 'id');
  if (!DEFINITION_ID.test(id)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `${JSON.stringify(id.slice(0, 80))} is not a definition id: use 1-64 lowercase letters, digits and dashes, such as start-release.`,
    );
  }
  return id;
}

function revisionParam(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[1-9]\d{0,8}$/.test(value)) {
    throw new ProblemError(400, 'Bad Request', 'revision must be a positive whole number, such as ?revision=3.');
  }
  return Number(value);
}

function notFound(id: string): ProblemError {
  return new ProblemError(
    404,
    'Not Found',
    `There is no definition ${id}. GET /api/definitions lists the definitions; PUT /api/definitions/${id} creates it.`,
  );
}

/** 422 with every validation error and its path (and, for YAML, its line). */
export function invalid(errors: readonly { path: string; message: string; line?: number }[]): ProblemError {
  const first = errors[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid definition';
  return new ProblemError(
    422,
    'Invalid Definition',
    `The definition was not saved: ${errors.length} error${errors.length === 1 ? '' : 's'}, the first at ${summary}`,
    { errors },
  );
}

/**
 * `?source=jira&type=issue_transitioned`: both or neither, each an event name; anything else is a 400 rather than a
 * silently unfiltered list.
 */
function boundEventOf(req: Request): { source: string; type: string } | undefined {
  const source = req.query['source'];
  const type = req.query['type'];
  if (source === undefined && type === undefined) return undefined;
  if (typeof source !== 'string' || typeof type !== 'string' || !EVENT_NAME.test(source) || !EVENT_NAME.test(type))
    throw new ProblemError(
      400,
      'Bad Request',
      'Filter the definitions by event with both source and type, each 1-64 lowercase letters, digits, ".", "_" or "-", such as ?source=jira&type=issue_transitioned.',
    );
  return { source, type };
}
