import express, { type Request, type RequestHandler } from 'express';
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

/** Deepest nesting of objects and arrays accepted in a JSON body. */
export const MAX_JSON_DEPTH = 64;

/** The body {@link jsonBody} parsed, which must be an object no deeper than {@link MAX_JSON_DEPTH}. */
export function requireJsonObject(req: Request): Record<string, unknown> {
  return checkObject(req.body);
}

/** Parses a raw body as a JSON object: UTF-8 only, no deeper than {@link MAX_JSON_DEPTH}; 415/400 otherwise. */
export function parseJsonObject(req: Request, raw: Buffer): Record<string, unknown> {
  requireJsonContentType(req);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ProblemError(400, 'Bad Request', 'The body is not valid UTF-8; send JSON encoded as UTF-8.');
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

/** True when `value` nests deeper than `limit`; iterative, so a hostile body cannot overflow the stack. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A route parameter as a single string. */
export function routeParam(req: Request, name: string): string {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : '';
}

const parseJson = express.json({ limit: '1mb', type: () => true });

/** Checks the Content-Type first (415), then parses up to 1 MB of JSON (413 beyond, 400 when malformed). */
export const jsonBody: RequestHandler = (req, res, next) => {
  try {
    requireJsonContentType(req);
  } catch (error) {
    next(error);
    return;
  }
  parseJson(req, res, next);
};
