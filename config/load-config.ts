import os from 'node:os';
import path from 'node:path';
import { actionPacksSetting } from './action-packs';
import { parseApiTokens, type ScopedToken } from './api-tokens';
import { ConfigError } from './config-error';
import { sleepMillis } from '../common/meta-actions';

export { ConfigError } from './config-error';

/** Defaults for every setting; the local services listen on exactly these addresses. */
export const DEFAULTS = {
  temporalAddress: 'localhost:7233',
  temporalNamespace: 'default',
  taskQueue: 'flow',
  mongodbUri: 'mongodb://127.0.0.1:27017/flow',
  port: 3000,
  temporalUiPort: 8233,
  /** The local dev server's Web UI, which the runs API links to unless `FLOW_TEMPORAL_UI_URL` says otherwise. */
  temporalUiUrl: 'http://localhost:8233',
  workerMetricsPort: 9464,
} as const;

/** Log levels of the gateway's request log (pino's), `FLOW_HTTP_LOG_LEVEL`. */
export type HttpLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const HTTP_LOG_LEVELS: readonly HttpLogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Settings shared by the worker, the gateway and the dev launcher. */
export interface FlowConfig {
  readonly temporal: {
    readonly address: string;
    readonly namespace: string;
    readonly taskQueue: string;
  };
  readonly mongodb: {
    readonly uri: string;
    /** The database named in the URI path, `flow` when the URI names none. */
    readonly database: string;
  };
  readonly gateway: {
    readonly port: number;
    /** Requests a minute accepted from one event source before 429 (`FLOW_RATE_LIMIT_PER_MINUTE`). */
    readonly rateLimitPerMinute: number;
    /** Level of the JSON request log (`FLOW_HTTP_LOG_LEVEL`, default `info`). */
    readonly httpLogLevel: HttpLogLevel;
    /** Tokens besides `FLOW_API_TOKEN`, with their scopes (`FLOW_API_TOKENS`). */
    readonly apiTokens: readonly ScopedToken[];
    /** Webhook sources whose unsigned deliveries are accepted (`FLOW_ALLOW_UNSIGNED`, comma-separated). */
    readonly allowUnsigned: readonly string[];
    /** The Temporal Web UI the runs API links to (`FLOW_TEMPORAL_UI_URL`), without a trailing slash. */
    readonly temporalUiUrl: string;
    /**
     * The secret console session cookies are signed with (`FLOW_SESSION_SECRET`); absent when unset, and the key
     * then derives from `FLOW_API_TOKEN`.
     */
    readonly sessionSecret?: string;
    /** Console sign-in with OpenID Connect (`FLOW_OIDC_*`); absent when `FLOW_OIDC_ISSUER` is unset. */
    readonly oidc?: OidcSettings;
  };
  /** The signed unsubscribe and mute links of subscription notifications: the workers sign, the gateway checks. */
  readonly subscriptionLinks: SubscriptionLinkSettings;
  /**
   * How long a gateway or worker told to stop (SIGTERM, SIGINT) lets the work it has in hand finish: requests in
   * flight, running activities (`FLOW_SHUTDOWN_GRACE`, a duration such as 30s or 2m; default 30 s).
   */
  readonly shutdownGraceMs: number;
  readonly worker: {
    /**
     * Who this worker is (`FLOW_WORKER_ID`, or Temporal's default `<pid>@<hostname>`): its Temporal worker identity
     * and the name of its default git workspace.
     */
    readonly identity: string;
    /** Temporal SDK log level; WARN by default because INFO logs every workflow bundle build. */
    readonly logLevel: WorkerLogLevel;
    /** Port of the worker's Prometheus `/metrics` (`FLOW_WORKER_METRICS_PORT`); null when set to `off`. */
    readonly metricsPort: number | null;
    /**
     * Minutes between sweeps that remove the git worktrees of ended runs (`FLOW_WORKSPACE_SWEEP_MINUTES`, default
     * 60); null when set to `off`.
     */
    readonly workspaceSweepMinutes: number | null;
    /**
     * Where git mirrors and run worktrees live (`FLOW_WORKSPACE_DIR`, an absolute path; by default
     * `<tmpdir>/flow-workspaces/<identity>`, so workers on one host never share one).
     */
    readonly workspaceDir: string;
    /** Whether git actions may use `file://` repositories (`FLOW_GIT_ALLOW_FILE_URLS`, default false). */
    readonly gitAllowFileUrls: boolean;
    /** Action packs to load besides the built-in one (`FLOW_ACTION_PACKS`, comma-separated); absent when unset. */
    readonly actionPacks?: readonly string[];
    /**
     * Whether the worker runs Flow's workflows (`FLOW_WORKER_WORKFLOWS`, default on). Off makes an activity-only
     * worker on `FLOW_TASK_QUEUE` with only its packs' actions (see docs/action-packs.md).
     */
    readonly workflows: boolean;
    /**
     * Activity tasks this worker runs at once (`FLOW_WORKER_MAX_ACTIVITIES`, the SDK's
     * `maxConcurrentActivityTaskExecutions`); absent when unset, and the SDK's default (100) applies.
     */
    readonly maxConcurrentActivities?: number;
    /**
     * Runs this worker keeps in its workflow cache (`FLOW_WORKER_CACHE_SIZE`, the SDK's `maxCachedWorkflows`); absent
     * when unset, and the SDK derives it from the V8 heap limit.
     */
    readonly maxCachedWorkflows?: number;
  };
}

