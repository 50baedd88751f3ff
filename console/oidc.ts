/**
 * The console's sign-in with OpenID Connect: the authorization code flow with PKCE, `state` and `nonce` through
 * `openid-client`, against the IdP of `FLOW_OIDC_ISSUER`. A user's groups claim maps to the read or write scope, and
 * the callback starts the same signed `flow_session` cookie as a token does, with the name claim as its actor. See
 * docs/console.md ("Signing in with OpenID Connect").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler, type Response } from 'express';
import * as oidc from 'openid-client';
import type { Scope } from '../config';
import type { OidcSettings } from '../config/load-config';
import { cookieValue, httpOnlyCookie, sessionCookie, type ApiAuth } from '../gateway/auth';

/** The short-lived cookie that carries one sign-in's PKCE verifier, `state` and `nonce` from login to callback. */
export const OIDC_FLOW_COOKIE = 'flow_oidc';
/** What {@link deriveKey} (gateway/auth.ts) derives the key signing {@link OIDC_FLOW_COOKIE} for. */
export const OIDC_FLOW_KEY_PURPOSE = 'flow console oidc sign-in';
/** How long a person has at the IdP before the callback is refused. */
const FLOW_TTL_SECONDS = 10 * 60;
/** How long a failed discovery is remembered before the next request tries again. */
const DISCOVERY_RETRY_MS = 10_000;
/** Seconds an IdP request may take; the sign-in page waits for discovery, so this is short. */
const IDP_TIMEOUT_SECONDS = 5;

/** What the sign-in page shows of the IdP (`GET /ui/auth/provider`). */
export type ProviderStatus =
  | { readonly name: string; readonly reachable: true; readonly endSession: boolean }
  | { readonly name: string; readonly reachable: false; readonly detail: string };

/** A sign-in the gateway refuses, with the HTTP status and a sentence for the person. */
export class OidcSignInError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'OidcSignInError';
  }
}

/** One IdP's sign-in: discovery (lazy, retried), the authorization request, and the checks of its answer. */
export interface OidcSignIn {
  /** The IdP's name on the sign-in page: the issuer's host. */
  readonly name: string;
  status(): Promise<ProviderStatus>;
  /** The IdP's authorization URL and the flow cookie's value for one sign-in. */
  begin(): Promise<{ readonly location: string; readonly flow: string }>;
  /** Checks the IdP's answer (the callback's query) against the flow cookie; the actor and scope it vouches for. */
  finish(query: string, flow: string | undefined): Promise<{ readonly actor: string; readonly scope: Scope }>;
  /** The IdP's logout address, when it has an `end_session_endpoint`. */
  endSessionUrl(): Promise<string | undefined>;
}

/**
 * The text that changes whenever who may sign in with which scope changes; OIDC sessions are bound to it (see
 * `createApiAuth`), so changing the issuer, the client, the groups or the claims ends them. The client secret is not
 * in it: rotating a secret changes no one's access.
 */
export function oidcSessionBinding(settings: OidcSettings): string {
  return JSON.stringify([
    settings.issuer,
    settings.clientId,
    settings.groupsClaim,
    [...settings.writeGroups].sort(),
    [...settings.readGroups].sort(),
    settings.nameClaim,
  ]);
}

