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

/** The parsed JSON body, which must be an object. */
export function requireJsonObject(req: Request): Record<string, unknown> {
  requireJsonContentType(req);
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProblemError(400, 'Bad Request', 'The body must be a JSON object, such as {"issue": "REL-7"}.');
  }
  return body as Record<string, unknown>;
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