/** The console's OpenID Connect sign-in (`FLOW_OIDC_*`); see docs/console.md. */
export interface OidcSettings {
  /** The IdP's issuer identifier (`FLOW_OIDC_ISSUER`), as configured: discovery reads `<issuer>/.well-known/…`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where the IdP sends the browser back (`FLOW_OIDC_REDIRECT_URL`); its path ends in `/ui/auth/callback`. */
  readonly redirectUrl: string;
  /** The claim holding the user's groups (`FLOW_OIDC_GROUPS_CLAIM`, default `groups`). */
  readonly groupsClaim: string;
  /** Groups whose members sign in with the write scope (`FLOW_OIDC_WRITE_GROUPS`). */
  readonly writeGroups: readonly string[];
  /** Groups whose members sign in with the read scope (`FLOW_OIDC_READ_GROUPS`). */
  readonly readGroups: readonly string[];
  /** The claim naming the actor (`FLOW_OIDC_NAME_CLAIM`, default `email`; `sub` when the claim is absent). */
  readonly nameClaim: string;
  /**
   * The scopes the sign-in asks for (`FLOW_OIDC_SCOPES`, space- or comma-separated), `openid` first and always;
   * asked for as given. Absent when unset: then `openid`, and `email`, `profile` and the groups claim's name where
   * the IdP lists them in `scopes_supported`.
   */
  readonly scopes?: readonly string[];
}

/** `FLOW_PUBLIC_URL` and `FLOW_SUBSCRIPTION_LINK_SECRET` (docs/subscriptions.md, "Links"). */
export interface SubscriptionLinkSettings {
  /**
   * The gateway's external URL, which links in notifications point to (`FLOW_PUBLIC_URL`), without a trailing slash;
   * `http://localhost:<PORT>` when unset.
   */
  readonly publicUrl: string;
  /**
   * The secret the links are signed with (`FLOW_SUBSCRIPTION_LINK_SECRET`, the same for the gateway and every
   * worker); absent when unset: notifications then carry no links, and the gateway refuses every link.
   */
  readonly secret?: string;
}

