import { rateLimit, type Options } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import { sendProblem } from './problem';

/**
 * Limits requests per event source (the `:source` route parameter), so one noisy or hostile sender cannot starve
 * the others. Over the limit: 429 problem+json with `Retry-After`.
 */
export function perSourceRateLimit(limitPerMinute: number): RequestHandler {
  const options: Partial<Options> = {
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => `source:${String(req.params['source'] ?? '')}`,
    handler: (req, res) => {
      const reset =
        (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime?.getTime() ?? Date.now() + 60_000;
      res.set('Retry-After', String(Math.max(1, Math.ceil((reset - Date.now()) / 1000))));
      sendProblem(res, {
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: `More than ${limitPerMinute} requests a minute from source ${String(req.params['source'] ?? '')}; retry after the Retry-After delay.`,
      });
    },
  };
  return rateLimit(options);
}
