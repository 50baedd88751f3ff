/**
 * The Jenkins client every `jenkins.*` action uses: built from the worker's environment only (basic auth with an API
 * token), and wrapped so that a failed call becomes the right Temporal failure (4xx rejected, 5xx/408/429/network
 * retried) and an answer of the wrong shape never reaches an action unchecked.
 */
import { ApplicationFailure } from '@temporalio/common';
import Jenkins from 'jenkins';
import { z } from 'zod';
import { FailureType, failureForStatus, peerUnreachable, requireEnv } from '../failures';

/** The worker environment variables the Jenkins actions need. */
export const JENKINS_ENV = ['JENKINS_URL', 'JENKINS_USER', 'JENKINS_TOKEN'] as const;

/** A job name; folders are separated by `/` (`release/build-app`). */
export const JENKINS_JOB = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$/;

/**
 * The zod schema for a job name. Empty, `.` and `..` segments are refused too: the client would drop or pass them
 * into the URL path, where they would address a different job than the one named.
 */
export const jenkinsJob = z
  .string()
  .regex(JENKINS_JOB, 'must be a Jenkins job name such as build-app, with folders separated by "/"')
  .refine(
    (name) => name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    'must not contain empty, "." or ".." folder segments',
  );

/** How long one request to Jenkins may take before it counts as a network failure (and is retried). */
const REQUEST_TIMEOUT_MS = 30_000;

/** A queue item as the actions read it: it either still waits, was cancelled, or became a build. */
export interface QueueItem {
  readonly cancelled: boolean;
  /** Why it still waits, as Jenkins words it ("Waiting for next available executor"). */
  readonly why: string | null;
  readonly buildNumber: number | undefined;
}

/** A build as the actions read it. */
export interface JenkinsBuild {
  readonly number: number;
  readonly building: boolean;
  /** SUCCESS, UNSTABLE, FAILURE, NOT_BUILT or ABORTED; null while running. */
  readonly result: string | null;
  /** The build's page, ending in `/`; never with a user or password in it. */
  readonly url: string;
  readonly durationMs: number;
  readonly artifacts: readonly { readonly fileName: string; readonly relativePath: string }[];
}

/** A queue item or build as a retry reads it when looking for an earlier attempt's: its queue id and parameters. */
export interface ParameterisedItem {
  /** The queue item id (for a build, the id of the queue item it came from). */
  readonly queueId: number;
  /** The build number, once the item became a build. */
  readonly buildNumber?: number;
  readonly parameters: Readonly<Record<string, string>>;
}

/** A job as `jenkins.trigger_build` reads it before triggering. */
export interface JobSummary {
  /** Whether the job declares parameters (a `ParametersDefinitionProperty`). */
  readonly parameterised: boolean;
  /** The names of the parameters it declares. */
  readonly parameterNames: readonly string[];
  /** Its most recent builds (at most as many as asked for), newest first. */
  readonly builds: readonly ParameterisedItem[];
}

/** The calls the Jenkins actions make, each failing with a classified `ApplicationFailure`. */
export interface JenkinsApi {
  /** Queues a build; returns the queue item id. With parameters it calls `buildWithParameters`. */
  triggerBuild(job: string, parameters?: Readonly<Record<string, string>>): Promise<number>;
  queueItem(id: number): Promise<QueueItem>;
  /** The job's declared parameters and its last `builds` builds with their parameters and queue ids. */
  job(job: string, builds: number): Promise<JobSummary>;
  /** The items waiting in the queue for this job, with their parameters. */
  queued(job: string): Promise<readonly ParameterisedItem[]>;
  build(job: string, number: number): Promise<JenkinsBuild>;
}