/** Log levels the Temporal SDK understands. */
export type WorkerLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const WORKER_LOG_LEVELS: readonly WorkerLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** Reads Flow's configuration from environment variables, applying the documented defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlowConfig {
  const mongodbUri = nonEmpty(env, 'MONGODB_URI') ?? DEFAULTS.mongodbUri;
  const port = parsePort(env, 'PORT', DEFAULTS.port);
  return {
    temporal: {
      address: nonEmpty(env, 'TEMPORAL_ADDRESS') ?? DEFAULTS.temporalAddress,
      namespace: nonEmpty(env, 'TEMPORAL_NAMESPACE') ?? DEFAULTS.temporalNamespace,
      taskQueue: nonEmpty(env, 'FLOW_TASK_QUEUE') ?? DEFAULTS.taskQueue,
    },
    mongodb: { uri: mongodbUri, database: databaseFromUri(mongodbUri) },
    gateway: {
      port,
      rateLimitPerMinute: parsePositiveInt(env, 'FLOW_RATE_LIMIT_PER_MINUTE', 600),
      httpLogLevel: parseChoice(env, 'FLOW_HTTP_LOG_LEVEL', HTTP_LOG_LEVELS, 'info', (raw) => raw.toLowerCase()),
      apiTokens: parseApiTokens(env),
      allowUnsigned: parseAllowUnsigned(env),
      temporalUiUrl: parseTemporalUiUrl(env),
      ...sessionSecretSetting(env),
      ...oidcSetting(env, port),
    },
    subscriptionLinks: parseSubscriptionLinks(env),
    shutdownGraceMs: parseShutdownGrace(env),
    worker: {
      identity: workerIdentity(env),
      logLevel: parseChoice(env, 'FLOW_LOG_LEVEL', WORKER_LOG_LEVELS, 'WARN', (raw) => raw.toUpperCase()),
      metricsPort: parseOrOff(env, 'FLOW_WORKER_METRICS_PORT', DEFAULTS.workerMetricsPort, parsePort),
      workspaceSweepMinutes: parseOrOff(env, 'FLOW_WORKSPACE_SWEEP_MINUTES', 60, parsePositiveInt),
      workspaceDir: parseWorkspaceDir(env),
      gitAllowFileUrls: parseFlag(env, 'FLOW_GIT_ALLOW_FILE_URLS'),
      ...actionPacksSetting(env),
      workflows: parseWorkerWorkflows(env),
      ...workerTuningSettings(env),
    },
  };
}

/** Largest `FLOW_WORKER_MAX_ACTIVITIES` and `FLOW_WORKER_CACHE_SIZE`: far above what one process can hold. */
const WORKER_TUNING_MAX = 100_000;

/**
 * `FLOW_WORKER_MAX_ACTIVITIES` (1 to {@link WORKER_TUNING_MAX}) and `FLOW_WORKER_CACHE_SIZE` (2 to
 * {@link WORKER_TUNING_MAX}: the SDK raises a cache of 1 to 2 anyway, and 0, no cache, would replay a run's whole
 * history at each of its workflow tasks); each absent when unset, leaving the SDK's default.
 */
function workerTuningSettings(env: NodeJS.ProcessEnv): {
  maxConcurrentActivities?: number;
  maxCachedWorkflows?: number;
} {
  const activities = parseBoundedInt(
    env,
    'FLOW_WORKER_MAX_ACTIVITIES',
    1,
    'activity tasks one worker runs at once (the Temporal SDK default is 100)',
  );
  const cache = parseBoundedInt(
    env,
    'FLOW_WORKER_CACHE_SIZE',
    2,
    'runs one worker keeps in its workflow cache, about 0.35 MB each (see docs/operations.md)',
  );
  return {
    ...(activities === undefined ? {} : { maxConcurrentActivities: activities }),
    ...(cache === undefined ? {} : { maxCachedWorkflows: cache }),
  };
}

/** A whole number from `min` to {@link WORKER_TUNING_MAX} in `env[name]`, or undefined when unset. */
function parseBoundedInt(env: NodeJS.ProcessEnv, name: string, min: number, what: string): number | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > WORKER_TUNING_MAX) {
    throw new ConfigError(
      name,
      `${name}=${JSON.stringify(raw.slice(0, 100))} must be a whole number from ${min} to ${WORKER_TUNING_MAX.toLocaleString('en')}: the ${what}.`,
    );
  }
  return value;
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Reads a TCP port from `env[name]`, or `fallback` when unset; anything else is a {@link ConfigError}. */
export function parsePort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a TCP port; use a number from 1 to 65535.`);
  }
  return port;
}

/** Reads `env[name]` with `parse`, except that `off` turns the setting off (null); errors then mention `off`. */
function parseOrOff(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  parse: (env: NodeJS.ProcessEnv, name: string, fallback: number) => number,
): number | null {
  if (nonEmpty(env, name)?.toLowerCase() === 'off') return null;
  try {
    return parse(env, name, fallback);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(name, error.message.replace(/\.$/, ', or "off".'));
    throw error;
  }
}

function parsePositiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^[1-9]\d{0,8}$/.test(raw))
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} must be a positive whole number.`);
  return Number(raw);
}

