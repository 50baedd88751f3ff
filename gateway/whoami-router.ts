import { Router } from 'express';
import { callerOf } from './auth';

/**
 * `GET /api/whoami`: who the request is authorised as: `{actor, scope, via}` (the token's or console user's name, `read`
 * or `write`, and `token` or `session`). Never the token. For `flowctl whoami` and scripts checking their credentials.
 */
export function whoamiRouter(): Router {
  const router = Router();
  router.get('/whoami', (_req, res) => {
    res.json(callerOf(res) ?? {});
  });
  return router;
}
