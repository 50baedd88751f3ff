import type { AnyAction } from '../activities';
import type { GuardedInput } from '../activities/define-action';
import { findTemplateExpressions, type ExpressionEngine, type ExpressionRead } from '../common/expressions';

/**
 * Event data in guarded inputs, found before anything runs. Whoever can send an event to Flow chooses its payload, so
 * an input that decides what runs or where credentials and files go (`build.run`'s command, a git remote, a deploy
 * destination, an `http.request` URL with secret headers) must not be rendered from it: that is the script injection
 * GitHub Actions workflows keep shipping through `${{ github.event.issue.title }}`. Flow's expressions name what they
 * read, so the flow of event data through a definition can be followed statically:
 *
 * - an expression that reads `event` (or `run.eventId`, which holds the sender's idempotency key) carries event data;
 * - `flow.set` passes it on per variable: `vars.x` carries what the expressions of its value carried;
 * - any other step passes it on as a whole: `steps.<id>.output` carries whatever any expression of its `with`
 *   carried, since the action may copy any input into its output (or fetch data from a place an input chose);
 * - a `flow.wait_for_event` step's output is a later event, so it carries event data whatever its inputs.
 *
 * The analysis over-approximates: a variable set twice keeps the data of both values (either step may be skipped),
 * reading `vars` or `steps` with a computed key reads all of them, and an expression that only tests event data
 * (`event.x == "a" ? "p" : "q"`) still counts. Conditions (`if`) do not pass data on: they decide whether a step
 * runs, not what its inputs hold. A step may accept event data in a guarded input by naming the input in
 * `allow_event_data`; that is an explicit, reviewable decision in the definition.
 */

/** One refusal, with the path of the offending string, such as `steps[2].with.url`. */
export interface EventDataError {
  readonly path: string;
  readonly message: string;
}

/** Where a piece of data came from: an event field, and the variable or step output that carried it, if any. */
interface EventSource {
  readonly field: string;
  readonly via: string | undefined;
}

/** Most sources named in one message. */
const MAX_NAMED_SOURCES = 3;

/**
 * Follows event data through the steps of a definition (as written, before schema defaults) and reports every guarded
 * input that receives it without the step's opt-in, and every `allow_event_data` entry that names no guarded input.
 */
export function findEventDataInGuardedInputs(
  steps: readonly unknown[],
  catalog: ReadonlyMap<string, AnyAction>,
  engine: ExpressionEngine,
): EventDataError[] {
  const errors: EventDataError[] = [];
  /** Event fields each carrier holds, by carrier: `vars.<name>` or `steps.<id>.output`. */
  const carried = new Map<string, Set<string>>();

  const sourcesOf = (expression: string): EventSource[] => {
    const check = engine.check(expression);
    // An invalid expression is reported by the validator already.
    if (check.error) return [];
    return check.reads.flatMap((read) => sourcesOfRead(read, carried));
  };

  steps.forEach((step, index) => {
    if (!isObject(step)) return;
    const at = `steps[${index}]`;
    const withValue = isObject(step['with']) ? step['with'] : {};
    const action = typeof step['action'] === 'string' ? catalog.get(step['action']) : undefined;
    const guarded = action?.guardedInputs ?? [];
    const allowed = Array.isArray(step['allow_event_data']) ? (step['allow_event_data'] as unknown[]) : [];

    if (action) {
      allowed.forEach((name, position) => {
        if (typeof name !== 'string' || guarded.some((input) => input.input === name)) return;
        errors.push({
          path: `${at}.allow_event_data[${position}]`,
          message:
            guarded.length === 0
              ? `${action.id} guards no input, so there is nothing to allow; remove "${name}"`
              : `${action.id} does not guard "${name}"; its guarded inputs are ${guarded.map((input) => input.input).join(', ')}`,
        });
      });
    }

    for (const input of guarded) {
      if (!Object.hasOwn(withValue, input.input) || allowed.includes(input.input)) continue;
      if (input.onlyWith !== undefined && isEmpty(withValue[input.onlyWith])) continue;
      for (const found of findTemplateExpressions(withValue[input.input], `${at}.with.${input.input}`)) {
        const sources = sourcesOf(found.expression);
        if (sources.length > 0) errors.push({ path: found.path, message: refusal(input, sources) });
      }
    }

    // What this step passes on to later steps.
    const stepFields = new Set<string>();
    for (const [key, value] of Object.entries(withValue)) {
      const fields = new Set(
        findTemplateExpressions(value, '').flatMap((found) =>
          sourcesOf(found.expression).map((source) => source.field),
        ),
      );
      for (const field of fields) stepFields.add(field);
      if (action?.id === 'flow.set' && fields.size > 0) addAll(carried, `vars.${key}`, fields);
    }
    const id = typeof step['id'] === 'string' ? step['id'] : undefined;
    if (action?.id === 'flow.wait_for_event' && id !== undefined) stepFields.add(`the event steps.${id} waited for`);
    if (id !== undefined && stepFields.size > 0) addAll(carried, `steps.${id}.output`, stepFields);
  });
  return errors;
}

/** The event data one read brings into an expression. */
function sourcesOfRead(read: ExpressionRead, carried: ReadonlyMap<string, ReadonlySet<string>>): EventSource[] {
  const [first] = read.path;
  switch (read.root) {
    case 'event':
      return [{ field: formatRead(read), via: undefined }];
    case 'run':
      // The event id holds the sender's idempotency key; the other run fields are Flow's own.
      return first === undefined || first === 'eventId' ? [{ field: 'run.eventId', via: undefined }] : [];
    case 'vars':
    case 'steps': {
      const prefix = read.root === 'vars' ? 'vars.' : 'steps.';
      const carrier =
        typeof first === 'string' ? `${prefix}${first}${read.root === 'steps' ? '.output' : ''}` : undefined;
      const carriers = carrier === undefined ? [...carried.keys()].filter((key) => key.startsWith(prefix)) : [carrier];
      return carriers.flatMap((name) => [...(carried.get(name) ?? [])].map((field) => ({ field, via: name })));
    }
    case 'failure':
      // A failure's message may quote whatever the failed step was given, event data included.
      return [{ field: formatRead(read), via: undefined }];
  }
}

function refusal(input: GuardedInput, sources: readonly EventSource[]): string {
  const unique = [...new Map(sources.map((source) => [`${source.field}\u0000${source.via ?? ''}`, source])).values()];
  const named = unique
    .slice(0, MAX_NAMED_SOURCES)
    .map((source) => (source.via ? `${source.field} through ${source.via}` : source.field));
  const more = unique.length > MAX_NAMED_SOURCES ? ` and ${unique.length - MAX_NAMED_SOURCES} more` : '';
  return (
    `takes event data (${named.join('; ')}${more}) into ${input.input}, an input that ${input.decides}: whoever can ` +
    `send this event could choose it. Use a value that does not come from the event, or, if the event's sender is ` +
    `trusted with this, opt in with allow_event_data: [${input.input}] on this step`
  );
}

/** `event.issue["key-1"].links[0]`: a read as it would be written in an expression. */
function formatRead(read: ExpressionRead): string {
  let out: string = read.root;
  for (const part of read.path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return out;
}

function addAll(target: Map<string, Set<string>>, key: string, fields: Iterable<string>): void {
  const set = target.get(key) ?? new Set<string>();
  for (const field of fields) set.add(field);
  target.set(key, set);
}

/** Unset, null, `{}` or `[]`: for `onlyWith`, an input that sends nothing. An expression counts as set. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