/**
 * Reads a yes/no setting: `true`, `1`, `yes` or `on` turn it on; unset, `false`, `0`, `no` or `off` leave it off;
 * anything else is a {@link ConfigError} rather than a silent "off" (a typo such as `ture` should not go unnoticed).
 */
export function parseFlag(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase() ?? '';
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['', 'false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `${name}=${JSON.stringify(env[name])} must be true or false.`);
}

/** `FLOW_WORKER_WORKFLOWS`: on (the default) or off; the yes/no words of {@link parseFlag} are taken too. */
export function parseWorkerWorkflows(env: Readonly<Record<string, string | undefined>>): boolean {
  const name = 'FLOW_WORKER_WORKFLOWS';
  if (!env[name]?.trim()) return true;
  try {
    return parseFlag(env, name);
  } catch {
    throw new ConfigError(
      name,
      `${name}=${JSON.stringify(env[name])} must be on or off; off starts a worker that runs only its packs' activities.`,
    );
  }
}

/** The default of `FLOW_SHUTDOWN_GRACE`. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

/** `FLOW_SHUTDOWN_GRACE`: a whole number and a unit (`s`, `m`, `h`), as `flow.sleep` reads durations; default 30s. */
export function parseShutdownGrace(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env['FLOW_SHUTDOWN_GRACE']?.trim();
  if (!raw) return DEFAULT_SHUTDOWN_GRACE_MS;
  const ms = /d$/.test(raw) ? Number.NaN : sleepMillis(raw);
  if (!Number.isFinite(ms) || ms > 24 * 3_600_000) {
    throw new ConfigError(
      'FLOW_SHUTDOWN_GRACE',
      `FLOW_SHUTDOWN_GRACE=${JSON.stringify(raw.slice(0, 100))} is not a duration; use a whole number and a unit (s, m or h) of at most 24h, such as 30s or 2m.`,
    );
  }
  return ms;
}

/**
 * The worker's identity: `FLOW_WORKER_ID` (1-100 letters, digits, `.`, `_`, `-`, `@` or `:`), or what Temporal
 * names a worker by default, `<pid>@<hostname>`.
 */
export function workerIdentity(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['FLOW_WORKER_ID']?.trim();
  if (!configured) return `${process.pid}@${os.hostname()}`;
  if (!/^[A-Za-z0-9._@:-]{1,100}$/.test(configured)) {
    throw new ConfigError(
      'FLOW_WORKER_ID',
      `FLOW_WORKER_ID=${JSON.stringify(configured.slice(0, 100))} is not a worker id; use 1-100 letters, digits, ".", "_", "-", "@" or ":", such as worker-1 or the pod's name.`,
    );
  }
  return configured;
}

/** The base directory of the default workspaces, one per worker identity beneath it. */
export function defaultWorkspaceBase(): string {
  return path.join(os.tmpdir(), 'flow-workspaces');
}

/**
 * `FLOW_WORKSPACE_DIR`: an absolute path, or when unset `<tmpdir>/flow-workspaces/<worker identity>` (the identity
 * with anything but letters, digits, `.`, `_`, `-` and `@` replaced by `_`), so two workers on one host never share
 * a workspace by default.
 */
export function parseWorkspaceDir(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['FLOW_WORKSPACE_DIR']?.trim();
  if (!configured) {
    const name = workerIdentity(env)
      .replace(/[^A-Za-z0-9._@-]/g, '_')
      .replace(/^\.+/, '_');
    return path.join(defaultWorkspaceBase(), name);
  }
  if (!path.isAbsolute(configured)) {
    throw new ConfigError(
      'FLOW_WORKSPACE_DIR',
      `FLOW_WORKSPACE_DIR must be an absolute path, not ${JSON.stringify(configured)}.`,
    );
  }
  return configured;
}

/** `FLOW_ALLOW_UNSIGNED`: webhook source names, separated by commas or spaces. */
export function parseAllowUnsigned(env: Readonly<Record<string, string | undefined>>): string[] {
  const sources = (env['FLOW_ALLOW_UNSIGNED'] ?? '').split(/[\s,]+/).filter(Boolean);
  const bad = sources.find((source) => !/^[a-z][a-z0-9_-]{0,62}$/.test(source));
  if (bad !== undefined) {
    throw new ConfigError(
      'FLOW_ALLOW_UNSIGNED',
      `FLOW_ALLOW_UNSIGNED names ${JSON.stringify(bad)}, which is not a webhook source; list sources such as jenkins,gitlab.`,
    );
  }
  return sources;
}

/** `FLOW_TEMPORAL_UI_URL`: an http(s) URL, or the local dev server's UI when unset; the trailing slash is dropped. */
export function parseTemporalUiUrl(env: Readonly<Record<string, string | undefined>>): string {
  const raw = env['FLOW_TEMPORAL_UI_URL']?.trim();
  if (!raw) return DEFAULTS.temporalUiUrl;
  // The link is shown to every API reader; a credential in it would leak.
  return publicHttpUrl(
    'FLOW_TEMPORAL_UI_URL',
    raw,
    'is not an http(s) URL of the Temporal Web UI; use one such as https://temporal.example.com.',
  );
}

/**
 * An http(s) URL that others are shown (links in the API, in notifications), without a trailing slash: no user name
 * or password (refused without repeating the value), no query or fragment.
 */
function publicHttpUrl(variable: string, raw: string, whatToUse: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url && (url.username || url.password)) {
    throw new ConfigError(variable, `${variable} must not hold a user name or password.`);
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new ConfigError(variable, `${variable}=${JSON.stringify(raw.slice(0, 200))} ${whatToUse}`);
  }
  return url.href.replace(/\/+$/, '');
}

