/**
 * The definitions API as the editing pages use it: a definition's YAML (as written, comments included), a dry save
 * that answers what a save would change or every error with its path and line, saves with a change message, and
 * restoring a revision. Every write carries the session's CSRF header (`call` in api.ts).
 */
import { call } from './api';

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

/** Checks YAML as a save would, without saving; an `ApiError` (400 or 422) says what is wrong and where. */
export function validateYaml(id: string, text: string): Promise<Validated> {
  return call<Validated>('POST', `${definitionUrl(id)}/validate`, undefined, { text: { body: text, type: YAML } });
}

/** Saves YAML as the definition's new revision, with a change message. */
export function saveYaml(id: string, text: string, message: string): Promise<Saved> {
  return call<Saved>('PUT', definitionUrl(id), undefined, {
    text: { body: text, type: YAML },
    headers: messageHeader(message),
  });
}

/** Saves revision `revision` again as the newest, with a change message. */
export function restoreRevision(id: string, revision: number, message: string): Promise<Saved> {
  return call<Saved>('POST', `${definitionUrl(id)}/revisions/${revision}/restore`, undefined, {
    headers: messageHeader(message),
  });
}
