import type { AdapterResult, WebhookAdapter, WebhookRequest } from '../adapter';
import {
  cap,
  event,
  invalid,
  LIST_MAX,
  MESSAGE_MAX,
  NAME_MAX,
  numberAt,
  objectAt,
  objectsIn,
  quote,
  stringAt,
  type JsonObject,
} from './payload-fields';

/** The Notification plugin's build phases, each its own event so definitions can wait for the one they need. */
const PHASE_TYPES: Readonly<Record<string, string>> = {
  QUEUED: 'build_queued',
  STARTED: 'build_started',
  COMPLETED: 'build_completed',
  FINALIZED: 'build_finished',
};

/** A scalar kept as it is (strings capped); anything nested is dropped because `raw` still has it. */
function scalar(value: unknown): string | number | boolean | null | undefined {
  if (typeof value === 'string') return cap(value, MESSAGE_MAX);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean' || value === null) return value;
  return undefined;
}

/**
 * Build parameters as one object. The plugin sends a map, but pipelines posting the same payload by hand often send
 * Jenkins' own `[{ name, value }]` list, so both become `{ name: value }`.
 */
function parametersOf(value: unknown): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  if (Array.isArray(value)) {
    for (const parameter of objectsIn(value)) {
      const name = stringAt(parameter, 'name', NAME_MAX);
      const kept = Object.hasOwn(parameter, 'value') ? scalar(parameter['value']) : null;
      if (name !== undefined && kept !== undefined) entries.push([name, kept]);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, raw] of Object.entries(value).slice(0, LIST_MAX)) {
      const kept = scalar(raw);
      if (name !== '' && kept !== undefined) entries.push([cap(name, NAME_MAX), kept]);
    }
  }
  // fromEntries defines own properties, so a parameter called `__proto__` stays a plain parameter.
  return Object.fromEntries(entries);
}

/** SCM details (`url`, `branch`, `commit`, and lists such as `culprits`), with strings and lists bounded. */
function scmOf(scm: JsonObject | undefined): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const [key, raw] of Object.entries(scm ?? {}).slice(0, LIST_MAX)) {
    const kept = Array.isArray(raw)
      ? raw
          .slice(0, LIST_MAX)
          .map(scalar)
          .filter((item) => item !== undefined)
      : scalar(raw);
    if (kept !== undefined) entries.push([cap(key, NAME_MAX), kept]);
  }
  return Object.fromEntries(entries);
}

/** Build numbers arrive as numbers from the plugin and as strings from scripts that post `env.BUILD_NUMBER`. */
function buildNumberOf(build: JsonObject): number | undefined {
  const number = numberAt(build, 'number');
  if (number !== undefined) return Number.isSafeInteger(number) && number >= 0 ? number : undefined;
  const text = stringAt(build, 'number');
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** Most folder levels read from a URL; Jenkins itself nests far less deeply in practice. */
const JOB_DEPTH_MAX = 20;

/**
 * A raw URL path segment as Jenkins writes one: RFC 3986 path characters only, so no spaces, `?`, `#`, backslashes or
 * non-ASCII text, which Jenkins always percent-encodes.
 */
const RAW_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]+$/;

/** What a decoded job name must not contain: a path separator or a control character. */
// eslint-disable-next-line no-control-regex
const ODD_NAME = /[\u0000-\u001f\u007f/\\]/;

/**
 * One job name from a URL path segment, decoded once as Jenkins encodes it, or undefined when the segment is odd:
 * malformed escapes, an encoded `/`, a control character, or an empty, `.` or `..` name. A multibranch branch called
 * `feature/x` is the job `feature%2Fx`, which Jenkins writes as `feature%252Fx`; decoding once gives back its name.
 */
