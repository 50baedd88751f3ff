/**
 * Defensive readers for webhook payloads. Payloads are untrusted JSON, so every read checks the type and only
 * looks at own properties: a field named `toString` or `__proto__` must never resolve to something inherited.
 */
import type { AdapterResult, WebhookRequest } from '../adapter';

/** A JSON object as adapters read it. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Longest free-text value (commit messages, titles, comments) copied into an event body; keeps workflow history small. */
export const MESSAGE_MAX = 1_000;
/** Longest name-like value (keys, refs, users, URLs) copied into an event body. */
export const NAME_MAX = 200;
/** Most list entries (commits, parameters) copied into an event body. */
export const LIST_MAX = 100;

/** The shape every Flow event type must have; definitions match on it and it becomes part of event ids. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Own property `key` of `value` when `value` is a plain (non-array) object. */
function own(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** Cuts `text` to `max` UTF-16 units without leaving half a surrogate pair behind. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** The object at `key`, or undefined when it is missing or not an object. */
export function objectAt(value: unknown, key: string): JsonObject | undefined {
  const field = own(value, key);
  return typeof field === 'object' && field !== null && !Array.isArray(field) ? (field as JsonObject) : undefined;
}

/** The array at `key`, or undefined when it is missing or not an array. */
export function arrayAt(value: unknown, key: string): readonly unknown[] | undefined {
  const field = own(value, key);
  return Array.isArray(field) ? field : undefined;
}

/** The non-empty string at `key`, capped at `max`, or undefined. */
export function stringAt(value: unknown, key: string, max: number = NAME_MAX): string | undefined {
  const field = own(value, key);
  return typeof field === 'string' && field !== '' ? cap(field, max) : undefined;
}

/** The finite number at `key`, or undefined. */
export function numberAt(value: unknown, key: string): number | undefined {
  const field = own(value, key);
  return typeof field === 'number' && Number.isFinite(field) ? field : undefined;
}

/** The boolean at `key`, or `fallback` when it is missing or not a boolean. */
export function booleanAt(value: unknown, key: string, fallback = false): boolean {
  const field = own(value, key);
  return typeof field === 'boolean' ? field : fallback;
}

/** The objects in `list`, at most `max` of them; other entries are skipped because they carry nothing to read. */
export function objectsIn(list: readonly unknown[] | undefined, max: number = LIST_MAX): JsonObject[] {
  const found: JsonObject[] = [];
  for (const entry of list ?? []) {
    if (found.length >= max) break;
    if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) found.push(entry as JsonObject);
  }
  return found;
}

/** A request header as a non-empty string capped at `max`, or undefined. */
export function headerOf(request: WebhookRequest, name: string, max: number = NAME_MAX): string | undefined {
  const value = Object.hasOwn(request.headers, name) ? request.headers[name] : undefined;
  return typeof value === 'string' && value.trim() !== '' ? cap(value.trim(), max) : undefined;
}

/** Renders an untrusted value for an error message: quoted, capped and free of control characters. */
export function quote(value: string): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(cap(value.replace(/[\u0000-\u001f\u007f]/g, '?'), 64));
}

/** A `refs/heads/…` or `refs/tags/…` ref split into the branch or tag it names (both null for other refs). */
export function refParts(ref: string): { branch: string | null; tag: string | null } {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length), tag: null };
  if (ref.startsWith('refs/tags/')) return { branch: null, tag: ref.slice('refs/tags/'.length) };
  return { branch: null, tag: null };
}

/** Git commits in the shape GitHub and GitLab share: `{ id, message, author: { email } }`. */
export function commitsAt(
  value: unknown,
  key: string,
): { id: string | null; message: string | null; author: string | null }[] {
  return objectsIn(arrayAt(value, key)).map((commit) => ({
    id: stringAt(commit, 'id') ?? null,
    message: stringAt(commit, 'message', MESSAGE_MAX) ?? null,
    author: stringAt(objectAt(commit, 'author'), 'email') ?? null,
  }));
}

/** An invalid-request result. */
export function invalid(status: 400 | 422, detail: string): AdapterResult {
  return { kind: 'invalid', status, detail };
}

/**
 * An event result, re-checking the type so that no adapter can emit one definitions could never match. `actor` is
 * the product's id of the user who caused it, when the payload names one.
 */
export function event(
  type: string,
  body: JsonObject,
  deliveryKey: string | undefined,
  actor?: string | null,
): AdapterResult {
  if (!EVENT_TYPE_PATTERN.test(type)) return invalid(422, `Event type ${quote(type)} is not a valid Flow event type`);
  return {
    kind: 'event',
    type,
    body,
    ...(deliveryKey === undefined ? {} : { deliveryKey }),
    ...(actor === undefined || actor === null ? {} : { actor }),
  };
}