/** A Jenkins client for one action invocation, configured from `JENKINS_URL`, `JENKINS_USER` and `JENKINS_TOKEN`. */
export function jenkinsApi(env: Readonly<Record<string, string | undefined>>, action: string): JenkinsApi {
  const { JENKINS_URL, JENKINS_USER, JENKINS_TOKEN } = requireEnv(env, action, JENKINS_ENV);
  const baseUrl = URL.canParse(JENKINS_URL) ? new URL(JENKINS_URL) : undefined;
  if (!baseUrl || !/^https?:$/.test(baseUrl.protocol)) {
    throw ApplicationFailure.nonRetryable(
      `${action} needs JENKINS_URL to be the http(s) root URL of Jenkins, such as https://ci.example.com`,
      FailureType.MissingConfiguration,
    );
  }
  // Credentials travel in a header, never in the URL, so no error message or log line can carry them.
  baseUrl.username = '';
  baseUrl.password = '';
  const options: ConstructorParameters<typeof Jenkins>[0] & { timeout: number } = {
    // The client refuses a trailing slash; a Jenkins under a path prefix (https://host/jenkins) keeps its prefix.
    baseUrl: `${baseUrl.origin}${baseUrl.pathname.replace(/\/+$/, '')}`,
    // Fetches a CSRF crumb (with its session cookie) before each POST, as Jenkins with CSRF protection requires.
    crumbIssuer: true,
    headers: { authorization: `Basic ${Buffer.from(`${JENKINS_USER}:${JENKINS_TOKEN}`).toString('base64')}` },
    timeout: REQUEST_TIMEOUT_MS,
  };
  const client = new Jenkins(options);

  return {
    async triggerBuild(job, parameters) {
      const what = `trigger a build of ${job}`;
      const queueId: unknown = await callJenkins(action, what, () =>
        parameters === undefined ? client.job.build({ name: job }) : client.job.build({ name: job, parameters }),
      );
      if (typeof queueId !== 'number' || !Number.isInteger(queueId)) {
        throw unexpectedAnswer(action, what, 'no queue item in the Location header');
      }
      return queueId;
    },
    async queueItem(id) {
      const what = `read queue item ${id}`;
      const body: unknown = await callJenkins(action, what, () => client.queue.item(id));
      const item = readJenkins(action, what, queueItemBody, body);
      return { cancelled: item.cancelled, why: item.why, buildNumber: item.executable?.number };
    },
    async job(job, builds) {
      const what = `read job ${job}`;
      const tree =
        'property[parameterDefinitions[name]],' +
        `builds[number,queueId,actions[parameters[name,value]]]{0,${Math.max(0, Math.trunc(builds))}}`;
      const body: unknown = await callJenkins(action, what, () =>
        (client.job as unknown as WithOptions).get({ name: job, tree }),
      );
      const summary = readJenkins(action, what, jobBody, body);
      const parameterNames = summary.property.flatMap((property) =>
        (property?.parameterDefinitions ?? []).map((definition) => definition.name),
      );
      const hasDefinitions = summary.property.some((property) => property?.parameterDefinitions !== undefined);
      return {
        parameterised: hasDefinitions,
        parameterNames,
        builds: summary.builds.slice(0, builds).map((build) => ({
          queueId: build.queueId ?? 0,
          buildNumber: build.number,
          parameters: parametersOf(build.actions),
        })),
      };
    },
    async queued(job) {
      const what = 'read the build queue';
      const body: unknown = await callJenkins(action, what, () =>
        (client.queue as unknown as WithOptions).list({ tree: 'items[id,task[url],actions[parameters[name,value]]]' }),
      );
      const items = readJenkins(action, what, queueBody, body);
      const suffix = `${job
        .split('/')
        .map((segment) => `/job/${encodeURIComponent(segment)}`)
        .join('')}/`;
      return items
        .filter((item) => {
          const url = item.task?.url;
          if (!url) return false;
          const path = URL.canParse(url) ? new URL(url).pathname : url;
          return (path.endsWith('/') ? path : `${path}/`).endsWith(suffix);
        })
        .map((item) => ({ queueId: item.id, parameters: parametersOf(item.actions) }));
    },
    async build(job, number) {
      const what = `read build ${job} #${number}`;
      const body: unknown = await callJenkins(action, what, () => client.build.get(job, number));
      const build = readJenkins(action, what, buildBody, body);
      return {
        number: build.number,
        building: build.building,
        result: build.result,
        url: withoutCredentials(build.url.endsWith('/') ? build.url : `${build.url}/`),
        durationMs: build.duration,
        artifacts: build.artifacts,
      };
    },
  };
}

