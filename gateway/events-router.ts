import { Router } from 'express';
import { EVENT_NAME } from '../common/definition';
import type { AcceptFn } from './metrics';
import { ProblemError } from './problem';
import { jsonBody, requireJsonObject, routeParam } from './request-body';

/** `POST /events/:source/:type`: the generic, durable event intake. */
export function eventsRouter(accept: AcceptFn): Router {
  const router = Router();
  router.post('/events/:source/:type', jsonBody, async (req, res) => {
    const source = routeParam(req, 'source');
    const type = routeParam(req, 'type');
    assertEventName('source', source);
    assertEventName('type', type);
    const body = requireJsonObject(req);
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new ProblemError(400, 'Bad Request', 'The Idempotency-Key header must be 1-200 visible ASCII characters.');
    }
    const accepted = await accept({ source, type, body, ...(idempotencyKey ? { idempotencyKey } : {}) });
    res.status(202).json(accepted);
  });
  return router;
}

function assertEventName(what: 'source' | 'type', value: string): void {
  if (!EVENT_NAME.test(value)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `The event ${what} ${JSON.stringify(value.slice(0, 64))} is not valid: use 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}
