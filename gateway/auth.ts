import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Scope, ScopedToken } from '../config';
import { ProblemError } from './problem';

/** One accepted token and its scope; tokens come from `FLOW_API_TOKEN` and `FLOW_API_TOKENS` (see config/). */
export type ApiToken = ScopedToken;

/** The console's session cookie (see {@link ApiAuth.startSession}). */
export const SESSION_COOKIE = 'flow_session';
/** How long a console session lasts: a working day. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** The header a cookie-authenticated request that changes something must carry: the session's `csrf`. */
export const CSRF_HEADER = 'X-Flow-CSRF';
/** What {@link deriveKey} derives the session signing key for. */
export const SESSION_KEY_PURPOSE = 'flow console session';

/** A signed-in console session, as its cookie says. */
export interface Session {
  /** The name of the token the session was started with; the actor of what the session does. */
  readonly actor: string;
  readonly scope: Scope;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  /** The value {@link CSRF_HEADER} must carry on every request that changes something. */
  readonly csrf: string;
  /**
   * A keyed fingerprint of the token (never the token): the session ends when its token is removed from the
   * configuration or changes scope, rather than up to 8 hours later. For an OpenID Connect session, a fingerprint of
   * the OIDC configuration instead (see {@link createApiAuth}).
   */
  readonly tok: string;
}

/** How the gateway authenticates API requests: bearer tokens and the console's signed session cookies. */
export interface ApiAuth {
  /** The configured token equal to `presented`, compared in constant time with every token; undefined for none. */
  lookup(presented: string): ApiToken | undefined;
  /** A new session for `token`: the cookie's value and what it holds. */
  startSession(token: ApiToken): { readonly value: string; readonly session: Session };
  /**
   * A new session for a user the OpenID Connect sign-in vouched for, with the scope their groups map to; throws when
   * OIDC is not configured.
   */
  startOidcSession(actor: string, scope: Scope): { readonly value: string; readonly session: Session };
  /**
   * The session in the request's cookie: undefined without a cookie, `invalid` when it is tampered with, expired,
   * or its token is no longer configured with that name and scope.
   */
  sessionOf(req: Request): Session | 'invalid' | undefined;
}

/**
 * Derives a key for one purpose from a secret, as HMAC-SHA256(secret, purpose), so that one secret (such as
 * `FLOW_API_TOKEN`) can key several things (console sessions, page tokens) without any two sharing a key.
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(purpose).digest();
}

/**
 * Builds the gateway's authentication over `tokens`, signing console sessions with `sessionKey` (see
 * {@link deriveKey}). Tokens are compared as SHA-256 digests with `timingSafeEqual`, against every configured
 * token, so neither a token's content nor its length leaks through timing. Tokens are never logged.
 *
 * `oidcBinding`, when OpenID Connect sign-in is configured, is a text that changes whenever who may sign in with which
 * scope changes (the issuer, the client, the groups and claims); OIDC sessions carry its keyed fingerprint as their
 * `tok`, so changing any of those ends them, as removing a token ends its sessions.
 */
export function createApiAuth(
  tokens: readonly ApiToken[],
  sessionKey: Buffer,
  now: () => number = Date.now,
  oidcBinding?: string,
): ApiAuth {
  const known = tokens.map((entry) => ({ digest: digest(entry.token), entry }));
  const keyed = (kind: string, value: string): string =>
    createHmac('sha256', sessionKey).update(`${kind}\0`).update(value).digest().subarray(0, 16).toString('base64url');
  const fingerprint = (token: string): string => keyed('token', token);
  const byFingerprint = new Map(tokens.map((entry) => [fingerprint(entry.token), entry]));
  const oidcTok = oidcBinding === undefined ? undefined : keyed('oidc', oidcBinding);
  const sign = (payload: string): Buffer => createHmac('sha256', sessionKey).update(payload).digest();
  const start = (actor: string, scope: Scope, tok: string): { value: string; session: Session } => {
    const session: Session = {
      actor,
      scope,
      exp: Math.floor(now() / 1000) + SESSION_TTL_SECONDS,
      csrf: randomBytes(24).toString('base64url'),
      tok,
    };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { value: `${payload}.${sign(payload).toString('base64url')}`, session };
  };

  return {
    lookup(presented) {
      const given = digest(presented);
      let found: ApiToken | undefined;
      for (const { digest: candidate, entry } of known) {
        if (timingSafeEqual(given, candidate)) found = entry;
      }
      return found;
    },

    startSession(token) {
      return start(token.name, token.scope, fingerprint(token.token));
    },

    startOidcSession(actor, scope) {
      if (oidcTok === undefined) throw new Error('OpenID Connect sign-in is not configured');
      return start(actor, scope, oidcTok);
    },

    sessionOf(req) {
      const value = cookieValue(req.get('cookie'), SESSION_COOKIE);
      if (value === undefined) return undefined;
      const match = /^([A-Za-z0-9_-]{1,4000})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!match?.[1] || !match[2]) return 'invalid';
      // Compared as text, so only the one canonical encoding of the signature is accepted.
      if (!timingSafeEqual(Buffer.from(match[2]), Buffer.from(sign(match[1]).toString('base64url')))) return 'invalid';
      const session = parseSession(Buffer.from(match[1], 'base64url').toString('utf8'));
      if (!session || session.exp * 1000 <= now()) return 'invalid';
      // The payload is signed, so an OIDC session's actor and scope are as the callback set them.
      if (oidcTok !== undefined && session.tok === oidcTok) return session;
      const token = byFingerprint.get(session.tok);
      if (!token || token.name !== session.actor || token.scope !== session.scope) return 'invalid';
      return session;
    },
  };
}

