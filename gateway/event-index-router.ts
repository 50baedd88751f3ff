import { gzipSync } from 'node:zlib';
import { Router } from 'express';
import { EventIndex, type EventIndexSnapshot } from '../registry/event-index';
import type { DefinitionStore } from '../registry';

/**
 * `GET /api/events`: every source → its event types → the definitions bound to each, with their conditions and state
 * (the console's home page). Served from an index kept in memory and rebuilt only when the registry changed, so its
 * cost does not grow with the number of definitions; an `If-None-Match` with the index's entity tag gets 304, and a
 * client that accepts gzip gets the answer compressed once per index.
 */
export function eventIndexRouter(store: DefinitionStore): Router {
  const index = new EventIndex(store);
  const compressed = new WeakMap<EventIndexSnapshot, Buffer>();
  const router = Router();
  router.get('/events', async (req, res) => {
    const snapshot = await index.current();
    res.set('ETag', snapshot.etag);
    // Revalidated on every use: a browser may keep it, but asks whether it changed.
    res.set('Cache-Control', 'private, no-cache');
    res.vary('Accept-Encoding');
    if (req.headers['if-none-match'] === snapshot.etag) {
      res.status(304).end();
      return;
    }
    res.type('application/json');
    if (!acceptsGzip(req.headers['accept-encoding'])) {
      res.send(snapshot.json);
      return;
    }
    let body = compressed.get(snapshot);
    if (!body) compressed.set(snapshot, (body = gzipSync(snapshot.json)));
    res.set('Content-Encoding', 'gzip').send(body);
  });
  return router;
}

/** True when an `Accept-Encoding` header allows gzip (listed without `q=0`). */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [coding = '', ...parameters] = part.trim().toLowerCase().split(';');
    const refused = parameters.some((parameter) => /^\s*q=0(?:\.0*)?\s*$/.test(parameter));
    return (coding.trim() === 'gzip' || coding.trim() === '*') && !refused;
  });
}