/** The sign-in for `settings`; `flowKey` signs the flow cookie (see {@link OIDC_FLOW_KEY_PURPOSE}). */
export function createOidcSignIn(settings: OidcSettings, flowKey: Buffer, now: () => number = Date.now): OidcSignIn {
  const issuer = new URL(settings.issuer);
  const name = issuer.host;
  const sign = (payload: string): string => createHmac('sha256', flowKey).update(payload).digest('base64url');
  let configuration: oidc.Configuration | undefined;
  let failure: { readonly at: number; readonly detail: string } | undefined;
  let pending: Promise<oidc.Configuration> | undefined;

  // Discovery happens on the first sign-in, not at start: an IdP that is down must not stop the gateway. A failure
  // is kept for a few seconds, so a page load does not wait on a dead IdP each time, then tried again.
  const discover = (): Promise<oidc.Configuration> => {
    if (configuration) return Promise.resolve(configuration);
    if (failure && now() - failure.at < DISCOVERY_RETRY_MS) {
      return Promise.reject(new OidcSignInError(503, 'The identity provider cannot be reached', failure.detail));
    }
    pending ??= oidc
      .discovery(issuer, settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), {
        timeout: IDP_TIMEOUT_SECONDS,
        // Only a loopback issuer may be plain http (config/load-config.ts refuses any other).
        execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      })
      .then(
        (found) => {
          configuration = found;
          failure = undefined;
          return found;
        },
        (error: unknown) => {
          const detail = `The identity provider at ${settings.issuer} cannot be reached (${describe(error)}). Sign in with an API token, or try again later.`;
          failure = { at: now(), detail };
          throw new OidcSignInError(503, 'The identity provider cannot be reached', detail);
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    name,

    async status() {
      try {
        const found = await discover();
        return { name, reachable: true, endSession: found.serverMetadata().end_session_endpoint !== undefined };
      } catch (error) {
        return { name, reachable: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },

    async begin() {
      const config = await discover();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const location = oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUrl,
        scope: scopesToAsk(settings, config.serverMetadata().scopes_supported).join(' '),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const payload = Buffer.from(
        JSON.stringify({ v: verifier, s: state, n: nonce, exp: Math.floor(now() / 1000) + FLOW_TTL_SECONDS }),
      ).toString('base64url');
      return { location: location.href, flow: `${payload}.${sign(payload)}` };
    },

    async finish(query, flowValue) {
      const flow = readFlow(flowValue, sign, now);
      const answer = new URLSearchParams(query);
      // The state is checked here, before anything is sent to the IdP: an answer that this browser's sign-in did not
      // ask for (login CSRF, or a replayed callback) is refused at once. openid-client checks it again.
      if (!flow || !sameText(answer.get('state') ?? '', flow.s)) {
        throw new OidcSignInError(
          400,
          'This sign-in cannot be completed',
          flow
            ? "The identity provider's answer does not belong to the sign-in this browser started. Start again from the sign-in page."
            : `This browser has no sign-in under way: it took more than ${FLOW_TTL_SECONDS / 60} minutes, or it started at another address than ${settings.redirectUrl.replace(/\/auth\/callback$/, '')}. Start again from the sign-in page there.`,
        );
      }
      const config = await discover();
      const current = new URL(settings.redirectUrl);
      current.search = answer.toString();
      let claims: Record<string, unknown>;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: flow.v,
          expectedState: flow.s,
          expectedNonce: flow.n,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        if (!idToken) throw new Error('the identity provider returned no ID token');
        claims = { ...idToken };
        // IdPs often put profile claims only in userinfo (oidc-provider does for the code flow); the ID token wins.
        const missing = claims[settings.nameClaim] === undefined || claims[settings.groupsClaim] === undefined;
        if (missing && config.serverMetadata().userinfo_endpoint) {
          claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub)), ...claims };
        }
      } catch (error) {
        throw new OidcSignInError(
          statusOf(error),
          'The identity provider did not sign you in',
          `The sign-in at ${name} did not succeed: ${describe(error)}. Start again from the sign-in page.`,
        );
      }
      const named = claims[settings.nameClaim];
      const actor = typeof named === 'string' && named.trim() ? named.trim() : String(claims['sub']);
      const scope = scopeOf(groupsOf(claims[settings.groupsClaim]), settings);
      if (!scope) {
        throw new OidcSignInError(
          403,
          'No access to Flow',
          `${name} signed you in as ${actor}, but none of your groups (its "${settings.groupsClaim}" claim) gives access to Flow. Ask whoever runs Flow to add you to one of the groups it allows.`,
        );
      }
      return { actor, scope };
    },

    async endSessionUrl() {
      const config = await discover();
      if (!config.serverMetadata().end_session_endpoint) return undefined;
      return oidc.buildEndSessionUrl(config, {
        client_id: settings.clientId,
        post_logout_redirect_uri: settings.redirectUrl.replace(/\/auth\/callback$/, ''),
      }).href;
    },
  };
}

/** What the console's router needs to mount the sign-in at `/ui/auth`. */
export interface OidcRouterDeps {
  readonly signIn: OidcSignIn;
  readonly auth: ApiAuth;
  /** Refuses requests from another site's page (the router's `refuseCrossSite`), for the logout. */
  readonly sameSiteOnly: RequestHandler;
}

/**
 * The sign-in's routes, mounted at `/ui/auth`: `provider` (what the sign-in page shows), `login`, `callback` and
 * `logout`. Login, callback and logout are browser navigations, so their refusals are small HTML pages.
 */
