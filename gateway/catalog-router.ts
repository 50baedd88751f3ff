import { Router, type NextFunction, type Request, type Response } from 'express';
import { describeActions, type ActionDescription, type AnyAction } from '../activities';
import { ActionCatalog } from '../registry';
import type { QueueLiveness, QueueWorker } from './queue-liveness';

/** What {@link catalogRouter} needs besides the catalog. */
export interface CatalogRouterOptions {
  /** The task queue Flow's workflows and built-in actions run on (`FLOW_TASK_QUEUE`); without it none is shown. */
  readonly taskQueue?: string;
  /** Asks Temporal whether a worker polls each action's queue; without it `worker` is left out. */
  readonly liveness?: QueueLiveness;
  /** Where a registry that does not answer is reported (default `console.warn`). */
  readonly log?: (message: string, error: unknown) => void;
}

/** One action as `GET /api/actions` lists it. */
export type ListedAction = ActionDescription & {
  /** A pack action's pack and version; built-in actions have none. */
  readonly pack?: string;
  readonly packVersion?: string;
  /** The task queue the action's steps are scheduled on, unless a step names another (`task_queue:`). */
  readonly taskQueue?: string;
  /** Whether a worker polls `taskQueue` now; meta-actions run in the workflow and have none. */
  readonly worker?: QueueWorker;
};

/**
 * `GET /api/actions`: the action catalog, generated from the action declarations: the built-in ones, then (when the
 * catalog is an {@link ActionCatalog}) every pack action the workers published to the registry, with its pack, pack
 * version and task queue; and for every action that runs on a worker, whether one polls its queue now (`worker`, a
 * {@link QueueWorker}).
 *
 * With an {@link ActionCatalog}, this router also brings it up to date for the routers after it, which it is mounted
 * before: before any change to a definition (which is validated against the catalog) it reads the registry's change
 * stamp, so a pack published a moment ago can be used at once; for reads, at most every few seconds. A registry that
 * does not answer leaves the catalog as it was (the save itself then answers the outage).
 */
export function catalogRouter(catalog: ReadonlyMap<string, AnyAction>, options: CatalogRouterOptions = {}): Router {
  const log =
    options.log ?? ((message: string, error: unknown) => console.warn(`[gateway] ${message}: ${String(error)}`));
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
  router.get('/actions', async (_req, res) => {
    const published: ListedAction[] = live ? live.publishedActions() : [];
    const listed: ListedAction[] = [
      ...local.map((action) =>
        action.kind === 'activity' && options.taskQueue !== undefined
          ? { ...action, taskQueue: options.taskQueue }
          : action,
      ),
      ...published,
    ];
    const liveness = options.liveness;
    if (!liveness) {
      res.json({ actions: listed });
      return;
    }
    const workers = await liveness.checkAll(listed.flatMap(({ taskQueue }) => (taskQueue ? [taskQueue] : [])));
    res.json({
      actions: listed.map((action) => {
        const worker = action.taskQueue === undefined ? undefined : workers.get(action.taskQueue);
        return worker ? { ...action, worker } : action;
      }),
    });
  });
  return router;
}

/**
 * The task queue each action's steps are scheduled on, as runs started now would: a published pack action's queue,
 * `taskQueue` for the others; undefined for a meta-action (it runs in the workflow) and an action not in the catalog.
 */
export function actionQueues(
  catalog: ReadonlyMap<string, AnyAction>,
  taskQueue: string,
): (actionId: string) => string | undefined {
  const published = new Map(
    catalog instanceof ActionCatalog ? catalog.publishedActions().map((action) => [action.id, action.taskQueue]) : [],
  );
  return (actionId) => {
    const action = catalog.get(actionId);
    if (!action || action.kind !== 'activity') return undefined;
    return published.get(actionId) ?? taskQueue;
  };
}
