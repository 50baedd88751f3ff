import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ProblemError } from './problem';

/** What a token may do: `read` may GET and plan; `write` may also save, delete, restore and post events. */
export type Scope = 'read' | 'write';

/** One accepted token and its scope. */
export interface ApiToken {
  readonly token: string;
  readonly scope: Scope;
}

/**
 * Parses `FLOW_API_TOKENS`, a comma-separated list of `scope:token` entries (such as
 * `read:dashboard-token,write:ci-token`), for tokens besides `FLOW_API_TOKEN` (which has the write scope).
 */
export function parseApiTokens(value: string | undefined): ApiToken[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(read|write):(\S{16,})$/.exec(entry);
      if (!match)
        throw new Error(
          'FLOW_API_TOKENS entries must be read:<token> or write:<token>, with tokens of 16 or more characters',
        );
      return { scope: match[1] as Scope, token: match[2]! };
    });
}

/**
 * Requires `Authorization: Bearer <token>` with at least `needed` scope. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured token, so neither a token's content nor its length leaks through
 * timing. Tokens are never logged.
 */
export function requireScope(tokens: readonly ApiToken[], needed: Scope): RequestHandler {
  const known = tokens.map((entry) => ({ digest: digest(entry.token), scope: entry.scope }));
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
    const given = digest(/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '');
    let scope: Scope | undefined;
    for (const entry of known) if (timingSafeEqual(given, entry.digest)) scope = entry.scope;
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
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="flow"' } });
}
