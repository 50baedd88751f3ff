import { randomBytes } from 'node:crypto';
import { DEFINITION_ID, EVENT_NAME } from '../common/definition';
import { createExpressionEngine, findTemplateExpressions, findUnclosedTemplates } from '../common/expressions';
import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import {
  SUBSCRIPTION_OUTCOMES,
  type EventTrigger,
  type OutcomeTrigger,
  type Subscription,
  type SubscriptionDelivery,
  type SubscriptionOutcome,
} from '../common/subscriptions';
import { DefinitionDeletedError, type DefinitionStore } from './definitions-store';
import { formatPath, type DefinitionError } from './validate-definition';

/** Subscription ids: they appear in URLs, links and delivery records. */
export const SUBSCRIPTION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** A Slack target: a user (`@alice`, `@U0123ABCD`: a direct message) or a channel (`#releases`). */
export const SLACK_TARGET = /^[@#][A-Za-z0-9._-]{1,80}$/;
/** Longest `message` template. */
export const MAX_SUBSCRIPTION_MESSAGE = 2_000;
/** Bounds of `rate_per_minute`. */
export const MIN_RATE_PER_MINUTE = 1;
export const MAX_RATE_PER_MINUTE = 600;
/** Longest owner name (token names are at most 64; console users' names come from the identity provider). */
export const MAX_OWNER_LENGTH = 200;

/** One address: a dot-atom local part, then a domain of at least two labels (no quoted forms, no comments). */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** An ISO 8601 time with a zone, such as `2025-06-01T09:00:00Z`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

const FIELDS = ['id', 'owner', 'on', 'deliver', 'message', 'muted_until', 'rate_per_minute'] as const;
const EVENT_FIELDS = ['source', 'type', 'if'] as const;
const OUTCOME_FIELDS = ['definition', 'outcomes'] as const;
/** The roots a subscription's `if` and `message` may read: what the dispatcher has when it decides and renders. */
const SUBSCRIPTION_ROOTS: ReadonlySet<string> = new Set(['event', 'run']);

/** The outcome of validating a subscription. */
export type SubscriptionValidationResult =
  | { readonly ok: true; readonly subscription: Subscription }
  | { readonly ok: false; readonly errors: DefinitionError[] };

/** What {@link validateSubscription} checks against. */
export interface SubscriptionValidationOptions {
  /** The id the URL names: the body's `id` must be it, or absent. Without it, an absent `id` is generated. */
  readonly id?: string;
  /**
   * The owner of a subscription whose body names none: the acting user. Whether the caller may name another owner
   * is the caller's decision (the gateway allows it to write-scope callers only).
   */
  readonly owner: string;
  /** Where `on.definition` must exist (a deleted definition counts as unknown). */
  readonly definitions: Pick<DefinitionStore, 'get'>;
  /** The suffix of a generated id (default: 6 random hex digits); for tests. */
  readonly randomSuffix?: () => string;
}

/**
 * Validates a subscription before it is stored, reporting every problem with its path (`on.outcomes[1]`,
 * `deliver.email`): unknown fields; the id; exactly one trigger shape, an event (`source`, `type` as event names,
 * `if` under the CEL rules of a definition binding's condition, reading `event` and `run` only) or outcomes of a
 * definition that exists (each one of `SUBSCRIPTION_OUTCOMES`); at least one of a Slack target (`@user` or
 * `#channel`) and one email address (no line breaks or lists: no header injection); a `message` template over `event`
 * and `run`, at most 2,000 characters; `muted_until` null or an ISO time; `rate_per_minute` 1-600.
 *
 * On success the subscription is normalised: an `id` generated when absent (from the owner and the trigger), the
 * owner filled in, `muted_until: null` dropped (absent means the same) and a given time written in UTC.
 */
export async function validateSubscription(
  raw: unknown,
  options: SubscriptionValidationOptions,
): Promise<SubscriptionValidationResult> {
  if (!isObject(raw)) return fail([{ path: '(root)', message: 'must be an object with on and deliver' }]);
  if (depthExceeds(raw, MAX_JSON_DEPTH))
    return fail([{ path: '(root)', message: `nests objects and lists deeper than ${MAX_JSON_DEPTH} levels` }]);
  const errors: DefinitionError[] = [];
  errors.push(
    ...unknownFields(
      raw,
      FIELDS,
      '',
      'a subscription has id, owner, on, deliver, message, muted_until and rate_per_minute',
    ),
  );

  const id = checkId(raw['id'], options.id, errors);
  const owner = checkOwner(raw['owner'], options.owner, errors);
  const trigger = await checkTrigger(raw['on'], options.definitions, errors);
  const deliver = checkDelivery(raw['deliver'], errors);
  const message = checkMessage(raw['message'], errors);
  const mutedUntil = checkMutedUntil(raw['muted_until'], errors);
  const rate = checkRate(raw['rate_per_minute'], errors);

  if (errors.length > 0 || !trigger || !deliver || owner === undefined) return fail(errors);
  const subscription: Subscription = {
    id: id ?? generatedId(owner, trigger, options.randomSuffix?.() ?? randomBytes(3).toString('hex')),
    owner,
    on: trigger,
    deliver,
    ...(message === undefined ? {} : { message }),
    ...(mutedUntil === undefined ? {} : { muted_until: mutedUntil }),
    ...(rate === undefined ? {} : { rate_per_minute: rate }),
  };
  return { ok: true, subscription };
}

/**
 * The id for a subscription saved without one: the owner, the trigger (`jira-issue_transitioned`, `release-failed`)
 * and a short random suffix, lowercased and cut to fit {@link SUBSCRIPTION_ID}.
 */
export function generatedId(owner: string, on: EventTrigger | OutcomeTrigger, suffix: string): string {
  const slug = (text: string, max: number): string =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|-+$/g, '')
      .slice(0, max);
  const trigger = 'definition' in on ? `${on.definition}-${on.outcomes.join('-')}` : `${on.source}-${on.type}`;
  const head = [slug(owner, 40), slug(trigger, 70)].filter((part) => part !== '').join('-');
  return `${head || 'subscription'}-${slug(suffix, 16)}`;
}

