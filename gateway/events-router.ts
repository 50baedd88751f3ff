import { Router } from 'express';
import { isLifecycleEvent } from '../common/run-control';
import { actorOf } from './auth';
import type { AcceptFn } from './metrics';
import { ProblemError } from './problem';
import { eventNameParam, jsonBody, requireJsonObject } from './request-body';

/** `POST /events/:source/:type`: the generic, durable event intake. */
export function eventsRouter(accept: AcceptFn): Router {
  const router = Router();
  router.post('/events/:source/:type', jsonBody, async (req, res) => {
    const source = eventNameParam(req, 'source');
    const type = eventNameParam(req, 'type');
    if (isLifecycleEvent(source, type)) {
      throw new ProblemError(
        403,
        'Forbidden',
        `${source}/${type} is a run lifecycle event, which only Flow itself emits; send your own events under another source or type.`,
      );
    }
    const body = requireJsonObject(req);
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new ProblemError(400, 'Bad Request', 'The Idempotency-Key header must be 1-200 visible ASCII characters.');
    }
    // The acting token's name travels with the event as its actor.
    const actor = actorOf(res);
    const accepted = await accept({
      source,
      type,
      body,
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(actor === undefined ? {} : { actor }),
    });
    res.status(202).json(accepted);
  });
  return router;
}