function jobNameIn(segment: string): string | undefined {
  if (!RAW_SEGMENT.test(segment)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return name === '.' || name === '..' || ODD_NAME.test(name) ? undefined : name;
}

/**
 * The job path (`folder/sub/job`) that a job URL (`job/folder/job/sub/job/job/`) or, with `buildNumber`, a build
 * URL (`…/job/job/12/`) names, relative or absolute with any prefix (`https://ci/jenkins/job/…`). The `job/<name>`
 * pairs are read from the end, so a Jenkins under a path prefix still yields only the job's own path. Undefined
 * when the URL does not end in such pairs (and the build number), when any name in them is odd, or when its last
 * name is not `shortName`: the plugin's `url` always ends in the job's own name, so anything else is not trusted.
 */
function jobPathIn(url: string, shortName: string, buildNumber?: number): string | undefined {
  const path = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, '').replace(/\/$/, '');
  const segments = path.split('/');
  if (buildNumber !== undefined && segments.pop() !== String(buildNumber)) return undefined;
  const names: string[] = [];
  while (segments.length >= 2 && segments[segments.length - 2] === 'job') {
    if (names.length === JOB_DEPTH_MAX) return undefined;
    const name = jobNameIn(segments.pop()!);
    if (name === undefined) return undefined;
    names.unshift(name);
    segments.pop();
  }
  if (names.length === 0 || names[names.length - 1] !== shortName) return undefined;
  const jobPath = names.join('/');
  // A cut path would name another job, so a path too long to keep is not used at all.
  return jobPath.length <= NAME_MAX ? jobPath : undefined;
}

/**
 * The job's full path, in the `folder/job` form `jenkins.trigger_build` takes. The plugin's `name` is only the short
 * name, so jobs called `main` in two folders would look alike; their path is in the URLs: the job URL (`url`) first,
 * then the build's (`build.url`, `build.full_url`). A payload whose URLs are missing or odd keeps the short name, as
 * scripts that post the payload by hand often send no URL at all.
 */
function jobPathOf(body: JsonObject, build: JsonObject, shortName: string, number: number): string {
  const jobUrl = stringAt(body, 'url', MESSAGE_MAX);
  const buildUrls = [stringAt(build, 'url', MESSAGE_MAX), stringAt(build, 'full_url', MESSAGE_MAX)];
  const fromJob = jobUrl === undefined ? undefined : jobPathIn(jobUrl, shortName);
  if (fromJob !== undefined) return fromJob;
  for (const url of buildUrls) {
    const fromBuild = url === undefined ? undefined : jobPathIn(url, shortName, number);
    if (fromBuild !== undefined) return fromBuild;
  }
  return shortName;
}

/** Jenkins Notification plugin deliveries; the plugin cannot sign, so it sends a shared token in a custom header. */
export const jenkins: WebhookAdapter = {
  source: 'jenkins',
  auth: { kind: 'token', header: 'x-flow-token' },
  normalize(request: WebhookRequest): AdapterResult {
    const body = request.body;
    const name = stringAt(body, 'name');
    if (name === undefined) return invalid(422, 'Jenkins payload has no job name (name)');
    const build = objectAt(body, 'build');
    if (build === undefined) return invalid(422, 'Jenkins payload has no build object');
    const number = buildNumberOf(build);
    if (number === undefined) return invalid(422, 'Jenkins payload has no build number (build.number)');
    const phase = stringAt(build, 'phase');
    if (phase === undefined) return invalid(422, 'Jenkins payload has no build phase (build.phase)');
    const type = Object.hasOwn(PHASE_TYPES, phase) ? PHASE_TYPES[phase] : undefined;
    if (type === undefined) {
      return invalid(422, `Jenkins build.phase ${quote(phase)} is not QUEUED, STARTED, COMPLETED or FINALIZED`);
    }
    const job = jobPathOf(body, build, name, number);
    return event(
      type,
      {
        job,
        job_name: name,
        number,
        status: stringAt(build, 'status') ?? null,
        url: stringAt(build, 'full_url', MESSAGE_MAX) ?? stringAt(body, 'url', MESSAGE_MAX) ?? null,
        parameters: parametersOf(Object.hasOwn(build, 'parameters') ? build['parameters'] : undefined),
        scm: scmOf(objectAt(build, 'scm')),
      },
      // The plugin posts once per phase and has no delivery id; the job's full path, build and phase identify a
      // delivery. The short name would not: `main` in two folders would collide and drop the second build.
      `${job}#${number}#${phase}`,
    );
  },
};
