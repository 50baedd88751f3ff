import express, { type Express } from 'express';
import type { AnyAction } from '../activities';
import type { IntakeDeps } from '../intake';
import type { DefinitionStore } from '../registry';
import { requireBearer } from './auth';
import { catalogRouter } from './catalog-router';
import { definitionsRouter } from './definitions-router';
import { eventsRouter } from './events-router';
import { checkHealth, type HealthProbe } from './health';
import { planRouter } from './plan-router';
import { notFound, problemErrorHandler, sendProblem } from './problem';

/** Everything the gateway needs from the outside world; `main.ts` wires the real clients. */
export interface GatewayDeps {
  /** Probes for `/healthz`, keyed by service name (`temporal`, `mongodb`). */
  readonly health: Readonly<Record<string, HealthProbe>>;
  readonly apiToken: string;
  readonly store: DefinitionStore;
  readonly catalog: ReadonlyMap<string, AnyAction>;
  readonly intake: IntakeDeps;
  readonly log?: (message: string, error?: unknown) => void;
}

/** Builds the gateway's Express app. */
export function createApp(deps: GatewayDeps): Express {
  const log = deps.log ?? ((message: string, error?: unknown) => console.error(message, error));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

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

  const auth = requireBearer(deps.apiToken);
  app.use('/events', auth);
  app.use(eventsRouter(deps.intake));
  app.use(
    '/api',
    auth,
    catalogRouter(deps.catalog),
    definitionsRouter(deps.store, deps.catalog),
    planRouter(deps.store),
  );

  app.use(notFound);
  app.use(problemErrorHandler(log));
  return app;
}