function checkId(given: unknown, fromUrl: string | undefined, errors: DefinitionError[]): string | undefined {
  if (given === undefined) return fromUrl;
  if (typeof given !== 'string' || !SUBSCRIPTION_ID.test(given)) {
    errors.push({
      path: 'id',
      message:
        'must be 1-128 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, such as alice-shop-releases',
    });
    return undefined;
  }
  if (fromUrl !== undefined && given !== fromUrl) {
    errors.push({
      path: 'id',
      message: `is ${JSON.stringify(given)} but the URL says ${JSON.stringify(fromUrl)}; they must match`,
    });
    return undefined;
  }
  return given;
}

function checkOwner(given: unknown, fallback: string, errors: DefinitionError[]): string | undefined {
  if (given === undefined) return fallback;
  if (typeof given !== 'string' || given.trim() === '' || given.length > MAX_OWNER_LENGTH || /\p{Cc}/u.test(given)) {
    errors.push({
      path: 'owner',
      message: `must be the name of a user or token, 1-${MAX_OWNER_LENGTH} characters on one line (or left out: the saver owns it)`,
    });
    return undefined;
  }
  return given;
}

async function checkTrigger(
  on: unknown,
  definitions: Pick<DefinitionStore, 'get'>,
  errors: DefinitionError[],
): Promise<EventTrigger | OutcomeTrigger | undefined> {
  const shapes =
    'either an event ({source, type, if}) or outcomes of a definition ({definition, outcomes}), such as {source: jira, type: issue_transitioned}';
  if (!isObject(on)) {
    errors.push({ path: 'on', message: `must be ${shapes}` });
    return undefined;
  }
  const eventKeys = EVENT_FIELDS.filter((key) => key in on);
  const outcomeKeys = OUTCOME_FIELDS.filter((key) => key in on);
  if (eventKeys.length > 0 && outcomeKeys.length > 0) {
    errors.push({
      path: 'on',
      message: `mixes an event (${eventKeys.join(', ')}) with outcomes (${outcomeKeys.join(', ')}); a subscription is ${shapes}`,
    });
    return undefined;
  }
  if (eventKeys.length === 0 && outcomeKeys.length === 0) {
    errors.push({ path: 'on', message: `must be ${shapes}` });
    return undefined;
  }
  return outcomeKeys.length > 0 ? checkOutcomes(on, definitions, errors) : checkEvent(on, errors);
}