/** Fewest characters of `FLOW_SESSION_SECRET`: a session key must not be guessable. */
const SESSION_SECRET_MIN = 32;

/** `FLOW_SESSION_SECRET`: at least {@link SESSION_SECRET_MIN} characters, or nothing when unset. */
function sessionSecretSetting(env: Readonly<Record<string, string | undefined>>): { sessionSecret?: string } {
  const raw = env['FLOW_SESSION_SECRET']?.trim();
  if (!raw) return {};
  if (raw.length < SESSION_SECRET_MIN) {
    // The value is a secret, so the error gives its length only.
    throw new ConfigError(
      'FLOW_SESSION_SECRET',
      `FLOW_SESSION_SECRET is ${raw.length} characters long; use at least ${SESSION_SECRET_MIN} random characters, such as the output of openssl rand -hex 32, or leave it unset to derive the key from FLOW_API_TOKEN.`,
    );
  }
  return { sessionSecret: raw };
}

/** Fewest characters of `FLOW_SUBSCRIPTION_LINK_SECRET`, as for `FLOW_SESSION_SECRET`. */
const LINK_SECRET_MIN = 32;

/**
 * `FLOW_PUBLIC_URL` (an http(s) URL, `http://localhost:<PORT>` when unset) and `FLOW_SUBSCRIPTION_LINK_SECRET` (at
 * least {@link LINK_SECRET_MIN} characters, or unset). Exported for the notify activity, which reads them from the
 * worker's environment.
 */
