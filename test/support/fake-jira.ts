import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Jira Cloud site: a real HTTP server on loopback speaking the slice of the REST API v3 the `jira.*` actions
 * call (issue, transitions, comment, watchers, issueLink, search/jql), with basic auth, in-memory issues, recorded
 * requests and scripted failures. Tests reach it through jira.js, exactly as the worker reaches Jira.
 */

/** A workflow transition; `to` is the target status name; `from` limits it to those statuses (absent: global). */
export interface FakeTransition {
  readonly id: string;
  readonly name: string;
  readonly to: string;
  readonly from?: readonly string[];
}

/**
 * A comment as stored: its id, the Atlassian Document Format body that was posted, and the entity properties given
 * with it (`properties` on create, as Jira Cloud takes them; returned with `expand=properties`).
 */
export interface FakeComment {
  readonly id: string;
  readonly body: unknown;
  readonly properties?: readonly { readonly key: string; readonly value: unknown }[];
  /** When it was created (ISO 8601); now when absent. */
  readonly created?: string;
}

/** A link as created through POST /issueLink: the link type name and both issue keys as sent. */
export interface FakeLink {
  readonly type: string;
  readonly inwardIssue: string;
  readonly outwardIssue: string;
}

/** An issue of the fake site; tests may read and change it directly. */
export interface FakeIssue {
  readonly id: string;
  readonly key: string;
  summary: string;
  /** The status name, such as "To Do". */
  status: string;
  /** Fix version names. */
  fixVersions: string[];
  labels: string[];
  /** Assignee account id; undefined when unassigned. */
  assignee?: string;
  /** The transitions the workflow has; GET transitions offers those allowed from the current status. */
  transitions: FakeTransition[];
  /** Watcher account ids. */
  watchers: string[];
  comments: FakeComment[];
  /** Links this issue takes part in, on either side. */
  links: FakeLink[];
  /** Other fields by id, such as `customfield_10010`, returned as given. */
  fields: Record<string, unknown>;
}

/** What a test gives to {@link FakeJira.addIssue}; everything but the key has a default. */
export type FakeIssueInit = Partial<Omit<FakeIssue, 'id' | 'key'>>;

/** One request the fake received. */
export interface FakeJiraRequest {
  readonly method: string;
  /** The path without the query string, such as `/rest/api/3/issue/REL-1/transitions`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The body parsed as JSON; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  readonly authorization: string | undefined;
}

/** Jira's simplified workflow: every status reachable from every other through a global transition. */
export const DEFAULT_TRANSITIONS: readonly FakeTransition[] = [
  { id: '11', name: 'To Do', to: 'To Do' },
  { id: '21', name: 'In Progress', to: 'In Progress' },
  { id: '31', name: 'Done', to: 'Done' },
];

/** The link types of a new Jira Cloud site. */
export const DEFAULT_LINK_TYPES = [
  { id: '10000', name: 'Blocks', inward: 'is blocked by', outward: 'blocks' },
  { id: '10001', name: 'Cloners', inward: 'is cloned by', outward: 'clones' },
  { id: '10002', name: 'Duplicate', inward: 'is duplicated by', outward: 'duplicates' },
  { id: '10003', name: 'Relates', inward: 'relates to', outward: 'relates to' },
] as const;

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Route = (request: FakeJiraRequest, params: string[]) => Answer;

const API = '/rest/api/3';

export class FakeJira {
  /** Every request received, in order, including rejected ones. */
  readonly requests: FakeJiraRequest[] = [];
  /** Issues by key. */
  readonly issues = new Map<string, FakeIssue>();
  /**
   * Whether GET comments honours `expand=properties` (Jira Cloud documents it for POST /comment/list only); when
   * false, comments come without `properties` there, and POST /comment/list gives them.
   */
  commentsExpandProperties = true;
  /** The most issues one search page returns, whatever maxResults asks for. */
  searchPageLimit = 100;

