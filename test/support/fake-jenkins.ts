import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A result Jenkins records for a finished build. */
export type BuildResult = 'SUCCESS' | 'UNSTABLE' | 'FAILURE' | 'NOT_BUILT' | 'ABORTED';

/** How one build plays out, polled through the JSON API. */
export interface ScriptedBuild {
  /** The build number; the job's next number when omitted. */
  readonly number?: number;
  /** Queue polls that still show the item waiting before it shows the started build. */
  readonly queuedFor?: number;
  /** The queue item is cancelled instead of starting a build. */
  readonly cancelledInQueue?: boolean;
  /** Build polls that show `building: true` before the result. Infinity keeps it running. */
  readonly buildingFor?: number;
  readonly result?: BuildResult;
  readonly durationMs?: number;
  /** Archived artifacts, as paths relative to the workspace. */
  readonly artifacts?: readonly string[];
}

/** A build as the fake reports it: its number, URL and the parameters it was started with. */
export interface FinishedBuild {
  readonly number: number;
  readonly url: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/** A request the fake received. */
export interface JenkinsRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The form-encoded body, decoded. */
  readonly form: Readonly<Record<string, string>>;
}

/** Options of {@link FakeJenkins}. */
export interface FakeJenkinsOptions {
  /** The user and API token requests must carry as basic auth. */
  readonly user: string;
  readonly token: string;
}

/** How a job is configured; see {@link FakeJenkins.addJob}. */
export interface FakeJobOptions {
  /**
   * The string parameters the job declares. Declared (even empty) makes the fake behave as Jenkins does:
   * `buildWithParameters` is refused for a job that declares none, and a build keeps only declared parameters once it
   * leaves the queue (SECURITY-170; the queue item keeps them all). Undeclared (the default) accepts any.
   */
  readonly parameters?: readonly string[];
}

interface Job {
  nextNumber: number;
  readonly parameters: readonly string[] | undefined;
  readonly scripts: ScriptedBuild[];
  readonly builds: Map<number, Build>;
}

interface Build {
  readonly number: number;
  readonly queueId?: number;
  readonly script: ScriptedBuild;
  readonly parameters: Readonly<Record<string, string>>;
  readonly timestamp: number;
  polls: number;
}

interface QueueItem {
  readonly id: number;
  readonly job: string;
  readonly number: number;
  readonly script: ScriptedBuild;
  readonly parameters: Readonly<Record<string, string>>;
  readonly inQueueSince: number;
  polls: number;
}

const CRUMB_FIELD = 'Jenkins-Crumb';

/**
 * Jenkins' remote-access JSON API on loopback, for the real `jenkins` client: basic auth with an API token, a CSRF
 * crumb (tied to its session cookie) required on every POST, jobs in folders, `build`/`buildWithParameters` answering
 * 201 with the queue item in `Location`, queue items that turn into builds after scripted polls, and builds that run
 * for scripted polls before recording a result and their artifacts.
 */
export class FakeJenkins {
  readonly requests: JenkinsRequest[] = [];
  private readonly jobs = new Map<string, Job>();
  private readonly queue = new Map<number, QueueItem>();
  private readonly failures: number[] = [];
  private readonly crumbs = new Map<string, string>();
  private server: http.Server | undefined;
  private nextQueueId = 41;
  private readonly lostTriggers: number[] = [];
  private sessions = 0;