export function parseSubscriptionLinks(env: Readonly<Record<string, string | undefined>>): SubscriptionLinkSettings {
  const secret = env['FLOW_SUBSCRIPTION_LINK_SECRET']?.trim();
  if (secret !== undefined && secret !== '' && secret.length < LINK_SECRET_MIN) {
    // The value is a secret, so the error gives its length only.
    throw new ConfigError(
      'FLOW_SUBSCRIPTION_LINK_SECRET',
      `FLOW_SUBSCRIPTION_LINK_SECRET is ${secret.length} characters long; use at least ${LINK_SECRET_MIN} random characters, such as the output of openssl rand -hex 32, the same for the gateway and every worker.`,
    );
  }
  return { publicUrl: parsePublicUrl(env), ...(secret ? { secret } : {}) };
}

/** `FLOW_PUBLIC_URL`: where the gateway is reached from outside, without a trailing slash. */
function parsePublicUrl(env: Readonly<Record<string, string | undefined>>): string {
  const raw = env['FLOW_PUBLIC_URL']?.trim();
  if (!raw) return `http://localhost:${parsePort(env, 'PORT', DEFAULTS.port)}`;
  // Every notification carries the URL; a credential in it would leak.
  return publicHttpUrl(
    'FLOW_PUBLIC_URL',
    raw,
    'is not the http(s) URL the gateway is reached at; use one such as https://flow.example.com (a path is kept, for a gateway behind a prefix).',
  );
}

const OIDC_VARIABLES = [
  'FLOW_OIDC_CLIENT_ID',
  'FLOW_OIDC_CLIENT_SECRET',
  'FLOW_OIDC_REDIRECT_URL',
  'FLOW_OIDC_GROUPS_CLAIM',
  'FLOW_OIDC_WRITE_GROUPS',
  'FLOW_OIDC_READ_GROUPS',
  'FLOW_OIDC_NAME_CLAIM',
  'FLOW_OIDC_SCOPES',
] as const;

/**
 * `FLOW_OIDC_*`: the console's OpenID Connect sign-in, on when `FLOW_OIDC_ISSUER` is set. The redirect URL defaults
 * to `http://localhost:<PORT>/ui/auth/callback`, which suits the local stack only: the gateway does not trust a
 * request's Host header to say where it is reached, so anywhere else `FLOW_OIDC_REDIRECT_URL` must be set.
 */
function oidcSetting(env: Readonly<Record<string, string | undefined>>, port: number): { oidc?: OidcSettings } {
  const issuer = env['FLOW_OIDC_ISSUER']?.trim();
  if (!issuer) {
    const stray = OIDC_VARIABLES.find((name) => env[name]?.trim());
    if (stray) throw new ConfigError(stray, `${stray} is set but FLOW_OIDC_ISSUER is not; set both, or neither.`);
    return {};
  }
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new ConfigError(name, `FLOW_OIDC_ISSUER is set, so ${name} must be set too.`);
    return value;
  };
  const groups = (name: string): string[] =>
    (env[name] ?? '')
      .split(',')
      .map((group) => group.trim())
      .filter(Boolean);
  const claim = (name: string, fallback: string): string => {
    const value = env[name]?.trim() || fallback;
    if (!/^[\w.:/-]{1,200}$/.test(value))
      throw new ConfigError(name, `${name}=${JSON.stringify(value.slice(0, 200))} is not a claim name.`);
    return value;
  };
  const settings: OidcSettings = {
    issuer: oidcUrl('FLOW_OIDC_ISSUER', issuer, 'the identity provider (https://login.example.com/realms/main)'),
    clientId: required('FLOW_OIDC_CLIENT_ID'),
    clientSecret: required('FLOW_OIDC_CLIENT_SECRET'),
    redirectUrl: oidcUrl(
      'FLOW_OIDC_REDIRECT_URL',
      env['FLOW_OIDC_REDIRECT_URL']?.trim() || `http://localhost:${port}/ui/auth/callback`,
      "the console's callback (https://flow.example.com/ui/auth/callback)",
    ),
    groupsClaim: claim('FLOW_OIDC_GROUPS_CLAIM', 'groups'),
    writeGroups: groups('FLOW_OIDC_WRITE_GROUPS'),
    readGroups: groups('FLOW_OIDC_READ_GROUPS'),
    nameClaim: claim('FLOW_OIDC_NAME_CLAIM', 'email'),
    ...oidcScopes(env),
  };
  if (!new URL(settings.redirectUrl).pathname.endsWith('/ui/auth/callback')) {
    throw new ConfigError(
      'FLOW_OIDC_REDIRECT_URL',
      'FLOW_OIDC_REDIRECT_URL must end in /ui/auth/callback, where the gateway answers the identity provider.',
    );
  }
  if (settings.writeGroups.length === 0 && settings.readGroups.length === 0) {
    throw new ConfigError(
      'FLOW_OIDC_WRITE_GROUPS',
      'Set FLOW_OIDC_WRITE_GROUPS or FLOW_OIDC_READ_GROUPS (comma-separated group names): without either, nobody can sign in with OpenID Connect.',
    );
  }
  return { oidc: settings };
}