export function oidcRouter(deps: OidcRouterDeps): Router {
  const router = Router();

  router.get('/provider', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(await deps.signIn.status());
  });

  router.get('/login', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    try {
      const { location, flow } = await deps.signIn.begin();
      res.append('Set-Cookie', flowCookie(flow, req.secure));
      res.redirect(303, location);
    } catch (error) {
      refusal(res, error);
    }
  });

  router.get('/callback', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    // Whatever the outcome, this sign-in's verifier, state and nonce are spent.
    res.append('Set-Cookie', flowCookie(null, req.secure));
    try {
      const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
      const { actor, scope } = await deps.signIn.finish(query, cookieValue(req.get('cookie'), OIDC_FLOW_COOKIE));
      res.append('Set-Cookie', sessionCookie(deps.auth.startOidcSession(actor, scope).value, req.secure));
      res.redirect(303, '/ui');
    } catch (error) {
      refusal(res, error);
    }
  });

  // The console's Log out has already cleared the session; this also ends the person's session at the IdP.
  router.get('/logout', deps.sameSiteOnly, async (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.append('Set-Cookie', sessionCookie(null, req.secure));
    const location = await deps.signIn.endSessionUrl().catch(() => undefined);
    res.redirect(303, location ?? '/ui');
  });

  return router;
}

/**
 * The flow cookie: `SameSite=Lax`, not Strict like the session, because the IdP's redirect back to the callback is a
 * navigation from another site, on which a browser sends Lax cookies but not Strict ones. Only `/ui/auth` sees it.
 */
function flowCookie(value: string | null, secure: boolean): string {
  return httpOnlyCookie(
    OIDC_FLOW_COOKIE,
    value,
    { path: '/ui/auth', sameSite: 'Lax', maxAge: FLOW_TTL_SECONDS },
    secure,
  );
}

interface Flow {
  readonly v: string;
  readonly s: string;
  readonly n: string;
  readonly exp: number;
}

function readFlow(value: string | undefined, sign: (payload: string) => string, now: () => number): Flow | undefined {
  const match = /^([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!match?.[1] || !match[2] || !sameText(match[2], sign(match[1]))) return undefined;
  let flow: unknown;
  try {
    flow = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const { v, s, n, exp } = (typeof flow === 'object' && flow !== null ? flow : {}) as Record<string, unknown>;
  if (typeof v !== 'string' || typeof s !== 'string' || typeof n !== 'string' || typeof exp !== 'number') return;
  return exp * 1000 > now() ? { v, s, n, exp } : undefined;
}

/** The groups in a groups claim: a list of names, or one name. */
function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  return Array.isArray(claim) ? claim.filter((group): group is string => typeof group === 'string') : [];
}

/**
 * The scopes the authorization request asks for. `FLOW_OIDC_SCOPES`, when set, is asked for as given (`openid` first):
 * an IdP that needs a scope it does not list, for the groups claim say, can be asked. Otherwise `openid`, the claims'
 * usual scopes and the groups claim's own scope where the IdP has one (Okta does); a scope the IdP does not list in
 * `scopes_supported` is then not asked for, since some refuse unknown scopes.
 */
export function scopesToAsk(settings: OidcSettings, supported: readonly string[] | undefined): string[] {
  const wanted = settings.scopes ?? ['email', 'profile', settings.groupsClaim].filter((s) => supported?.includes(s));
  return [...new Set(['openid', ...wanted])];
}

/** Write for a member of a write group, else read for a member of a read group, else none. */
function scopeOf(groups: readonly string[], settings: OidcSettings): Scope | undefined {
  if (groups.some((group) => settings.writeGroups.includes(group))) return 'write';
  if (groups.some((group) => settings.readGroups.includes(group))) return 'read';
  return undefined;
}

/** Answers a refused sign-in with a page saying why and a way back. */
function refusal(res: Response, error: unknown): void {
  const { status, title, detail } =
    error instanceof OidcSignInError
      ? error
      : new OidcSignInError(500, 'The sign-in failed', `The sign-in failed: ${describe(error)}.`);
  res
    .status(status)
    .set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    .type('html')
    .send(
      [
        '<!doctype html>',
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        `<title>${escapeHtml(title)} · Flow console</title></head>`,
        '<body><main>',
        `<h1>${escapeHtml(title)}</h1>`,
        `<p>${escapeHtml(detail)}</p>`,
        '<p><a href="/ui">Back to the sign-in page</a></p>',
        '</main></body>',
        '</html>',
        '',
      ].join('\n'),
    );
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The status of a failed exchange: 403 when the IdP refused (the person cancelled, say), 502 when it could not be
 * reached (fetch fails with a TypeError, or times out), 400 when its answer did not pass the checks.
 */
function statusOf(error: unknown): number {
  if (error instanceof oidc.AuthorizationResponseError) return 403;
  const name = error instanceof Error ? error.name : '';
  return error instanceof TypeError || name === 'TimeoutError' || name === 'AbortError' ? 502 : 400;
}

function describe(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError) return error.error_description ?? error.error;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`.slice(0, 300);
}
