/**
 * The definitions API as the editing pages use it: a definition's YAML (as written, comments included), a dry save
 * that answers what a save would change or every error with its path and line, saves with a change message, and
 * restoring a revision. Every write carries the session's CSRF header (`call` in api.ts), and the revision the page
 * was loaded at (`If-Match`), so a save made after someone else's answers 412 instead of overwriting it.
 */
import { ApiError, call } from './api';

/** A value a save would change (`POST /api/definitions/:id/validate`). */
export interface DefinitionChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** `POST /api/definitions/:id/validate` when the definition is valid. */
export interface Validated {
  readonly ok: true;
  readonly id: string;
  /** The current revision the changes are against; null for a new definition. */
  readonly revision: number | null;
  /** True when saving would store nothing new. */
  readonly unchanged: boolean;
  readonly diff: readonly DefinitionChange[];
}

/** `PUT /api/definitions/:id` and restore. */
export interface Saved {
  readonly id: string;
  readonly revision: number;
  readonly unchanged: boolean;
}

const YAML = 'application/yaml';

/**
 * What a write is made against: the revision the page was loaded at (sent as `If-Match: "<n>"`), or `'new'` for a
 * definition that must not exist yet (`If-None-Match: *`).
 */
export type Base = number | 'new';

function preconditionHeader(base: Base | undefined): Record<string, string> {
  if (base === undefined) return {};
  return base === 'new' ? { 'If-None-Match': '*' } : { 'If-Match': `"${base}"` };
}

/** A write refused with 412: someone saved (or deleted, or created) the definition after the page read it. */
export interface Conflict {
  readonly id: string;
  /** The revision that is current now; 0 when the definition does not exist (or was deleted). */
  readonly current: number;
  /** The revision the write was made against; undefined for a new definition. */
  readonly expected?: number;
}

/** The conflict a refused write reports, or undefined for any other error. */
export function conflictOf(error: unknown): Conflict | undefined {
  if (!(error instanceof ApiError) || error.status !== 412) return undefined;
  const problem = error.problem as { id?: unknown; currentRevision?: unknown; expectedRevision?: unknown };
  if (typeof problem.id !== 'string' || typeof problem.currentRevision !== 'number') return undefined;
  return {
    id: problem.id,
    current: problem.currentRevision,
    ...(typeof problem.expectedRevision === 'number' ? { expected: problem.expectedRevision } : {}),
  };
}

function definitionUrl(id: string): string {
  return `/api/definitions/${encodeURIComponent(id)}`;
}

/**
 * The change message as a header. A header carries bytes, and the API reads them as UTF-8 (as curl sends them),
 * so the message's UTF-8 bytes go one per character; `fetch` refuses characters above U+00FF in a header.
 */
function messageHeader(message: string): Record<string, string> {
  const trimmed = message.trim();
  if (trimmed === '') return {};
  return { 'X-Flow-Change-Message': String.fromCharCode(...new TextEncoder().encode(trimmed)) };
}

/** The YAML of a definition: the current revision, or the given one. */
export function definitionYaml(id: string, revision?: number): Promise<string> {
  const query = revision === undefined ? '' : `?revision=${revision}`;
  return call<string>('GET', `${definitionUrl(id)}${query}`, undefined, { accept: YAML });
}

/**
 * Checks YAML as a save would, without saving; an `ApiError` (400 or 422) says what is wrong and where, and a 412
 * that `base` is no longer current.
 */
export function validateYaml(id: string, text: string, base?: Base): Promise<Validated> {
  return call<Validated>('POST', `${definitionUrl(id)}/validate`, undefined, {
    text: { body: text, type: YAML },
    headers: preconditionHeader(base),
  });
}

/** Saves YAML as the definition's new revision after `base`, with a change message; 412 when `base` is not current. */
export function saveYaml(id: string, text: string, message: string, base?: Base): Promise<Saved> {
  return call<Saved>('PUT', definitionUrl(id), undefined, {
    text: { body: text, type: YAML },
    headers: { ...messageHeader(message), ...preconditionHeader(base) },
  });
}

/**
 * Saves revision `revision` again as the newest, after `current` (the revision the page was loaded at), with a
 * change message; 412 when `current` is no longer current.
 */
export function restoreRevision(id: string, revision: number, message: string, current?: number): Promise<Saved> {
  return call<Saved>('POST', `${definitionUrl(id)}/revisions/${revision}/restore`, undefined, {
    headers: { ...messageHeader(message), ...preconditionHeader(current) },
  });
}