  private readonly failures: number[] = [];
  private readonly lostAnswers: { method: string; status: number }[] = [];
  private readonly statusIds = new Map<string, string>();
  private nextIssueId = 10001;
  private nextCommentId = 10100;
  private readonly routes: { method: string; path: RegExp; handle: Route }[] = [
    { method: 'GET', path: /^\/issue\/([^/]+)$/, handle: (r, [key]) => this.getIssue(r, key!) },
    { method: 'GET', path: /^\/issue\/([^/]+)\/transitions$/, handle: (_r, [key]) => this.getTransitions(key!) },
    { method: 'POST', path: /^\/issue\/([^/]+)\/transitions$/, handle: (r, [key]) => this.doTransition(r, key!) },
    { method: 'POST', path: /^\/issue\/([^/]+)\/comment$/, handle: (r, [key]) => this.addComment(r, key!) },
    { method: 'GET', path: /^\/issue\/([^/]+)\/comment$/, handle: (r, [key]) => this.getComments(r, key!) },
    { method: 'POST', path: /^\/comment\/list$/, handle: (r) => this.commentsByIds(r) },
    { method: 'POST', path: /^\/issue\/([^/]+)\/watchers$/, handle: (r, [key]) => this.addWatcher(r, key!) },
    { method: 'POST', path: /^\/issueLink$/, handle: (r) => this.linkIssues(r) },
    { method: 'GET', path: /^\/search\/jql$/, handle: (r) => this.search(r) },
    { method: 'GET', path: /^\/user\/search$/, handle: (r) => this.searchUsers(r) },
  ];

  /** Users `GET /user/search?query=` finds, by email address; add them with {@link addUser}. */
  readonly users: { accountId: string; emailAddress: string; displayName: string }[] = [];

  private constructor(
    private readonly server: http.Server,
    /** The account email the fake accepts. */
    readonly email: string,
    /** The API token the fake accepts. */
    readonly apiToken: string,
  ) {}

