import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ProblemError } from './problem';

/**
 * Requires `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests with `timingSafeEqual`, so
 * neither the content nor the length of the expected token leaks through timing. Tokens are never logged.
 */
export function requireBearer(expectedToken: string): RequestHandler {
  const expected = digest(expectedToken);
  return (req, _res, next) => {
    const header = req.get('authorization');
    if (!header) {
      next(
        unauthorized(
          'This endpoint needs `Authorization: Bearer <token>`; the token is FLOW_API_TOKEN (npm start prints it).',
        ),
      );
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      next(
        unauthorized(
          'The bearer token is not valid. Use the value of FLOW_API_TOKEN (kept in .data/api-token by npm start).',
        ),
      );
      return;
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="flow"' } });
}
