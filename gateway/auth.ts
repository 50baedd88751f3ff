import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Scope, ScopedToken } from '../config';
import { ProblemError } from './problem';

/** One accepted token and its scope; tokens come from `FLOW_API_TOKEN` and `FLOW_API_TOKENS` (see config/). */
export type ApiToken = ScopedToken;

/**
 * Requires `Authorization: Bearer <token>` with at least `needed` scope. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured token, so neither a token's content nor its length leaks through
 * timing. Tokens are never logged.
 */
export function requireScope(tokens: readonly ApiToken[], needed: Scope): RequestHandler {
  const known = tokens.map((entry) => ({ digest: digest(entry.token), scope: entry.scope, name: entry.name }));
  return (req, res, next) => {
    const header = req.get('authorization');
    if (!header) {
      next(
        unauthorized(
          'This endpoint needs `Authorization: Bearer <token>`; the token is FLOW_API_TOKEN (npm start prints it).',
        ),
      );
      return;
    }
    const given = digest(/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '');
    let scope: Scope | undefined;
    let name: string | undefined;
    for (const entry of known) {
      if (timingSafeEqual(given, entry.digest)) {
        scope = entry.scope;
        name = entry.name;
      }
    }
    if (!scope) {
      next(
        unauthorized(
          'The bearer token is not valid. Use the value of FLOW_API_TOKEN (kept in .data/api-token by npm start).',
        ),
      );
      return;
    }
    if (needed === 'write' && scope !== 'write') {
      next(
        new ProblemError(
          403,
          'Forbidden',
          `This token has the read scope; ${req.method} ${req.originalUrl.split('?')[0]} needs a token with the write scope.`,
        ),
      );
      return;
    }
    // The actor of whatever this request does: the author of a revision, the actor of an event, who removed a run
    // from a train. The name, never the token.
    res.locals['actor'] = name;
    next();
  };
}

/** The name of the token this request was authorised with (see {@link requireScope}); undefined before that. */
export function actorOf(res: Response): string | undefined {
  const actor: unknown = res.locals['actor'];
  return typeof actor === 'string' ? actor : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="flow"' } });
}
