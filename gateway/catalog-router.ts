import { Router, type NextFunction, type Request, type Response } from 'express';
import { describeActions, type ActionDescription, type AnyAction } from '../activities';
import { ActionCatalog } from '../registry';

/**
 * `GET /api/actions`: the action catalog, generated from the action declarations: the built-in ones, then (when the
 * catalog is an {@link ActionCatalog}) every pack action the workers published to the registry, with its pack, pack
 * version and task queue.
 *
 * With an {@link ActionCatalog}, this router also brings it up to date for the routers after it, which it is mounted
 * before: before any change to a definition (which is validated against the catalog) it reads the registry's change
 * stamp, so a pack published a moment ago can be used at once; for reads, at most every few seconds. A registry that
 * does not answer leaves the catalog as it was (the save itself then answers the outage).
 */
export function catalogRouter(
  catalog: ReadonlyMap<string, AnyAction>,
  log: (message: string, error: unknown) => void = (message, error) =>
    console.warn(`[gateway] ${message}: ${String(error)}`),
): Router {
  const live = catalog instanceof ActionCatalog ? catalog : undefined;
  const local = describeActions(live ? live.localActions() : catalog.values());
  const router = Router();
  if (live) {
    router.use((req: Request, _res: Response, next: NextFunction) => {
      const changes = req.method !== 'GET' && req.method !== 'HEAD' && req.path.startsWith('/definitions');
      if (!changes && req.path !== '/actions') {
        next();
        return;
      }
      live.refresh({ force: changes }).then(
        () => next(),
        (error: unknown) => {
          log('could not read the action catalog from the registry; using the last one read', error);
          next();
        },
      );
    });
  }
  router.get('/actions', (_req, res) => {
    const published: ActionDescription[] = live ? live.publishedActions() : [];
    res.json({ actions: [...local, ...published] });
  });
  return router;
}