/** At most this many scopes in `FLOW_OIDC_SCOPES`; a real sign-in asks for a handful. */
const OIDC_SCOPES_MAX = 32;

/**
 * `FLOW_OIDC_SCOPES`: scope names separated by spaces or commas (`openid email groups`, `groups,email`), each an
 * OAuth scope token (printable ASCII without `"` or `\`, RFC 6749 section 3.3); `openid` is added first when it is
 * not given. Unset or blank: nothing, and the sign-in asks for its default set.
 */
function oidcScopes(env: Readonly<Record<string, string | undefined>>): { scopes?: readonly string[] } {
  const raw = env['FLOW_OIDC_SCOPES']?.trim();
  if (!raw) return {};
  const given = raw.split(/[\s,]+/).filter(Boolean);
  if (given.length === 0) {
    throw new ConfigError(
      'FLOW_OIDC_SCOPES',
      'FLOW_OIDC_SCOPES names no scope; list them separated by spaces or commas, such as "openid email groups", or leave it unset for the default set.',
    );
  }
  const wrong = given.find((scope) => !/^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/.test(scope));
  if (wrong !== undefined) {
    throw new ConfigError(
      'FLOW_OIDC_SCOPES',
      `FLOW_OIDC_SCOPES holds ${JSON.stringify(wrong.slice(0, 200))}, which is not a scope name: separate scopes with spaces or commas, such as "openid email groups"; a scope is printable ASCII without quotes or backslashes.`,
    );
  }
  const scopes = [...new Set(['openid', ...given])];
  if (scopes.length > OIDC_SCOPES_MAX) {
    throw new ConfigError(
      'FLOW_OIDC_SCOPES',
      `FLOW_OIDC_SCOPES names ${scopes.length} scopes; at most ${OIDC_SCOPES_MAX} are asked for.`,
    );
  }
  return { scopes };
}

/**
 * An https URL without credentials, query or fragment; plain http only for a loopback host (a local provider), since
 * codes and tokens must not cross a network in clear text.
 */
function oidcUrl(name: string, raw: string, what: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  const loopback = url !== undefined && /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/.test(url.hostname);
  if (
    !url ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  ) {
    throw new ConfigError(
      name,
      `${name}=${JSON.stringify(raw.slice(0, 200))} is not the https URL of ${what}; plain http is accepted for localhost and 127.0.0.1 only.`,
    );
  }
  return url.href;
}

/** Reads one of `choices` from `env[name]`, matched after `normalize`; anything else names the valid ones. */
function parseChoice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  choices: readonly T[],
  fallback: T,
  normalize: (raw: string) => string,
): T {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const choice = choices.find((candidate) => candidate === normalize(raw));
  if (!choice)
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a log level; use one of ${choices.join(', ')}.`);
  return choice;
}

function databaseFromUri(uri: string): string {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new ConfigError(
      'MONGODB_URI',
      `MONGODB_URI must start with mongodb:// or mongodb+srv://, got ${redactUri(uri)}.`,
    );
  }
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(uri);
  const name = decodeURIComponent(match?.[1] ?? '');
  return name || 'flow';
}

/** Hides the password of a connection string so it can be printed. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]*)@/, '//$1:***@');
}
