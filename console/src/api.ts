/**
 * The console's only way to the gateway: `fetch` to `/api/...` and `/ui/session`, with the session cookie (sent by
 * the browser) and, on anything that changes something, the session's CSRF header. A 401 means the session is gone,
 * and the console shows the sign-in page again.
 */
import type {
  ActionDescription,
  DefinitionPage,
  DefinitionSummary,
  EventIndex,
  Problem,
  ProviderStatus,
  Revision,
  RunSummary,
  SessionInfo,
  StoredDefinition,
} from './api-types';

/** A refusal or failure of the API, with its problem+json detail when there was one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

let csrf = '';
let signedIn: SessionInfo | null = null;
let onSignedOut: () => void = () => undefined;

/** Remembers the session's CSRF value, and what to do when the API answers 401. */
export function useSession(session: SessionInfo | null, signedOut: () => void): void {
  csrf = session?.csrf ?? '';
  signedIn = session;
  onSignedOut = signedOut;
  cache.clear();
}

/** The signed-in session (who, and with which scope), which pages read to enable or disable their edit controls. */
export function session(): SessionInfo | null {
  return signedIn;
}

/**
 * What a call sends besides a JSON body: a body that is text already (YAML) with its type, more headers (such as a
 * change message), and another type to accept, whose answer is then returned as text.
 */
export interface CallOptions {
  readonly text?: { readonly body: string; readonly type: string };
  readonly headers?: Readonly<Record<string, string>>;
  readonly accept?: string;
}

/** A request to the gateway's API as JSON, with the CSRF header on writes; an {@link ApiError} when it is refused. */
export async function call<T>(method: string, url: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...options.headers, Accept: options.accept ?? 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Flow-CSRF'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.text) headers['Content-Type'] = options.text.type;
  const sent = options.text ? options.text.body : body === undefined ? undefined : JSON.stringify(body);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(sent === undefined ? {} : { body: sent }),
    });
  } catch {
    throw new ApiError(0, { detail: 'The gateway cannot be reached; check that it is running, then reload.' });
  }
  if (response.status === 204) return undefined as T;
  if (response.ok && options.accept !== undefined) return (await response.text()) as T;
  const data: unknown = await response.json().catch(() => ({}));
  if (!response.ok) {
    const problem = (typeof data === 'object' && data !== null ? data : {}) as Problem;
    if (response.status === 401 && !url.startsWith('/ui/session')) onSignedOut();
    throw new ApiError(response.status, problem);
  }
  return data as T;
}

/** The current session, or null when there is none. */
export async function currentSession(): Promise<SessionInfo | null> {
  try {
    return await call<SessionInfo>('GET', '/ui/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Signs in with an API token. */
export function signIn(token: string): Promise<SessionInfo> {
  return call<SessionInfo>('POST', '/ui/session', { token });
}

/** The OpenID Connect identity provider, or null when the gateway signs in with tokens only. */
export async function identityProvider(): Promise<ProviderStatus | null> {
  try {
    return await call<ProviderStatus>('GET', '/ui/auth/provider');
  } catch {
    return null;
  }
}

/** Ends the session (the cookie is cleared). */
export function signOut(): Promise<void> {
  return call<void>('POST', '/ui/session/logout');
}

/** Memoised reads that cannot change: a definition at a revision, the catalog of this gateway. */
const cache = new Map<string, Promise<unknown>>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  let pending = cache.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = load();
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

/** Every source → event type → bound definitions, in one request the gateway answers from its events index. */
export function eventIndex(): Promise<EventIndex> {
  return call<EventIndex>('GET', '/api/events');
}

/** The definitions bound to one event, in one request answered from the registry's index by event. */
export async function definitionsFor(source: string, type: string): Promise<readonly DefinitionSummary[]> {
  const query = new URLSearchParams({ source, type }).toString();
  return (await call<DefinitionPage>('GET', `/api/definitions?${query}`)).items;
}

/** A definition: the current revision, or the given one (which never changes, so it is kept). */
export function definition(id: string, revision?: number): Promise<StoredDefinition> {
  const url = `/api/definitions/${encodeURIComponent(id)}`;
  if (revision === undefined) return call<StoredDefinition>('GET', url);
  return cached(`definition:${id}@${revision}`, () => call<StoredDefinition>('GET', `${url}?revision=${revision}`));
}

/** A definition's revisions, newest first. */
export async function revisions(id: string): Promise<Revision[]> {
  return (await call<{ revisions: Revision[] }>('GET', `/api/definitions/${encodeURIComponent(id)}/revisions`))
    .revisions;
}

/** The action catalog, by id. */
export function actions(): Promise<ReadonlyMap<string, ActionDescription>> {
  return cached('actions', async () => {
    const { actions: list } = await call<{ actions: ActionDescription[] }>('GET', '/api/actions');
    return new Map(list.map((action) => [action.id, action]));
  });
}

/** The most recent runs of a definition. */
export async function recentRuns(id: string, limit = 20): Promise<RunSummary[]> {
  const query = new URLSearchParams({ definition: id, limit: String(limit) });
  return (await call<{ items: RunSummary[] }>('GET', `/api/runs?${query.toString()}`)).items;
}

/** Runs `work` over `items` with at most `limit` at a time, in order of the results. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
