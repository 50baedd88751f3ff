import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/**
 * The request headers the log keeps: what helps find a request (who sent it, what it carried, which delivery it
 * was). Every other header is left out, so a credential in a header nobody listed (`Authorization`, webhook
 * signatures and tokens, cookies, a sender's own `X-Api-Key`) can never reach the log.
 */
export const LOGGED_HEADERS = [
  'user-agent',
  'content-type',
  'content-length',
  'content-encoding',
  'idempotency-key',
  'x-github-event',
  'x-github-delivery',
  'x-gitlab-event',
  'x-gitlab-event-uuid',
  'x-atlassian-webhook-identifier',
  'x-request-id',
] as const;

/**
 * One line per request when its response is sent: id, method, path, sender address, the {@link LOGGED_HEADERS} it
 * had, status and time. The raw request and response are read directly (no generic serialisation of every header,
 * then redaction), which keeps logging cheap on the intake's hot path.
 */
export function requestLog(logger: Logger): ReturnType<typeof pinoHttp> {
  return pinoHttp({
    logger,
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { id?: unknown; originalUrl?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.originalUrl ?? req.url,
        remoteAddress: req.socket?.remoteAddress,
        headers: pickHeaders(req.headers),
      }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
}

function pickHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') picked[name] = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  }
  return picked;
}