/**
 * A URL from an answer of Jenkins without the user or password a misconfigured root URL could put in it: the actions
 * return build and artifact URLs, which end up in workflow history and in messages to people.
 */
export function withoutCredentials(url: string): string {
  if (!URL.canParse(url)) return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

const queueItemBody = z.object({
  cancelled: z.boolean().default(false),
  why: z.string().nullable().default(null),
  executable: z.object({ number: z.int().positive() }).nullable().optional(),
});

/** The client's calls that take an options object (`tree`), which its type declarations leave out. */
interface WithOptions {
  get(options: { readonly name: string; readonly tree: string }): Promise<unknown>;
  list(options: { readonly tree: string }): Promise<unknown>;
}

const parametersAction = z.array(
  z
    .looseObject({
      parameters: z.array(z.object({ name: z.string(), value: z.unknown() })).optional(),
    })
    .nullable(),
);

/** The parameters of a queue item or build, from its `ParametersAction`s; values as strings. */
function parametersOf(actions: z.output<typeof parametersAction> | undefined): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const item of actions ?? []) {
    for (const parameter of item?.parameters ?? []) {
      if (parameter.value !== undefined && parameter.value !== null)
        parameters[parameter.name] =
          typeof parameter.value === 'string' ? parameter.value : JSON.stringify(parameter.value);
    }
  }
  return parameters;
}

const jobBody = z.object({
  property: z
    .array(z.looseObject({ parameterDefinitions: z.array(z.object({ name: z.string() })).optional() }).nullable())
    .default([]),
  builds: z
    .array(z.object({ number: z.int().positive(), queueId: z.int().optional(), actions: parametersAction.default([]) }))
    .default([]),
});

const queueBody = z.array(
  z.object({
    id: z.int(),
    task: z.looseObject({ url: z.string().optional() }).nullable().optional(),
    actions: parametersAction.default([]),
  }),
);

const buildBody = z.object({
  number: z.int().positive(),
  building: z.boolean(),
  result: z.string().nullable(),
  url: z.string().min(1),
  duration: z.number().min(0).default(0),
  artifacts: z.array(z.object({ fileName: z.string(), relativePath: z.string() })).default([]),
});

/**
 * Runs one call of the `jenkins` client; `what` completes the sentence "<action> could not …" in the failure message.
 */
async function callJenkins<T>(action: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw jenkinsFailure(action, what, error);
  }
}

/** Maps an error of the `jenkins` client (built on papi) to a Temporal failure. */
function jenkinsFailure(action: string, what: string, error: unknown): ApplicationFailure {
  const status = statusOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (status !== undefined) {
    const hint =
      status === 401 || status === 403
        ? ' (check JENKINS_USER and JENKINS_TOKEN, and that this user may do this)'
        : status === 404
          ? ' (no such job, build or queue item)'
          : '';
    return failureForStatus(status, `${action} could not ${what}: Jenkins answered ${status}${hint}: ${reason}`, {
      status,
    });
  }
  // No HTTP answer: refused, reset, DNS failure or timeout. papi names the request, never the credentials.
  return peerUnreachable(`${action} could not ${what}: Jenkins is unreachable (${reason})`);
}

/** The HTTP status of a failed call, or undefined when the client got no answer at all. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as { notFound?: unknown; statusCode?: unknown; res?: { statusCode?: unknown } };
  // The client's own 404 handling replaces the error with one that only says `notFound`.
  if (fields.notFound === true) return 404;
  if (typeof fields.statusCode === 'number') return fields.statusCode;
  if (typeof fields.res?.statusCode === 'number') return fields.res.statusCode;
  return undefined;
}

/**
 * Reads the part of a successful answer an action relies on. A 2xx body of the wrong shape means something other than
 * Jenkins answered (a proxy or login page), so the failure is retryable like an unreachable peer.
 */
function readJenkins<S extends z.ZodType>(action: string, what: string, schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  throw unexpectedAnswer(action, what, problems.join('; '));
}

function unexpectedAnswer(action: string, what: string, problem: string): ApplicationFailure {
  return ApplicationFailure.retryable(
    `${action} could not ${what}: the answer is not what Jenkins sends (${problem})`,
    FailureType.PeerUnavailable,
  );
}
