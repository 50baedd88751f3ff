import http from 'node:http';
import { dataDir, loadConfig, resolveApiToken } from '../config';
import { Client } from '@temporalio/client';
import { actionsById } from '../activities';
import {
  ActionCatalog,
  ActionCatalogStore,
  DefinitionStore,
  GroupStore,
  openMongo,
  pingMongo,
  SubscriptionStore,
} from '../registry';
import { createApp } from './app';
import { pino } from 'pino';
import { temporalProbe } from './health';
import { temporalConnection } from '../intake/temporal-connection';
import { createMetrics } from './metrics';
import { webhookAdapters } from './webhooks/adapters';

/**
 * Gateway entry point: `npm run start:gateway`. On SIGINT/SIGTERM it stops accepting connections, answers `/healthz`
 * with 503, finishes the requests in flight (at most `FLOW_SHUTDOWN_GRACE`, then closes what is left) and exits 0.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const token = resolveApiToken(process.env, dataDir());
  if (token.source === 'generated')
    console.log(`[gateway] generated an API token and stored it in ${token.file}: ${token.token}`);
  else if (token.source === 'file') console.log(`[gateway] API token read from ${token.file}`);

  if (!config.subscriptionLinks.secret)
    console.log(
      '[gateway] FLOW_SUBSCRIPTION_LINK_SECRET is not set: the unsubscribe and mute links of notifications are refused',
    );
  const temporalHealth = temporalProbe(config.temporal.address);
  const mongo = openMongo(config.mongodb);
  const connection = temporalConnection({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // The built-in actions ship with the gateway; the packs' come from the registry, as their workers published them.
  const catalog = new ActionCatalog(actionsById(), new ActionCatalogStore(mongo), {
    taskQueue: config.temporal.taskQueue,
  });
  const app = createApp({
    health: { temporal: temporalHealth.probe, mongodb: () => pingMongo(mongo) },
    apiToken: token.token,
    extraTokens: config.gateway.apiTokens,
    store: new DefinitionStore(mongo, catalog),
    groups: new GroupStore(mongo),
    subscriptions: new SubscriptionStore(mongo),
    subscriptionLinks: config.subscriptionLinks.secret ? { secret: config.subscriptionLinks.secret } : {},
    catalog,
    intake: { client, taskQueue: config.temporal.taskQueue },
    webhooks: { adapters: webhookAdapters, env: process.env },
    // Written asynchronously: a synchronous write per request cost the intake about 8% of the gateway's CPU. pino
    // flushes what is buffered when the process exits.
    logger: pino({ level: config.gateway.httpLogLevel }, pino.destination({ dest: 1, sync: false })),
    rateLimitPerMinute: config.gateway.rateLimitPerMinute,
    metrics: createMetrics({ defaultMetrics: true }),
    temporalUiUrl: config.gateway.temporalUiUrl,
    sessionSecret: config.gateway.sessionSecret,
    ...(config.gateway.oidc ? { oidc: config.gateway.oidc } : {}),
  });
  // A draining gateway answers /healthz with 503, so a load balancer stops sending, and closes each connection after
  // its current response; everything else it is asked before it stops is still served.
  let draining = false;
  const server = http.createServer((req, res) => {
    if (draining) {
      res.setHeader('connection', 'close');
      if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) {
        res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
        res.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: 'the gateway is shutting down; send requests to another one',
            shutdown: 'draining',
          }),
        );
        return;
      }
    }
    app(req, res);
  });
  server.listen(config.gateway.port, () => {
    console.log(`[gateway] listening on http://localhost:${config.gateway.port}`);
    process.send?.({ ready: 'gateway' });
  });
  server.on('error', (error) => {
    console.error(`[gateway] cannot listen on port ${config.gateway.port}: ${error.message}. Set PORT to a free port.`);
    process.exit(1);
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (draining) return;
    draining = true;
    const graceMs = config.shutdownGraceMs;
    console.log(
      `[gateway] ${signal}: no longer accepting connections; finishing the requests in flight (up to ${graceMs / 1000}s, FLOW_SHUTDOWN_GRACE)`,
    );
    // Idle keep-alive connections would hold close() open; those busy close after their response (connection: close).
    const idle = setInterval(() => server.closeIdleConnections(), 250);
    const cap = setTimeout(() => {
      console.log(`[gateway] FLOW_SHUTDOWN_GRACE (${graceMs / 1000}s) is over; closing the connections still open`);
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cap);
      void Promise.allSettled([temporalHealth.close(), connection.close(), mongo.close()]).then(() => {
        console.log('[gateway] stopped');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`[gateway] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
