import { Router } from 'express';
import { EventIndex } from '../registry/event-index';
import type { DefinitionStore } from '../registry';

/**
 * `GET /api/events`: every source → its event types → the definitions bound to each, with their conditions and state
 * (the console's home page). Served from an index kept in memory and rebuilt only when the registry changed, so its
 * cost does not grow with the number of definitions; an `If-None-Match` with the index's entity tag gets 304.
 */
export function eventIndexRouter(store: DefinitionStore): Router {
  const index = new EventIndex(store);
  const router = Router();
  router.get('/events', async (req, res) => {
    const snapshot = await index.current();
    res.set('ETag', snapshot.etag);
    // Revalidated on every use: a browser may keep it, but asks whether it changed.
    res.set('Cache-Control', 'private, no-cache');
    if (req.headers['if-none-match'] === snapshot.etag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(snapshot.json);
  });
  return router;
}