function checkEvent(on: Record<string, unknown>, errors: DefinitionError[]): EventTrigger | undefined {
  const before = errors.length;
  errors.push(...unknownFields(on, EVENT_FIELDS, 'on', 'an event trigger has source, type and if'));
  const source = eventName(on['source'], 'on.source', 'jira', errors);
  const type = eventName(on['type'], 'on.type', 'issue_transitioned', errors);
  const condition = on['if'];
  if (condition !== undefined) {
    if (typeof condition !== 'string' || condition.trim() === '')
      errors.push({ path: 'on.if', message: 'must be a CEL condition, such as event.project == "SHOP"' });
    else errors.push(...checkExpression(condition, 'on.if', 'condition'));
  }
  if (errors.length > before || source === undefined || type === undefined) return undefined;
  return { source, type, ...(typeof condition === 'string' ? { if: condition } : {}) };
}

async function checkOutcomes(
  on: Record<string, unknown>,
  definitions: Pick<DefinitionStore, 'get'>,
  errors: DefinitionError[],
): Promise<OutcomeTrigger | undefined> {
  const before = errors.length;
  errors.push(...unknownFields(on, OUTCOME_FIELDS, 'on', 'an outcome trigger has definition and outcomes'));
  const definition = on['definition'];
  if (typeof definition !== 'string' || !DEFINITION_ID.test(definition)) {
    errors.push({
      path: 'on.definition',
      message: 'must be a definition id: 1-64 lowercase letters, digits and dashes, such as release',
    });
  } else if (!(await definitionExists(definitions, definition))) {
    errors.push({
      path: 'on.definition',
      message: `there is no definition ${JSON.stringify(definition)}; GET /api/definitions lists them`,
    });
  }
  const known = Object.keys(SUBSCRIPTION_OUTCOMES);
  const outcomes = on['outcomes'];
  if (!Array.isArray(outcomes) || outcomes.length === 0) {
    errors.push({ path: 'on.outcomes', message: `must be a non-empty list of outcomes: ${known.join(', ')}` });
  } else {
    const seen = new Set<string>();
    outcomes.forEach((outcome: unknown, index) => {
      const path = `on.outcomes[${index}]`;
      if (typeof outcome !== 'string' || !Object.hasOwn(SUBSCRIPTION_OUTCOMES, outcome))
        errors.push({
          path,
          message: `${typeof outcome === 'string' ? `"${outcome.slice(0, 64)}"` : (JSON.stringify(outcome)?.slice(0, 64) ?? 'the value')} is not an outcome; use one of ${known.join(', ')}`,
        });
      else if (seen.has(outcome)) errors.push({ path, message: `"${outcome}" is listed twice` });
      else seen.add(outcome);
    });
  }
  if (errors.length > before) return undefined;
  return { definition: definition as string, outcomes: outcomes as SubscriptionOutcome[] };
}

async function definitionExists(definitions: Pick<DefinitionStore, 'get'>, id: string): Promise<boolean> {
  try {
    return (await definitions.get(id)) !== null;
  } catch (error) {
    if (error instanceof DefinitionDeletedError) return false;
    throw error;
  }
}

function eventName(value: unknown, path: string, example: string, errors: DefinitionError[]): string | undefined {
  if (typeof value === 'string' && EVENT_NAME.test(value)) return value;
  errors.push({
    path,
    message:
      value === undefined
        ? `is missing; name the event's ${path.slice(3)}, such as ${example}`
        : `must be lowercase letters, digits, ".", "_" or "-", such as ${example}`,
  });
  return undefined;
}

