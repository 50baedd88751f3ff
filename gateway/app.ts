import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pino, type Logger } from 'pino';
import { EVENT_NAME } from '../common/definition';
import { DEFAULTS, MAIN_TOKEN_NAME } from '../config';
import type { AnyAction } from '../activities';
import type { IntakeDeps } from '../intake';
import type { DefinitionStore, GroupStore, SubscriptionStore } from '../registry';
import { consoleRouter } from '../console';
import { createOidcSignIn, OIDC_FLOW_KEY_PURPOSE, oidcSessionBinding } from '../console/oidc';
import type { OidcSettings } from '../config/load-config';
import { approvalsRouter } from './approvals-router';
import { createApiAuth, deriveKey, requireScope, SESSION_KEY_PURPOSE, type ApiToken } from './auth';
import { catalogRouter } from './catalog-router';
import { definitionsRouter } from './definitions-router';
import { eventIndexRouter } from './event-index-router';
import { eventsRouter } from './events-router';
import { groupsRouter } from './groups-router';
import { checkHealth, type HealthProbe } from './health';
import { createMetrics, measuredIntake, type GatewayMetrics } from './metrics';
import { planRouter } from './plan-router';
import { QueueLiveness, type QueueLivenessOptions } from './queue-liveness';
import { perSourceRateLimit } from './rate-limit';
import { requestLog } from './request-log';
import { runsRouter } from './runs-router';
import { isSubscriptionsPath, subscriptionsAccess, subscriptionsRouter } from './subscriptions-router';
import { trainsRouter } from './trains-router';
import { unmatchedEventsRouter } from './unmatched-events-router';
import { notFound, problemErrorHandler, sendProblem } from './problem';
import type { WebhookAdapter } from './webhooks/adapter';
import { webhooksRouter } from './webhooks/router';
import { whoamiRouter } from './whoami-router';
import { slackInteractionsRouter } from './webhooks/slack-interactions';
import { subscriptionLinksRouter } from './subscription-links-router';

/** Everything the gateway needs from the outside world; `main.ts` wires the real clients. */
export interface GatewayDeps {
  /** Probes for `/healthz`, keyed by service name (`temporal`, `mongodb`). */
  readonly health: Readonly<Record<string, HealthProbe>>;
  /** The write-scoped API token (`FLOW_API_TOKEN`). */
  readonly apiToken: string;
  /** More tokens with their scopes (`FLOW_API_TOKENS`). */
  readonly extraTokens?: readonly ApiToken[];
  readonly store: DefinitionStore;
  /** The approver groups behind `/api/groups`; without it (tests that need none) the routes are not mounted. */
  readonly groups?: GroupStore;
  /** The subscriptions behind `/api/subscriptions`; without it the routes are not mounted. */
  readonly subscriptions?: SubscriptionStore;
  /**
   * The one-click links of notifications (`/subscriptions/links/:token`, mounted with `subscriptions`): the secret
   * they are signed with (`FLOW_SUBSCRIPTION_LINK_SECRET`; without it they answer "not set up") and requests a
   * minute from one address (default 60).
   */
  readonly subscriptionLinks?: { readonly secret?: string; readonly ratePerMinute?: number };
  readonly catalog: ReadonlyMap<string, AnyAction>;
  readonly intake: IntakeDeps;
  /**
   * Webhook sources and the environment holding their secrets (`FLOW_WEBHOOK_SECRET_*`, `FLOW_ALLOW_UNSIGNED`, and
   * `FLOW_SLACK_SIGNING_SECRET` for Slack's interactions).
   */
  readonly webhooks: {
    readonly adapters: readonly WebhookAdapter[];
    readonly env: Readonly<Record<string, string | undefined>>;
  };
  /** Request and error log; silent when omitted (tests). Only listed headers are logged (`request-log.ts`). */
  readonly logger?: Logger;
  /** Requests a minute accepted from one event source before answering 429 (default 600). */
  readonly rateLimitPerMinute?: number;
  readonly metrics?: GatewayMetrics;
  /** The Temporal Web UI the runs API links to (`FLOW_TEMPORAL_UI_URL`); the local dev UI when omitted. */
  readonly temporalUiUrl?: string;
  /** Signs the console's session cookies (`FLOW_SESSION_SECRET`); derived from `apiToken` when omitted. */
  readonly sessionSecret?: string;
  /** The console's sign-in with OpenID Connect (`FLOW_OIDC_*`); only tokens sign in when omitted. */
  readonly oidc?: OidcSettings;
  /** How `/api/actions`, `/api/plan` and the runs API tell whether a worker polls a queue (gateway/queue-liveness.ts). */
  readonly workerLiveness?: QueueLivenessOptions;
}

