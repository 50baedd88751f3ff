import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { TemporalUnavailableError } from '../intake';

/** One field-level problem inside a problem+json response, such as `steps[2].with.url`. */
export interface ProblemFieldError {
  readonly path: string;
  readonly message: string;
}

/** An RFC 9457 problem details object as Flow sends it. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly ProblemFieldError[];
  readonly [extension: string]: unknown;
}

/** An error that the gateway answers with its own status and `detail`; thrown by handlers. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: {
      readonly errors?: readonly ProblemFieldError[];
      readonly type?: string;
      readonly [key: string]: unknown;
    } = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }

  /** The problem+json body for this error; `headers` and `retryAfter` go into the response head instead. */
  toProblem(): Problem {
    const { type, headers: _headers, ...rest } = this.extra;
    return { type: type ?? 'about:blank', title: this.title, status: this.status, detail: this.detail, ...rest };
  }

  /** Response headers that belong with this problem, such as `WWW-Authenticate` or `Retry-After`. */
  get headers(): Readonly<Record<string, string>> {
    const headers = this.extra['headers'];
    return typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : {};
  }
}

/** Writes `problem` as `application/problem+json`. */
export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** Answers any unmatched route with a 404 problem. */
export const notFound: RequestHandler = (req, res) => {
  sendProblem(res, {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: `No route for ${req.method} ${req.path}. See the README for the gateway's endpoints.`,
  });
};

/** Turns thrown errors, including body-parser failures, into problem+json; unexpected errors become a bare 500. */
export function problemErrorHandler(log: (message: string, error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof ProblemError) {
      res.set(error.headers);
      sendProblem(res, error.toProblem());
      return;
    }
    const mapped = mapKnownError(error);
    if (mapped) {
      res.set(mapped.headers);
      sendProblem(res, mapped.toProblem());
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const detail = bodyParserDetail(error, status, req.get('content-encoding'));
      sendProblem(res, { type: 'about:blank', title: titleFor(status), status, detail });
      return;
    }
    log('unhandled error', error);
    sendProblem(res, {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The gateway failed unexpectedly; the error is in its log. Retrying the request is safe.',
    });
  };
}

/** Errors from unreachable services, which the client can retry: Temporal (nothing accepted) or MongoDB. */
function mapKnownError(error: unknown): ProblemError | undefined {
  if (error instanceof TemporalUnavailableError) {
    return new ProblemError(
      503,
      'Service Unavailable',
      'Temporal is unreachable, so the event was not accepted. Retry it; its Idempotency-Key or delivery id makes retries safe.',
      { headers: { 'Retry-After': '5' } },
    );
  }
  const name = (error as { name?: unknown }).name;
  if (typeof name === 'string' && /^Mongo(ServerSelection|Network|NetworkTimeout|TopologyClosed)Error$/.test(name)) {
    return new ProblemError(
      503,
      'Service Unavailable',
      'The registry (MongoDB) is unreachable; retry shortly. Nothing was changed.',
      {
        headers: { 'Retry-After': '5' },
      },
    );
  }
  return undefined;
}

/** Body-parser errors, reworded so the sender knows what to change. */
function bodyParserDetail(error: unknown, status: number, contentEncoding: string | undefined): string {
  const type = (error as { type?: unknown }).type;
  const message = error instanceof Error ? error.message : String(error);
  if (type === 'entity.too.large') return 'The request body is larger than the limit of 1 MB.';
  if (type === 'entity.parse.failed') return `The body is not valid JSON: ${message}`;
  if (type === 'charset.unsupported') return 'The body must be UTF-8 encoded.';
  if (type === 'encoding.unsupported') {
    return `Content-Encoding ${JSON.stringify((contentEncoding ?? '').slice(0, 40))} is not supported; send the body uncompressed, or with gzip or deflate.`;
  }
  if (status === 400 && contentEncoding) {
    return `The body could not be decompressed as Content-Encoding ${JSON.stringify(contentEncoding.slice(0, 40))}: ${message}`;
  }
  return status === 413 ? 'The request body is too large.' : message;
}

function titleFor(status: number): string {
  if (status === 413) return 'Content Too Large';
  if (status === 415) return 'Unsupported Media Type';
  return 'Bad Request';
}