  /** Starts a fake on 127.0.0.1 with a free port, accepting the given (or default) credentials. */
  static async start(credentials: { email?: string; apiToken?: string } = {}): Promise<FakeJira> {
    const server = http.createServer();
    const fake = new FakeJira(
      server,
      credentials.email ?? 'flow-bot@example.com',
      credentials.apiToken ?? 'fake-jira-api-token',
    );
    server.on('request', (req, res) => fake.receive(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Base URL, such as `http://127.0.0.1:41234`; what JIRA_URL should be. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The worker environment that points the Jira actions at this fake with valid credentials. */
  env(): Record<'JIRA_URL' | 'JIRA_EMAIL' | 'JIRA_API_TOKEN', string> {
    return { JIRA_URL: this.url, JIRA_EMAIL: this.email, JIRA_API_TOKEN: this.apiToken };
  }

  /** Adds (or replaces) an issue; unset fields default to an open, unassigned issue in the simplified workflow. */
  addIssue(key: string, init: FakeIssueInit = {}): FakeIssue {
    const issue: FakeIssue = {
      id: String(this.nextIssueId++),
      key,
      summary: init.summary ?? `Issue ${key}`,
      status: init.status ?? 'To Do',
      fixVersions: init.fixVersions ?? [],
      labels: init.labels ?? [],
      ...(init.assignee === undefined ? {} : { assignee: init.assignee }),
      transitions: init.transitions ?? [...DEFAULT_TRANSITIONS],
      watchers: init.watchers ?? [],
      comments: init.comments ?? [],
      links: init.links ?? [],
      fields: init.fields ?? {},
    };
    this.issues.set(key, issue);
    return issue;
  }

  /** Adds a user that user search finds by email. */
  addUser(accountId: string, emailAddress: string, displayName = emailAddress): void {
    this.users.push({ accountId, emailAddress, displayName });
  }

  /** The issue with this key; throws when there is none, so tests fail at the right line. */
  issue(key: string): FakeIssue {
    const issue = this.issues.get(key);
    if (!issue) throw new Error(`the fake Jira has no issue ${key}`);
    return issue;
  }

  /** Answers the next `count` requests (after recording them) with `status` and a Jira error body. */
  failNext(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(status);
  }

  /**
   * The next request with this method is handled (a POST's change is made) and then answered with `status` and a
   * Jira error body instead of its result: an answer lost after Jira did the work.
   */
  loseNextAnswer(method: string, status = 500): void {
    this.lostAnswers.push({ method, status });
  }

  /** Requests with this method whose path ends with `suffix` (after `/rest/api/3`). */
  to(method: string, suffix: string): FakeJiraRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === `${API}${suffix}`);
  }

  /** Forgets requests, issues and scripted failures, for a fresh start between tests. */
  reset(): void {
    this.requests.length = 0;
    this.failures.length = 0;
    this.lostAnswers.length = 0;
    this.issues.clear();
    this.searchPageLimit = 100;
    this.commentsExpandProperties = true;
  }

  /** Stops the server, dropping open keep-alive connections. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake-jira');
      const text = Buffer.concat(chunks).toString('utf8');
      const request: FakeJiraRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: parseBody(text),
        authorization: req.headers.authorization,
      };
      this.requests.push(request);
      const answer = this.answer(request, req.headers['content-type']);
      res.writeHead(answer.status, {
        ...(answer.body === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }),
        ...answer.headers,
      });
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  }

  private answer(request: FakeJiraRequest, contentType: string | undefined): Answer {
    const failure = this.failures.shift();
    if (failure !== undefined) {
      return {
        ...jiraError(failure, `Scripted failure ${failure}`),
        ...(failure === 429 ? { headers: { 'retry-after': '1' } } : {}),
      };
    }
    const expected = `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`;
    if (request.authorization !== expected) {
      return jiraError(401, 'Client must be authenticated to access this resource.');
    }
    if (!request.path.startsWith(`${API}/`)) return jiraError(404, `null for uri: ${request.path}`);
    const path = request.path.slice(API.length);
    const routes = this.routes.filter((route) => route.path.test(path));
    if (routes.length === 0) return jiraError(404, `null for uri: ${request.path}`);
    const route = routes.find((candidate) => candidate.method === request.method);
    if (!route) return { status: 405 };
    if (request.method === 'POST' && !contentType?.startsWith('application/json')) {
      return jiraError(415, 'Unsupported Media Type');
    }
    const params = (route.path.exec(path) ?? []).slice(1).map((param) => decodeURIComponent(param));
    const answer = route.handle(request, params);
    const lost = this.lostAnswers.findIndex((candidate) => candidate.method === request.method);
    if (lost >= 0 && answer.status < 300) {
      const { status } = this.lostAnswers.splice(lost, 1)[0]!;
      return jiraError(status, `Scripted failure ${status} after the request was handled`);
    }
    return answer;
  }

  private find(idOrKey: string): FakeIssue | undefined {
    return this.issues.get(idOrKey) ?? [...this.issues.values()].find((issue) => issue.id === idOrKey);
  }

  // GET /issue/{issueIdOrKey}?fields=a,b
  private getIssue(request: FakeJiraRequest, key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    return { status: 200, body: this.issueJson(issue, fieldList(request.query['fields'])) };
  }

  // GET /issue/{issueIdOrKey}/transitions
  private getTransitions(key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    return {
      status: 200,
      body: {
        expand: 'transitions',
        transitions: this.available(issue).map((t) => ({
          id: t.id,
          name: t.name,
          to: this.statusJson(t.to),
          hasScreen: false,
          isGlobal: t.from === undefined,
          isInitial: false,
          isAvailable: true,
          isConditional: false,
          isLooped: false,
        })),
      },
    };
  }

  // POST /issue/{issueIdOrKey}/transitions {transition: {id}}
  private doTransition(request: FakeJiraRequest, key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    const id = objectAt(request.body, 'transition')?.['id'];
    if (typeof id !== 'string') return jiraError(400, "Missing 'transition' identifier");
    const transition = this.available(issue).find((t) => t.id === id);
    if (!transition) return jiraError(400, `Transition id '${id}' is not valid for this issue.`);
    issue.status = transition.to;
    return { status: 204 };
  }

  // POST /issue/{issueIdOrKey}/comment {body: <Atlassian document>}
  private addComment(request: FakeJiraRequest, key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    const body = objectAt(request.body, 'body');
    if (!body || body['type'] !== 'doc' || body['version'] !== 1 || !Array.isArray(body['content'])) {
      return { status: 400, body: { errorMessages: [], errors: { comment: 'Comment body is not a valid document.' } } };
    }
    const properties = request.body === null ? undefined : (request.body as Record<string, unknown>)['properties'];
    if (
      properties !== undefined &&
      (!Array.isArray(properties) ||
        properties.some((p: unknown) => typeof (p as { key?: unknown } | null)?.key !== 'string'))
    ) {
      return { status: 400, body: { errorMessages: [], errors: { properties: 'Each property needs a key.' } } };
    }
    const now = new Date().toISOString();
    const comment: FakeComment = {
      id: String(this.nextCommentId++),
      body,
      created: now,
      ...(properties ? { properties: properties as { key: string; value: unknown }[] } : {}),
    };
    issue.comments.push(comment);
    return {
      status: 201,
      body: {
        self: `${this.url}${API}/issue/${issue.id}/comment/${comment.id}`,
        id: comment.id,
        author: { accountId: 'flow-bot', displayName: 'Flow', active: true },
        body,
        created: now,
        updated: now,
        jsdPublic: true,
      },
    };
  }

  // GET /issue/{issueIdOrKey}/comment?startAt&maxResults&orderBy=(-|+)created&expand=properties
  private getComments(request: FakeJiraRequest, key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    const startAt = Number(request.query['startAt'] ?? 0) || 0;
    // Jira Cloud answers at most 100 comments a page here (its default is larger, 5000, for older clients).
    const maxResults = Math.min(Number(request.query['maxResults'] ?? 100) || 100, 100);
    const newestFirst = request.query['orderBy'] === '-created';
    const expand = (request.query['expand'] ?? '').split(',');
    const ordered = newestFirst ? [...issue.comments].reverse() : issue.comments;
    const page = ordered.slice(startAt, startAt + maxResults);
    return {
      status: 200,
      body: {
        startAt,
        maxResults,
        total: issue.comments.length,
        comments: page.map((comment) => ({
          self: `${this.url}${API}/issue/${issue.id}/comment/${comment.id}`,
          id: comment.id,
          author: { accountId: 'flow-bot', displayName: 'Flow', active: true },
          body: comment.body,
          created: comment.created ?? new Date().toISOString(),
          ...(expand.includes('properties') && this.commentsExpandProperties
            ? { properties: comment.properties ?? [] }
            : {}),
        })),
      },
    };
  }

  // POST /comment/list?expand=properties {ids: [..]}: the comments with those ids, on any issue, as a page
  private commentsByIds(request: FakeJiraRequest): Answer {
    const ids = (request.body as { ids?: unknown } | null)?.ids;
    if (!Array.isArray(ids)) return jiraError(400, 'ids must be a list of comment ids');
    const wanted = new Set(ids.map(String));
    const expand = (request.query['expand'] ?? '').split(',');
    const values = [...this.issues.values()].flatMap((issue) =>
      issue.comments
        .filter((comment) => wanted.has(comment.id))
        .map((comment) => ({
          id: comment.id,
          body: comment.body,
          created: comment.created ?? new Date().toISOString(),
          ...(expand.includes('properties') ? { properties: comment.properties ?? [] } : {}),
        })),
    );
    return { status: 200, body: { startAt: 0, maxResults: 1000, total: values.length, isLast: true, values } };
  }

  // POST /issue/{issueIdOrKey}/watchers "<accountId>"
  private addWatcher(request: FakeJiraRequest, key: string): Answer {
    const issue = this.find(key);
    if (!issue) return noSuchIssue();
    if (typeof request.body !== 'string' || request.body === '') {
      return jiraError(400, 'The request body must be an account id as a JSON string.');
    }
    if (!issue.watchers.includes(request.body)) issue.watchers.push(request.body);
    return { status: 204 };
  }

  // POST /issueLink {type: {name}, inwardIssue: {key}, outwardIssue: {key}}
  private linkIssues(request: FakeJiraRequest): Answer {
    const typeRef = objectAt(request.body, 'type');
    const type = DEFAULT_LINK_TYPES.find((t) => t.name === typeRef?.['name'] || t.id === typeRef?.['id']);
    if (!type) return jiraError(404, `No issue link type with name '${String(typeRef?.['name'])}' found.`);
    const inward = this.linked(objectAt(request.body, 'inwardIssue'));
    const outward = this.linked(objectAt(request.body, 'outwardIssue'));
    if (!inward || !outward) return jiraError(404, 'Issue Does Not Exist');
    const link: FakeLink = { type: type.name, inwardIssue: inward.key, outwardIssue: outward.key };
    const exists = inward.links.some(
      (l) => l.type === link.type && l.inwardIssue === link.inwardIssue && l.outwardIssue === link.outwardIssue,
    );
    if (!exists) {
      inward.links.push(link);
      if (outward !== inward) outward.links.push(link);
    }
    return { status: 201 };
  }

  // GET /search/jql?jql=&maxResults=&nextPageToken=&fields=
  // GET /user/search?query=<text>: matches email addresses and display names, case-insensitively, like Jira Cloud.
  private searchUsers(request: FakeJiraRequest): Answer {
    const query = (request.query['query'] ?? '').toLowerCase();
    if (!query) return jiraError(400, 'The query parameter is required.');
    const found = this.users.filter(
      (user) => user.emailAddress.toLowerCase().includes(query) || user.displayName.toLowerCase().includes(query),
    );
    return { status: 200, body: found.map((user) => ({ ...user, accountType: 'atlassian', active: true })) };
  }

  private search(request: FakeJiraRequest): Answer {
    const jql = request.query['jql'] ?? '';
    let query: JqlQuery;
    try {
      query = parseJql(jql);
    } catch (error) {
      return jiraError(400, `Error in the JQL Query: ${(error as Error).message}`);
    }
    if (query.clauses.length === 0) {
      return jiraError(
        400,
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      );
    }
    let offset = 0;
    const token = request.query['nextPageToken'];
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (!decoded || decoded.jql !== jql) return jiraError(400, 'The provided next page token is invalid or expired.');
      offset = decoded.offset;
    }
    const matching = [...this.issues.values()].filter((issue) => query.clauses.every((c) => matches(issue, c)));
    if (query.orderByKey) matching.sort((a, b) => compareKeys(a.key, b.key) * (query.orderByKey === 'DESC' ? -1 : 1));
    const size = Math.min(Number(request.query['maxResults'] ?? 50), this.searchPageLimit);
    const page = matching.slice(offset, offset + size);
    const more = offset + page.length < matching.length;
    const fields = fieldList(request.query['fields']);
    return {
      status: 200,
      body: {
        issues: page.map((issue) => (fields ? this.issueJson(issue, fields) : { id: issue.id })),
        ...(more ? { nextPageToken: encodeToken({ jql, offset: offset + page.length }) } : {}),
        isLast: !more,
      },
    };
  }

  private available(issue: FakeIssue): FakeTransition[] {
    return issue.transitions.filter((t) => t.from === undefined || t.from.includes(issue.status));
  }

  private linked(ref: Record<string, unknown> | undefined): FakeIssue | undefined {
    const key = ref?.['key'] ?? ref?.['id'];
    return typeof key === 'string' ? this.find(key) : undefined;
  }

  private statusId(name: string): string {
    let id = this.statusIds.get(name);
    if (id === undefined) {
      id = String(10000 + this.statusIds.size);
      this.statusIds.set(name, id);
    }
    return id;
  }

  private statusJson(name: string) {
    const id = this.statusId(name);
    const category = name === 'Done' ? 'done' : name === 'To Do' ? 'new' : 'indeterminate';
    return { self: `${this.url}${API}/status/${id}`, id, name, statusCategory: { key: category } };
  }

  private issueJson(issue: FakeIssue, requested: readonly string[] | undefined) {
    const all: Record<string, unknown> = {
      summary: issue.summary,
      status: this.statusJson(issue.status),
      fixVersions: issue.fixVersions.map((name, index) => ({
        self: `${this.url}${API}/version/${20000 + index}`,
        id: String(20000 + index),
        name,
        archived: false,
        released: false,
      })),
      labels: issue.labels,
      assignee: issue.assignee ? { accountId: issue.assignee, displayName: issue.assignee, active: true } : null,
      ...issue.fields,
    };
    const wanted = !requested || requested.includes('*all') ? Object.keys(all) : requested;
    return {
      expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
      id: issue.id,
      self: `${this.url}${API}/issue/${issue.id}`,
      key: issue.key,
      fields: Object.fromEntries(wanted.filter((field) => field in all).map((field) => [field, all[field]])),
    };
  }
}

/** A Jira error answer: `{errorMessages, errors}`. */
function jiraError(status: number, message: string): Answer {
  return { status, body: { errorMessages: [message], errors: {} } };
}

function noSuchIssue(): Answer {
  return jiraError(404, 'Issue does not exist or you do not have permission to see it.');
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as Record<string, unknown>)[key];
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : undefined;
}

function fieldList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').filter(Boolean);
}

function encodeToken(state: { jql: string; offset: number }): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeToken(token: string): { jql: string; offset: number } | undefined {
  try {
    const state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { jql?: unknown; offset?: unknown };
    return typeof state.jql === 'string' && typeof state.offset === 'number'
      ? { jql: state.jql, offset: state.offset }
      : undefined;
  } catch {
    return undefined;
  }
}

function compareKeys(a: string, b: string): number {
  const [projectA = '', numberA = '0'] = a.split('-');
  const [projectB = '', numberB = '0'] = b.split('-');
  return projectA.localeCompare(projectB) || Number(numberA) - Number(numberB);
}

// The JQL the fake understands: `field = value`, `field != value`, `field in (a, b)`, `field not in (a, b)` joined
// by AND, then an optional `ORDER BY <field> [ASC|DESC]` (only key changes the order; otherwise issues come in the
// order they were added). Fields: project, key/issuekey, status, fixVersion, labels,
// assignee. Anything else is a 400, as an unknown field would be on a real site.

interface JqlClause {
  readonly field: 'project' | 'key' | 'status' | 'fixversion' | 'labels' | 'assignee';
  readonly negated: boolean;
  readonly values: readonly string[];
}

interface JqlQuery {
  readonly clauses: readonly JqlClause[];
  readonly orderByKey?: 'ASC' | 'DESC';
}

const JQL_FIELDS: Readonly<Record<string, JqlClause['field']>> = {
  project: 'project',
  key: 'key',
  issuekey: 'key',
  status: 'status',
  fixversion: 'fixversion',
  labels: 'labels',
  assignee: 'assignee',
};

function parseJql(jql: string): JqlQuery {
  const tokens = [...jql.matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(!=|=|\(|\)|,)|([^\s(),=!"']+)/g)].map(
    (m) => ({ quoted: m[1] ?? m[2], symbol: m[3], word: m[4] }),
  );
  let at = 0;
  const word = () => tokens[at]?.word?.toLowerCase();
  const value = (): string => {
    const token = tokens[at++];
    const text = token?.quoted?.replace(/\\(.)/g, '$1') ?? token?.word;
    if (text === undefined) throw new Error('expected a value');
    return text;
  };
  const clauses: JqlClause[] = [];
  while (at < tokens.length && word() !== 'order') {
    if (clauses.length > 0) {
      if (word() !== 'and') throw new Error(`the fake only joins clauses with AND, not "${tokens[at]?.word ?? ''}"`);
      at++;
    }
    const name = word();
    const field = name === undefined ? undefined : JQL_FIELDS[name];
    if (!field) throw new Error(`Field '${tokens[at]?.word ?? ''}' does not exist or you do not have permission.`);
    at++;
    let negated = false;
    let values: string[];
    if (tokens[at]?.symbol === '=' || tokens[at]?.symbol === '!=') {
      negated = tokens[at++]?.symbol === '!=';
      values = [value()];
    } else {
      if (word() === 'not') {
        negated = true;
        at++;
      }
      if (word() !== 'in' || tokens[at + 1]?.symbol !== '(') throw new Error(`expected =, != or in after ${name}`);
      at += 2;
      values = [value()];
      while (tokens[at]?.symbol === ',') {
        at++;
        values.push(value());
      }
      if (tokens[at++]?.symbol !== ')') throw new Error('expected )');
    }
    clauses.push({ field, negated, values });
  }
  let orderByKey: 'ASC' | 'DESC' | undefined;
  if (at < tokens.length) {
    at++;
    if (word() !== 'by') throw new Error('expected BY after ORDER');
    at++;
    const byKey = word() === 'key' || word() === 'issuekey';
    if (!tokens[at++]?.word) throw new Error('expected a field after ORDER BY');
    const direction = word() === 'desc' ? 'DESC' : 'ASC';
    if (word() === 'asc' || word() === 'desc') at++;
    if (byKey) orderByKey = direction;
    if (at < tokens.length) throw new Error(`unexpected "${tokens[at]?.word ?? tokens[at]?.symbol ?? ''}"`);
  }
  return { clauses, ...(orderByKey ? { orderByKey } : {}) };
}

function matches(issue: FakeIssue, clause: JqlClause): boolean {
  const actual = {
    project: [issue.key.split('-')[0] ?? ''],
    key: [issue.key],
    status: [issue.status],
    fixversion: issue.fixVersions,
    labels: issue.labels,
    assignee: issue.assignee ? [issue.assignee] : [],
  }[clause.field];
  const hit = clause.values.some((v) => actual.some((a) => a.toLowerCase() === v.toLowerCase()));
  return clause.negated ? !hit : hit;
}