/** Builds the gateway's Express app. */
export function createApp(deps: GatewayDeps): Express {
  const logger = deps.logger ?? pino({ level: 'silent' });
  const metrics = deps.metrics ?? createMetrics();
  const accept = measuredIntake(deps.intake, metrics);
  const limit = perSourceRateLimit(deps.rateLimitPerMinute ?? 600);
  // The client is read when a queue is first asked about: building the app uses none of the intake.
  const liveness = new QueueLiveness(() => deps.intake.client, deps.workerLiveness);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(requestLog(logger));
  app.use(countRejections(metrics));

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/healthz', async (_req, res) => {
    const report = await checkHealth(deps.health);
    const down = Object.entries(report)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name);
    if (down.length === 0) {
      res.status(200).json(report);
      return;
    }
    sendProblem(res, {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: `${down.join(' and ')} ${down.length === 1 ? 'is' : 'are'} down; events cannot be accepted until ${down.length === 1 ? 'it is' : 'they are'} reachable again.`,
      ...report,
    });
  });

  // Webhooks authenticate by their own signatures, not by the API token.
  app.use('/webhooks/:source', limit);
  // Before the generic webhooks: Slack's button clicks are answers to runs, not events.
  app.use(slackInteractionsRouter({ temporal: deps.intake, env: deps.webhooks.env }));
  app.use(webhooksRouter({ accept, ...deps.webhooks }));
  // Unsubscribe and mute links in notifications: the signed token is the authorisation, no sign-in.
  if (deps.subscriptions) {
    app.use(
      subscriptionLinksRouter({
        subscriptions: deps.subscriptions,
        ...deps.subscriptionLinks,
        log: (message, error) => logger.error({ err: error }, message),
      }),
    );
  }

  const tokens: ApiToken[] = [
    { token: deps.apiToken, scope: 'write', name: MAIN_TOKEN_NAME },
    ...(deps.extraTokens ?? []),
  ];
  const secret = deps.sessionSecret ?? deps.apiToken;
  const oidc = deps.oidc;
  const auth = createApiAuth(
    tokens,
    deriveKey(secret, SESSION_KEY_PURPOSE),
    Date.now,
    oidc ? oidcSessionBinding(oidc) : undefined,
  );
  // The console: its pages and assets, and sign-in with the same tokens (or OIDC); it reads the rest through /api.
  app.use(
    '/ui',
    consoleRouter({
      auth,
      log: (message, error) => logger.error({ err: error }, message),
      ...(oidc ? { oidc: createOidcSignIn(oidc, deriveKey(secret, OIDC_FLOW_KEY_PURPOSE)) } : {}),
    }),
  );
  const read = requireScope(auth, 'read');
  const write = requireScope(auth, 'write');
  app.use('/events', write);
  app.use('/events/:source', limit);
  app.use(eventsRouter(accept));
  // Reading and planning need the read scope; anything that changes the registry needs write, except one's own
  // subscriptions, which a read-scope caller may manage (the subscriptions router checks whose they are).
  const subscriptionsAuth = subscriptionsAccess(auth);
  app.use('/api', (req, res, next) =>
    (deps.subscriptions && isSubscriptionsPath(req.path)
      ? subscriptionsAuth
      : req.method === 'GET' || req.method === 'HEAD' || req.path.startsWith('/plan/')
        ? read
        : write)(req, res, next),
  );
  app.use(
    '/api',
    whoamiRouter(),
    catalogRouter(deps.catalog, {
      taskQueue: deps.intake.taskQueue,
      liveness,
      log: (message, error) => logger.warn({ err: error }, message),
    }),
    definitionsRouter(deps.store, deps.catalog),
    unmatchedEventsRouter({ temporal: deps.intake, temporalUiUrl: deps.temporalUiUrl ?? DEFAULTS.temporalUiUrl }),
    eventIndexRouter(deps.store),
    planRouter(deps.store, { catalog: deps.catalog, taskQueue: deps.intake.taskQueue, liveness }, deps.subscriptions),
    trainsRouter(deps.intake),
    approvalsRouter(deps.intake),
    ...(deps.groups ? [groupsRouter(deps.groups)] : []),
    ...(deps.subscriptions
      ? [subscriptionsRouter({ subscriptions: deps.subscriptions, definitions: deps.store })]
      : []),
    runsRouter({
      temporal: deps.intake,
      temporalUiUrl: deps.temporalUiUrl ?? DEFAULTS.temporalUiUrl,
      pageTokenSecret: deps.apiToken,
      liveness,
    }),
  );

  app.use(notFound);
  app.use(problemErrorHandler((message, error) => logger.error({ err: error }, message)));
  return app;
}

/** Counts refused event and webhook requests by source and status (unauthenticated ones under one label). */
function countRejections(metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    const match = /^\/(?:events|webhooks)\/([^/]+)/.exec(req.path);
    if (match) {
      res.on('finish', () => {
        if (res.statusCode < 400) return;
        // Label values must stay few: unknown and unauthenticated senders share one label.
        const known = res.statusCode !== 401 && res.statusCode !== 404 && EVENT_NAME.test(match[1] ?? '');
        metrics.rejected.inc({ source: known ? (match[1] ?? '') : 'other', status: String(res.statusCode) });
      });
    }
    next();
  };
}