function checkDelivery(deliver: unknown, errors: DefinitionError[]): SubscriptionDelivery | undefined {
  if (!isObject(deliver)) {
    errors.push({
      path: 'deliver',
      message: "must say where to send: {slack: '@alice'}, {email: alice@example.com} or both",
    });
    return undefined;
  }
  const before = errors.length;
  errors.push(...unknownFields(deliver, ['slack', 'email'], 'deliver', 'deliver has slack and email'));
  const { slack, email } = deliver;
  if (slack === undefined && email === undefined)
    errors.push({
      path: 'deliver',
      message: "names neither slack nor email; give one or both, such as {slack: '@alice'}",
    });
  if (slack !== undefined && (typeof slack !== 'string' || !SLACK_TARGET.test(slack)))
    errors.push({
      path: 'deliver.slack',
      message:
        'must be a Slack user (@alice or @U0123ABCD, a direct message) or channel (#releases): "@" or "#" then 1-80 letters, digits, ".", "_" or "-"',
    });
  if (email !== undefined) {
    const problem = emailProblem(email);
    if (problem) errors.push({ path: 'deliver.email', message: problem });
  }
  if (errors.length > before) return undefined;
  return {
    ...(typeof slack === 'string' ? { slack } : {}),
    ...(typeof email === 'string' ? { email } : {}),
  };
}

/** Why `email` is not one plain address, or undefined when it is. */
function emailProblem(email: unknown): string | undefined {
  if (typeof email !== 'string') return 'must be one email address, such as alice@example.com';
  // Line breaks first: in a header they would start new headers (header injection).
  if (/[\r\n]/.test(email) || /\p{Cc}/u.test(email))
    return 'holds a line break or another control character; give one address on one line';
  if (/[,;]/.test(email) || /\s/.test(email.trim()))
    return 'must be one address; subscribe each address on its own (a list would let one subscription mail many people)';
  if (email.length > 254 || (email.split('@')[0]?.length ?? 0) > 64 || !EMAIL.test(email))
    return 'is not an email address such as alice@example.com';
  return undefined;
}

function checkMessage(message: unknown, errors: DefinitionError[]): string | undefined {
  if (message === undefined) return undefined;
  if (typeof message !== 'string' || message.trim() === '') {
    errors.push({ path: 'message', message: 'must be text, such as "Release ${{ event.version }} started"' });
    return undefined;
  }
  const before = errors.length;
  if (message.length > MAX_SUBSCRIPTION_MESSAGE)
    errors.push({
      path: 'message',
      message: `is ${message.length} characters long; keep it to ${MAX_SUBSCRIPTION_MESSAGE}`,
    });
  else {
    for (const path of findUnclosedTemplates(message, 'message'))
      errors.push({ path, message: 'opens "${{" without a closing "}}"' });
    for (const found of findTemplateExpressions(message, 'message'))
      errors.push(...checkExpression(found.expression, found.path, 'template'));
  }
  return errors.length > before ? undefined : message;
}

/**
 * A subscription's CEL: parsed and checked as a definition binding's `if` is (`validateDefinition`), and, since the
 * dispatcher decides and renders before any step with only the event and the run, reading `event` and `run` only.
 */
function checkExpression(expression: string, path: string, what: 'condition' | 'template'): DefinitionError[] {
  const check = createExpressionEngine().check(expression);
  if (check.error) return [{ path, message: check.error }];
  const other = check.reads.find((read) => !SUBSCRIPTION_ROOTS.has(read.root));
  if (!other) return [];
  return [
    {
      path,
      message: `a subscription's ${what} sees the event and the run (event, run), not ${other.root}: it is ${what === 'condition' ? 'decided' : 'rendered'} when the event is dispatched, before any step`,
    },
  ];
}

function checkMutedUntil(value: unknown, errors: DefinitionError[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !ISO_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    errors.push({
      path: 'muted_until',
      message: 'must be null or an ISO time with a zone, such as 2025-06-01T09:00:00Z',
    });
    return undefined;
  }
  return new Date(value).toISOString();
}

function checkRate(value: unknown, errors: DefinitionError[]): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_RATE_PER_MINUTE ||
    value > MAX_RATE_PER_MINUTE
  ) {
    errors.push({
      path: 'rate_per_minute',
      message: `must be a whole number from ${MIN_RATE_PER_MINUTE} to ${MAX_RATE_PER_MINUTE}: notifications a minute before the rest collapse into a digest`,
    });
    return undefined;
  }
  return value;
}

function unknownFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
  hint: string,
): DefinitionError[] {
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => ({ path: formatPath(at, [key.slice(0, 64)]), message: `is not a field${hint ? `; ${hint}` : ''}` }));
}

function fail(errors: DefinitionError[]): SubscriptionValidationResult {
  return { ok: false, errors };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
