import { CliError, EXIT, type ExitCode } from './errors';

/** One answer of the gateway. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, when it is JSON (`application/json` or `application/problem+json`). */
  readonly body: unknown;
}

/** A request of {@link FlowClient.request}. */
export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** A JSON value (sent as `application/json`) or text sent with {@link contentType}. */
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses answered as a result rather than thrown as a {@link CliError} (such as 404 for "does not exist yet"). */
  readonly allow?: readonly number[];
}

/** How long one request may take before the gateway counts as unreachable. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The gateway's HTTP API with the caller's token (`Authorization: Bearer`). A problem+json answer becomes a
 * {@link CliError} with the server's `detail`, what to do next, and the exit code its status means; a gateway that
 * does not answer is {@link EXIT.unreachable}.
 */
export class FlowClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** GETs JSON. */
  async get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return (await this.request('GET', path, query ? { query } : {})).body as T;
  }

  /** Sends a request; throws {@link CliError} for an answer outside 2xx (and `allow`) or no answer at all. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json', ...options.headers };
    if (this.token !== undefined) headers['Authorization'] = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    } else if (options.text !== undefined) {
      body = options.text;
      headers['Content-Type'] = options.contentType ?? 'text/plain';
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        redirect: 'error',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw this.unreachable(error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.unreachable(error);
    }
    const type = response.headers.get('content-type') ?? '';
    let parsed: unknown;
    if (/json/.test(type) && text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = undefined;
      }
    }
    const answer: ApiResponse = { status: response.status, headers: response.headers, text, body: parsed };
    if ((response.status >= 200 && response.status < 300) || options.allow?.includes(response.status)) return answer;
    throw problemError(method, path, answer, this.baseUrl);
  }

  private unreachable(error: unknown): CliError {
    const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : '';
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return new CliError(
      timedOut
        ? `The Flow gateway at ${this.baseUrl} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s.`
        : `Cannot reach the Flow gateway at ${this.baseUrl}${cause ? ` (${cause})` : ''}.`,
      EXIT.unreachable,
      'Is it running? Check --url, FLOW_URL or the URL saved by flowctl login (npm start prints the address).',
    );
  }
}

/** The exit code an HTTP status means. */
export function exitCodeOf(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.unauthorized;
  if (status === 404) return EXIT.notFound;
  if (status === 422) return EXIT.invalid;
  if (status === 400) return EXIT.usage;
  return EXIT.failed;
}

/** A gateway's refusal as flowctl reports it: its `detail`, its field problems and what to do next. */
export function problemError(method: string, path: string, answer: ApiResponse, baseUrl: string): CliError {
  const problem = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as {
    detail?: unknown;
    title?: unknown;
    errors?: unknown;
  };
  const detail =
    typeof problem.detail === 'string'
      ? problem.detail
      : `${method} ${path} answered ${answer.status}${typeof problem.title === 'string' ? ` ${problem.title}` : ''}.`;
  const problems = Array.isArray(problem.errors)
    ? problem.errors.flatMap((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null) return [];
        const record = entry as Record<string, unknown>;
        return typeof record['path'] === 'string' && typeof record['message'] === 'string'
          ? [
              {
                path: record['path'],
                message: record['message'],
                ...(typeof record['line'] === 'number' ? { line: record['line'] } : {}),
              },
            ]
          : [];
      })
    : [];
  return new CliError(detail, exitCodeOf(answer.status), hintFor(answer.status, baseUrl), problems);
}

function hintFor(status: number, baseUrl: string): string | undefined {
  switch (status) {
    case 401:
      return `The token was refused by ${baseUrl}: set FLOW_TOKEN, pass --token, or run flowctl login with a valid token.`;
    case 403:
      return 'This token may not do that: changes need a write-scope token (FLOW_API_TOKENS entries name their scope).';
    case 412:
      return 'Someone changed it since it was read: run the command again to work from the current revision.';
    case 429:
      return 'The gateway is rate limiting; wait a minute and try again.';
    case 502:
    case 503:
    case 504:
      return 'The gateway could not reach Temporal or the registry; try again shortly (GET /healthz says which is down).';
    default:
      return undefined;
  }
}