/** The `Set-Cookie` value that stores a session (`value` from {@link ApiAuth.startSession}), or clears it. */
export function sessionCookie(value: string | null, secure: boolean): string {
  return httpOnlyCookie(SESSION_COOKIE, value, { path: '/', sameSite: 'Strict', maxAge: SESSION_TTL_SECONDS }, secure);
}

/** The `Set-Cookie` value of an HttpOnly cookie holding `value`, or clearing it when `value` is null. */
export function httpOnlyCookie(
  name: string,
  value: string | null,
  options: { readonly path: string; readonly sameSite: 'Strict' | 'Lax'; readonly maxAge: number },
  secure: boolean,
): string {
  return [
    `${name}=${value ?? ''}`,
    `Path=${options.path}`,
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    `Max-Age=${value === null ? 0 : options.maxAge}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Requires at least `needed` scope, from `Authorization: Bearer <token>` or, without that header, from a console
 * session cookie. A cookie request that changes something (anything but GET and HEAD) must also carry
 * {@link CSRF_HEADER} with the session's `csrf`: a cookie is sent by the browser on its own, a header only by the
 * console's own code.
 */
export function requireScope(auth: ApiAuth, needed: Scope): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization');
    let scope: Scope;
    let name: string;
    if (header) {
      const token = auth.lookup(/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '');
      if (!token) {
        next(
          unauthorized(
            'The bearer token is not valid. Use the value of FLOW_API_TOKEN (kept in .data/api-token by npm start).',
          ),
        );
        return;
      }
      ({ scope, name } = token);
    } else {
      const session = auth.sessionOf(req);
      if (session === undefined) {
        next(
          unauthorized(
            'This endpoint needs `Authorization: Bearer <token>`; the token is FLOW_API_TOKEN (npm start prints it). In a browser, sign in to the console at /ui.',
          ),
        );
        return;
      }
      if (session === 'invalid') {
        next(unauthorized('The console session is not valid or has expired; sign in again at /ui.'));
        return;
      }
      if (!SAFE_METHODS.has(req.method) && !sameSecret(req.get(CSRF_HEADER) ?? '', session.csrf)) {
        next(
          new ProblemError(
            403,
            'Forbidden',
            `A request with a console session that changes something must carry the ${CSRF_HEADER} header with the session's csrf value (GET /ui/session returns it).`,
          ),
        );
        return;
      }
      scope = session.scope;
      name = session.actor;
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
    res.locals['scope'] = scope;
    res.locals['via'] = header ? 'token' : 'session';
    next();
  };
}

/** Who is asking, as `GET /api/whoami` says it: the actor's name, its scope, and whether by token or console session. */
export function callerOf(res: Response): { actor: string; scope: Scope; via: 'token' | 'session' } | undefined {
  const { actor, scope, via } = res.locals as { actor?: unknown; scope?: unknown; via?: unknown };
  if (typeof actor !== 'string' || (scope !== 'read' && scope !== 'write') || (via !== 'token' && via !== 'session'))
    return undefined;
  return { actor, scope, via };
}

/** The name of the token this request was authorised with (see {@link requireScope}); undefined before that. */
export function actorOf(res: Response): string | undefined {
  const actor: unknown = res.locals['actor'];
  return typeof actor === 'string' ? actor : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The first value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function parseSession(json: string): Session | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { actor, scope, exp, csrf, tok } = value as Record<string, unknown>;
  if (typeof actor !== 'string' || (scope !== 'read' && scope !== 'write')) return undefined;
  if (typeof exp !== 'number' || typeof csrf !== 'string' || typeof tok !== 'string') return undefined;
  return { actor, scope, exp, csrf, tok };
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="flow"' } });
}
