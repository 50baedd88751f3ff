import { Router } from 'express';
import { describeActions, type AnyAction } from '../activities';

/** `GET /api/actions`: the action catalog, generated from the action declarations. */
export function catalogRouter(catalog: ReadonlyMap<string, AnyAction>): Router {
  const described = describeActions(catalog.values());
  const router = Router();
  router.get('/actions', (_req, res) => {
    res.json({ actions: described });
  });
  return router;
}
