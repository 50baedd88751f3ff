import express, { type Request, type RequestHandler } from 'express';
import { EVENT_NAME } from '../common/definition';
import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import { ProblemError } from './problem';

/** Requests must declare a JSON body; anything else is a 415 that says what to send. */
export function requireJsonContentType(req: Request): void {
  if (!req.is('application/json') && !req.is('application/*+json')) {
    throw new ProblemError(
      415,
      'Unsupported Media Type',
      `Send the body as JSON with Content-Type: application/json (got ${req.get('content-type') ?? 'none'}).`,
    );
  }
}

/** The body {@link jsonBody} parsed and checked: a JSON object no deeper than {@link MAX_JSON_DEPTH}. */
export function requireJsonObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error('requireJsonObject needs the jsonBody middleware on the route');
  }
  return body as Record<string, unknown>;
}

/** Parses a raw body as a JSON object: UTF-8 only, no deeper than {@link MAX_JSON_DEPTH}; 415/400 otherwise. */
export function parseJsonObject(req: Request, raw: Buffer): Record<string, unknown> {
  requireJsonContentType(req);
  const text = decodeUtf8(req, raw);
  if (text.trim() === '') {
    throw new ProblemError(400, 'Bad Request', 'The body is empty; send a JSON object, such as {"issue": "REL-7"}.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return checkObject(parsed);
}

/**
 * Decodes a body as UTF-8, the only encoding Flow accepts: a `charset` other than UTF-8 is a 415, and bytes that are
 * not UTF-8 are a 400 (rather than being replaced with U+FFFD and accepted).
 */
export function decodeUtf8(req: Request, raw: Buffer): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemError(
      415,
      'Unsupported Media Type',
      `The body must be UTF-8 encoded, but the Content-Type names charset=${charset.slice(0, 40)}.`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ProblemError(400, 'Bad Request', 'The body is not valid UTF-8; send it encoded as UTF-8.');
  }
}

/** Raw bytes of a body up to 1 MB, inflated when sent with gzip or deflate `Content-Encoding`. */
export const rawBody: RequestHandler = express.raw({ limit: '1mb', type: () => true });

/** The raw body {@link rawBody} read; empty when there was none. */
export function rawBodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function checkObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProblemError(400, 'Bad Request', 'The body must be a JSON object, such as {"issue": "REL-7"}.');
  }
  if (depthExceeds(body, MAX_JSON_DEPTH)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
  return body as Record<string, unknown>;
}

/** A route parameter as a single string. */
export function routeParam(req: Request, name: string): string {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : '';
}

/** The event's `source` or `type` from the route, for every route that names an event; a 400 unless it is valid. */
export function eventNameParam(req: Request, what: 'source' | 'type'): string {
  const value = routeParam(req, what);
  if (!EVENT_NAME.test(value)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The event ${what} ${JSON.stringify(value.slice(0, 64))} is not valid: use 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
  return value;
}

/**
 * Checks the Content-Type first (415), then reads up to 1 MB (413 beyond) and parses it with
 * {@link parseJsonObject}: UTF-8, a JSON object, at most {@link MAX_JSON_DEPTH} deep (400 otherwise).
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  try {
    requireJsonContentType(req);
  } catch (error) {
    next(error);
    return;
  }
  rawBody(req, res, (error?: unknown) => {
    if (error) {
      next(error);
      return;
    }
    try {
      req.body = parseJsonObject(req, rawBodyOf(req));
      next();
    } catch (parseError) {
      next(parseError);
    }
  });
};