  constructor(private readonly options: FakeJenkinsOptions) {}

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  /** The Jenkins root URL, such as `http://127.0.0.1:41234` (no trailing slash). */
  get url(): string {
    if (!this.server) throw new Error('FakeJenkins is not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates a job (folders separated by `/`) whose next build gets `nextNumber`. */
  addJob(name: string, nextNumber = 1, options: FakeJobOptions = {}): void {
    this.jobs.set(name, { nextNumber, parameters: options.parameters, scripts: [], builds: new Map() });
  }

  /**
   * The next trigger (`build` or `buildWithParameters`) is queued and then answered with HTTP `status` instead of
   * 201: an answer lost after Jenkins queued the build.
   */
  loseNextTriggerAnswer(status = 500): void {
    this.lostTriggers.push(status);
  }

  /** Every queue item and build of a job, as Jenkins would report them: queued ones and started ones. */
  triggered(name: string): { queued: number; builds: number } {
    const job = this.job(name);
    const queued = [...this.queue.values()].filter((item) => item.job === name && !job.builds.has(item.number));
    return { queued: queued.length, builds: job.builds.size };
  }

  /** Scripts the next build the job will be triggered for; unscripted builds succeed at the first poll. */
  scriptNextBuild(name: string, script: ScriptedBuild): void {
    this.job(name).scripts.push(script);
  }

  /**
   * Adds a build that already left the queue (started earlier, by someone else or by a previous attempt), with the
   * parameters it was started with; it replaces a build of that number, as a build a queue item started.
   */
  addBuild(
    name: string,
    script: ScriptedBuild & { readonly number: number },
    parameters: Readonly<Record<string, string>> = {},
  ): void {
    const job = this.job(name);
    job.builds.set(script.number, { number: script.number, script, parameters, timestamp: Date.now(), polls: 0 });
    job.nextNumber = Math.max(job.nextNumber, script.number + 1);
  }

  /**
   * Starts the job's oldest queued build the way an executor would, running it as `script` says (its result and
   * artifacts), and returns the build as Jenkins reports it. Queue polls then show this build.
   */
  startQueued(name: string, script: ScriptedBuild = {}): FinishedBuild {
    const job = this.job(name);
    const item = [...this.queue.values()].find((queued) => queued.job === name && !job.builds.has(queued.number));
    if (!item) throw new Error(`FakeJenkins has no queued build of ${name}`);
    const run = { ...item.script, ...script };
    job.builds.set(item.number, {
      number: item.number,
      queueId: item.id,
      script: run,
      parameters: kept(job, item.parameters),
      timestamp: Date.now(),
      polls: 0,
    });
    return { number: item.number, url: this.buildUrl(name, item.number), parameters: kept(job, item.parameters) };
  }

  /** Builds the job again with the parameters of build `number`, as Jenkins' "Rebuild" does, as `script` says. */
  rebuild(name: string, number: number, script: ScriptedBuild = {}): FinishedBuild {
    const job = this.job(name);
    const previous = job.builds.get(number);
    if (!previous) throw new Error(`FakeJenkins has no build ${name} #${number}`);
    const next = job.nextNumber;
    this.addBuild(name, { ...script, number: next }, previous.parameters);
    return { number: next, url: this.buildUrl(name, next), parameters: previous.parameters };
  }

  /** Answers the next API requests (one each, in order; crumb requests aside) with these HTTP statuses. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /** The requests whose path starts with `prefix`. */
  to(prefix: string): JenkinsRequest[] {
    return this.requests.filter((request) => request.path.startsWith(prefix));
  }

  /** The build URL Jenkins reports for a job's build. */
  buildUrl(name: string, number: number): string {
    return `${this.url}${jobPath(name)}/${number}/`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private job(name: string): Job {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`FakeJenkins has no job ${name}; addJob first`);
    return job;
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? '';
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? Object.fromEntries(new URLSearchParams(body))
      : {};
    this.requests.push({ method, path: `${url.pathname}${url.search}`, headers: req.headers, form });

    if (req.headers.authorization !== `Basic ${basic(this.options.user, this.options.token)}`) {
      res.writeHead(401, { 'content-type': 'text/html', 'www-authenticate': 'Basic realm="Jenkins"' });
      res.end('<html><body>Authentication required</body></html>');
      return;
    }
    if (method === 'GET' && url.pathname === '/crumbIssuer/api/json') return this.issueCrumb(res);

    const status = this.failures.shift();
    if (status !== undefined) return text(res, status, http.STATUS_CODES[status] ?? 'error');

    if (method === 'POST' && !this.hasValidCrumb(req)) {
      return text(res, 403, 'No valid crumb was included in the request');
    }
    if (method === 'GET' && url.pathname === '/queue/api/json') return this.queueList(res);
    const queueMatch = /^\/queue\/item\/(\d+)\/api\/json$/.exec(url.pathname);
    if (method === 'GET' && queueMatch) return this.queueItem(Number(queueMatch[1]), res);

    const target = parseJobPath(url.pathname);
    const job = target && this.jobs.get(target.name);
    if (!target || !job) return notFound(res);
    if (method === 'POST' && (target.rest === 'build' || target.rest === 'buildWithParameters')) {
      return this.trigger(target.name, job, target.rest === 'build' ? {} : form, res, target.rest !== 'build');
    }
    if (method === 'GET' && target.rest === 'api/json') return this.jobJson(target.name, job, url, res);
    const buildMatch = /^(\d+)\/api\/json$/.exec(target.rest);
    const build = buildMatch ? job.builds.get(Number(buildMatch[1])) : undefined;
    if (method === 'GET' && build) return this.build(target.name, build, res);
    notFound(res);
  }

  private issueCrumb(res: http.ServerResponse): void {
    this.sessions += 1;
    const session = `node0fake${this.sessions}`;
    const crumb = `crumb-${this.sessions}-${Math.random().toString(16).slice(2)}`;
    this.crumbs.set(session, crumb);
    res.writeHead(200, {
      'content-type': 'application/json;charset=utf-8',
      'set-cookie': `JSESSIONID.fake=${session}; Path=/; HttpOnly`,
    });
    res.end(
      JSON.stringify({
        _class: 'hudson.security.csrf.DefaultCrumbIssuer',
        crumb,
        crumbRequestField: CRUMB_FIELD,
      }),
    );
  }

  /** A crumb is valid only with the session cookie it was issued with, as in Jenkins since 2.176. */
  private hasValidCrumb(req: http.IncomingMessage): boolean {
    const session = /JSESSIONID\.fake=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const crumb = req.headers[CRUMB_FIELD.toLowerCase()];
    return session !== undefined && crumb !== undefined && this.crumbs.get(session) === crumb;
  }

  private trigger(
    name: string,
    job: Job,
    parameters: Record<string, string>,
    res: http.ServerResponse,
    withParameters = false,
  ): void {
    if (withParameters && job.parameters !== undefined && job.parameters.length === 0) {
      // As Jenkins: buildWithParameters of a job that declares no parameters.
      return text(res, 500, 'java.lang.IllegalStateException: This build is not parameterized!');
    }
    const script = job.scripts.shift() ?? {};
    const number = script.number ?? job.nextNumber;
    job.nextNumber = Math.max(job.nextNumber, number + 1);
    const id = this.nextQueueId++;
    this.queue.set(id, { id, job: name, number, script, parameters, inQueueSince: Date.now(), polls: 0 });
    const lost = this.lostTriggers.shift();
    if (lost !== undefined) return text(res, lost, http.STATUS_CODES[lost] ?? 'error');
    res.writeHead(201, { location: `${this.url}/queue/item/${id}/`, 'content-length': '0' });
    res.end();
  }

  /** GET /queue/api/json: the items still waiting (not yet a build, not cancelled), with their parameters. */
  private queueList(res: http.ServerResponse): void {
    const items = [...this.queue.values()].filter(
      (item) => !item.script.cancelledInQueue && !this.job(item.job).builds.has(item.number),
    );
    json(res, {
      _class: 'hudson.model.Queue',
      items: items.map((item) => ({
        _class: 'hudson.model.Queue$WaitingItem',
        id: item.id,
        actions: [{ _class: 'hudson.model.ParametersAction', parameters: parameterList(item.parameters) }, {}],
        task: {
          _class: 'hudson.model.FreeStyleProject',
          name: item.job.split('/').at(-1),
          url: `${this.url}${jobPath(item.job)}/`,
        },
        why: 'In the quiet period. Expires in 4.9 sec',
      })),
    });
  }

  /**
   * GET /job/<name>/api/json: its parameter definitions (`property`) and builds, newest first, each with its queue id
   * and parameters; `tree`'s `builds[…]{0,K}` range is honoured, the rest of `tree` ignored (everything is returned).
   */
  private jobJson(name: string, job: Job, url: URL, res: http.ServerResponse): void {
    const range = /\{(\d+),(\d+)\}/.exec(url.searchParams.get('tree') ?? '');
    const builds = [...job.builds.values()].sort((a, b) => b.number - a.number);
    const shown = range ? builds.slice(Number(range[1]), Number(range[2])) : builds;
    json(res, {
      _class: 'hudson.model.FreeStyleProject',
      name: name.split('/').at(-1),
      url: `${this.url}${jobPath(name)}/`,
      property:
        job.parameters && job.parameters.length > 0
          ? [
              {
                _class: 'hudson.model.ParametersDefinitionProperty',
                parameterDefinitions: job.parameters.map((parameter) => ({
                  _class: 'hudson.model.StringParameterDefinition',
                  name: parameter,
                })),
              },
            ]
          : [],
      builds: shown.map((build) => ({
        _class: 'hudson.model.FreeStyleBuild',
        number: build.number,
        url: this.buildUrl(name, build.number),
        ...(build.queueId === undefined ? {} : { queueId: build.queueId }),
        actions: [{ _class: 'hudson.model.ParametersAction', parameters: parameterList(build.parameters) }, {}],
      })),
    });
  }

  private queueItem(id: number, res: http.ServerResponse): void {
    const item = this.queue.get(id);
    if (!item) return notFound(res);
    item.polls += 1;
    const task = { _class: 'hudson.model.FreeStyleProject', name: item.job, url: `${this.url}${jobPath(item.job)}/` };
    const common = { id, inQueueSince: item.inQueueSince, task, params: paramsText(item.parameters) };
    if (item.script.cancelledInQueue) {
      return json(res, { _class: 'hudson.model.Queue$LeftItem', ...common, cancelled: true, executable: null });
    }
    if (item.polls <= (item.script.queuedFor ?? 0)) {
      return json(res, {
        _class: 'hudson.model.Queue$WaitingItem',
        ...common,
        blocked: false,
        buildable: false,
        stuck: false,
        why: 'In the quiet period. Expires in 4.9 sec',
      });
    }
    const job = this.job(item.job);
    if (!job.builds.has(item.number)) {
      job.builds.set(item.number, {
        number: item.number,
        queueId: item.id,
        script: item.script,
        parameters: kept(job, item.parameters),
        timestamp: Date.now(),
        polls: 0,
      });
    }
    json(res, {
      _class: 'hudson.model.Queue$LeftItem',
      ...common,
      cancelled: false,
      executable: {
        _class: 'hudson.model.FreeStyleBuild',
        number: item.number,
        url: this.buildUrl(item.job, item.number),
      },
    });
  }

  private build(name: string, build: Build, res: http.ServerResponse): void {
    build.polls += 1;
    const building = build.polls <= (build.script.buildingFor ?? 0);
    json(res, {
      _class: 'hudson.model.FreeStyleBuild',
      actions: [
        {
          _class: 'hudson.model.ParametersAction',
          parameters: Object.entries(build.parameters).map(([key, value]) => ({ name: key, value })),
        },
      ],
      artifacts: building
        ? []
        : (build.script.artifacts ?? []).map((path) => ({
            displayPath: path.split('/').at(-1),
            fileName: path.split('/').at(-1),
            relativePath: path,
          })),
      building,
      displayName: `#${build.number}`,
      duration: building ? 0 : (build.script.durationMs ?? 61_000),
      estimatedDuration: 60_000,
      fullDisplayName: `${name.split('/').join(' » ')} #${build.number}`,
      id: String(build.number),
      number: build.number,
      result: building ? null : (build.script.result ?? 'SUCCESS'),
      timestamp: build.timestamp,
      url: this.buildUrl(name, build.number),
    });
  }
}

/** `release/build-app` → `/job/release/job/build-app`. */
function jobPath(name: string): string {
  return name
    .split('/')
    .map((segment) => `/job/${encodeURIComponent(segment)}`)
    .join('');
}

/** `/job/release/job/build-app/7/api/json` → `{ name: 'release/build-app', rest: '7/api/json' }`. */
function parseJobPath(pathname: string): { name: string; rest: string } | undefined {
  const parts = pathname.split('/').slice(1);
  const names: string[] = [];
  while (parts[0] === 'job' && parts[1] !== undefined) {
    names.push(decodeURIComponent(parts[1]));
    parts.splice(0, 2);
  }
  return names.length > 0 ? { name: names.join('/'), rest: parts.join('/') } : undefined;
}

/** The parameters a build keeps once it leaves the queue: the declared ones only, when the job declares any. */
function kept(job: Job, parameters: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const declared = job.parameters;
  if (declared === undefined) return parameters;
  return Object.fromEntries(Object.entries(parameters).filter(([name]) => declared.includes(name)));
}

function parameterList(parameters: Readonly<Record<string, string>>): { name: string; value: string }[] {
  return Object.entries(parameters).map(([name, value]) => ({ name, value }));
}

function paramsText(parameters: Readonly<Record<string, string>>): string {
  return Object.entries(parameters)
    .map(([key, value]) => `\n${key}=${value}`)
    .join('');
}

function basic(user: string, token: string): string {
  return Buffer.from(`${user}:${token}`).toString('base64');
}

function json(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
  res.end(JSON.stringify(body));
}

function text(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/html;charset=utf-8' });
  res.end(`<html><body><h2>HTTP ERROR ${status} ${message}</h2></body></html>`);
}

function notFound(res: http.ServerResponse): void {
  text(res, 404, 'Not Found');
}
