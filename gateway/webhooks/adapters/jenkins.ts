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
    return event(
      type,
      {
        job: name,
        number,
        status: stringAt(build, 'status') ?? null,
        url: stringAt(build, 'full_url', MESSAGE_MAX) ?? stringAt(body, 'url', MESSAGE_MAX) ?? null,
        parameters: parametersOf(Object.hasOwn(build, 'parameters') ? build['parameters'] : undefined),
        scm: scmOf(objectAt(build, 'scm')),
      },
      // The plugin posts once per phase and has no delivery id; job, build and phase identify a delivery.
      `${name}#${number}#${phase}`,
    );
  },
};
