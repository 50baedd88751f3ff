/**
 * Meta-actions: actions the interpreter runs inside the workflow instead of scheduling an activity, so they add no
 * activity events to the run's history. {@link META_ACTIONS} is the one table of them; the interpreter dispatches
 * through it, and the catalog's `kind: 'meta'` declarations (`activities/actions/*`, `defineMetaAction`) must name
 * exactly its ids. Everything here is pure and sandbox-safe: a meta-action reaches time only through its context.
 *
 * A step's input is checked against the action's own schema before it runs: `meta-action-inputs.json` is generated
 * from the zod schemas of the declarations (`npm run docs`), and `input-schema.ts` checks it.
 */
import { groupReference, groupReferenceProblem } from './approver-groups';
import { describeWhere, WAIT_TIMED_OUT, whereProblem, type WaitedEvent, type WhereValue } from './event-waits';
import { checkInput, inputSchema, type InputSchema } from './input-schema';
import type { ApprovalNotify, RecordedAnswer } from './run-control';
import generatedInputs from './meta-action-inputs.json';

/** A meta-action's input was invalid at run time (after expressions were rendered), or could not be computed with. */
export class MetaActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetaActionError';
  }
}

/**
 * A meta-action failed while it waited, with a fixed failure type (such as a wait that timed out); the interpreter
 * fails the run with it, naming the step, and never retries.
 */
export class MetaActionFailure extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'MetaActionFailure';
  }
}

/** What `flow.wait_for_event` asks the interpreter to wait for. */
export interface EventWait {
  readonly source: string;
  readonly type: string;
  readonly where: Readonly<Record<string, WhereValue>>;
  readonly if?: string;
  /** When to stop waiting. */
  readonly until: Date;
}

/** What a meta-action may use besides its input, supplied by the interpreter. */
export interface MetaContext {
  /** Waits with a durable timer (one timer in the history): the only way a meta-action waits. */
  readonly sleep: (ms: number) => Promise<void>;
  /** The workflow's clock, which replays as it ran. */
  readonly now: () => Date;
  /** Says in the run's details what the step is doing, such as "sleeping 1h". */
  readonly progress: (detail: string) => void;
  /**
   * Registers the wait, looks back for a matching event that came since the run started, and waits for one with a
   * signal and a timer: resolves with the event, or with nothing at `until`.
   */
  readonly awaitEvent: (wait: EventWait) => Promise<WaitedEvent | undefined>;
  /**
   * Opens an approval: posts its request, takes answers (by update, Slack or Jira) and sends reminders until it is
   * decided or `until` passes; resolves with the outcome.
   */
  readonly awaitApproval: (request: ApprovalRequest) => Promise<ApprovalOutcome>;
}

/** What `flow.approval` asks the interpreter to wait for. */
export interface ApprovalRequest {
  readonly title: string;
  readonly approvers: readonly string[];
  readonly required: number;
  readonly forbidSelfApproval: boolean;
  readonly remindEveryMs?: number;
  readonly until: Date;
  readonly notify?: ApprovalNotify;
}

/** How an approval ended. */
export interface ApprovalOutcome {
  readonly status: 'approved' | 'rejected' | 'timed_out';
  readonly answers: readonly RecordedAnswer[];
  readonly at: string;
}

/** What a meta-action gives back: the step's output, and the `vars` it sets. */
export interface MetaOutcome {
  readonly output: Readonly<Record<string, unknown>>;
  readonly vars?: Readonly<Record<string, unknown>>;
}

/**
 * One meta-action: runs on an input that already fits the action's schema. It returns synchronously unless it waits,
 * and throws {@link MetaActionError} only before it waits; a wait may end in a {@link MetaActionFailure}.
 */
interface MetaAction<Input> {
  run(input: Input, context: MetaContext): MetaOutcome | Promise<MetaOutcome>;
}

/** The bumps `version.next` understands; its zod schema is `z.enum(VERSION_BUMPS)`. */
export const VERSION_BUMPS = ['major', 'minor', 'patch', 'prerelease'] as const;
/** One of {@link VERSION_BUMPS}. */
export type VersionBump = (typeof VERSION_BUMPS)[number];
/** A prerelease id, such as rc or beta. */
export const PRERELEASE_ID = /^[0-9A-Za-z-]+$/;

/** Durations `flow.sleep` takes: a whole number and a unit, such as 90s, 30m, 4h or 2d. */
export const SLEEP_DURATION = /^([1-9]\d{0,5})(s|m|h|d)$/;
/** The longest sleep: runs that wait longer should wait for an event instead. */
export const MAX_SLEEP_MS = 90 * 24 * 3600 * 1000;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration that matches {@link SLEEP_DURATION}; NaN for any other string. */
export function sleepMillis(duration: string): number {
  const match = SLEEP_DURATION.exec(duration);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
}

/**
 * True when `duration` is longer than {@link MAX_SLEEP_MS}: what the schema of `flow.sleep` refines on save, and its
 * run checks for a rendered duration (JSON Schema cannot say it).
 */
export function sleepTooLong(duration: string): boolean {
  return sleepMillis(duration) > MAX_SLEEP_MS;
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The next semantic version after `version`. `prerelease` turns 1.2.3 into 1.2.4-rc.0 and 1.2.4-rc.0 into
 * 1.2.4-rc.1; the other bumps drop any prerelease (1.2.4-rc.1 → patch → 1.2.4). `preid` must match
 * {@link PRERELEASE_ID}, as the input schema of `version.next` makes sure.
 */
export function nextVersion(version: string, bump: VersionBump, preid = 'rc'): string {
  const match = SEMVER.exec(version.trim());
  if (!match) throw new MetaActionError(`"${version}" is not a semantic version such as 1.4.2`);
  let major = Number(match[1]);
  let minor = Number(match[2]);
  let patch = Number(match[3]);
  const pre = match[4];
  switch (bump) {
    case 'major':
      if (!(pre && minor === 0 && patch === 0)) major += 1;
      return `${major}.0.0`;
    case 'minor':
      if (!(pre && patch === 0)) minor += 1;
      return `${major}.${minor}.0`;
    case 'patch':
      if (!pre) patch += 1;
      return `${major}.${minor}.${patch}`;
    case 'prerelease': {
      if (!pre) return `${major}.${minor}.${patch + 1}-${preid}.0`;
      const parts = pre.split('.');
      const last = parts.at(-1) ?? '';
      if (parts[0] === preid && /^\d+$/.test(last))
        return `${major}.${minor}.${patch}-${[...parts.slice(0, -1), Number(last) + 1].join('.')}`;
      return `${major}.${minor}.${patch}-${preid}.0`;
    }
  }
}

/** What `version.next` runs on, its defaults filled in. */
interface VersionNextInput {
  readonly version: string;
  readonly bump: VersionBump;
  readonly preid: string;
}

/** What `flow.wait_for_event` does when no event came in time. */
export const ON_TIMEOUT = ['fail', 'continue'] as const;
/** How long a wait lasts when its step does not say. */
export const DEFAULT_WAIT_TIMEOUT = '24h';

/** What `flow.wait_for_event` runs on, its defaults filled in. */
interface WaitForEventInput {
  readonly source: string;
  readonly type: string;
  readonly where: Readonly<Record<string, unknown>>;
  readonly if?: string | undefined;
  readonly timeout: string;
  readonly on_timeout: (typeof ON_TIMEOUT)[number];
}

/**
 * Parks the run until a matching event arrives or the timeout passes. The output is the event (`timed_out: false`,
 * `id`, `source`, `type`, `body`), or `{timed_out: true}` with `on_timeout: continue`; with `fail`, the run fails
 * with {@link WAIT_TIMED_OUT}.
 */
function waitForEvent(input: WaitForEventInput, { awaitEvent, now, progress }: MetaContext): Promise<MetaOutcome> {
  const problem = whereProblem(input.where);
  if (problem !== undefined) throw new MetaActionError(`flow.wait_for_event input is invalid: with.where ${problem}`);
  if (sleepTooLong(input.timeout))
    throw new MetaActionError(`flow.wait_for_event waits at most 90d; timeout "${input.timeout}" is longer`);
  const where = input.where as Readonly<Record<string, WhereValue>>;
  const until = new Date(now().getTime() + sleepMillis(input.timeout));
  const what = `${input.source}/${input.type}${Object.keys(where).length > 0 ? ` (where ${describeWhere(where)})` : ''}`;
  progress(`Waiting for ${what} until ${until.toISOString()}`);
  const wait: EventWait = {
    source: input.source,
    type: input.type,
    where,
    until,
    ...(input.if === undefined ? {} : { if: input.if }),
  };
  return awaitEvent(wait).then((event) => {
    if (event)
      return { output: { timed_out: false, id: event.id, source: event.source, type: event.type, body: event.body } };
    if (input.on_timeout === 'continue') return { output: { timed_out: true } };
    throw new MetaActionFailure(
      WAIT_TIMED_OUT,
      `no ${what} event came within ${input.timeout} (until ${until.toISOString()}); on_timeout: continue would go on`,
    );
  });
}

/** What `flow.approval` does when nobody decided in time. */
export const APPROVAL_ON_TIMEOUT = ['reject', 'approve', 'fail'] as const;
/** What `flow.approval` does when it is rejected. */
export const APPROVAL_ON_REJECT = ['fail', 'continue'] as const;
/** How long an approval waits when its step does not say. */
export const DEFAULT_APPROVAL_TIMEOUT = '3d';
/** The failure type of a run whose approval was rejected (or timed out with `on_timeout: reject`). */
export const APPROVAL_REJECTED = 'ApprovalRejected';
/** The failure type of a run whose approval timed out with `on_timeout: fail`. */
export const APPROVAL_TIMED_OUT = 'ApprovalTimedOut';

/** What `flow.approval` runs on, its defaults filled in. */
interface ApprovalInput {
  readonly title: string;
  readonly approvers: readonly string[];
  readonly required: number;
  readonly forbid_self_approval: boolean;
  readonly remind_every?: string | undefined;
  readonly timeout: string;
  readonly on_timeout: (typeof APPROVAL_ON_TIMEOUT)[number];
  readonly on_reject: (typeof APPROVAL_ON_REJECT)[number];
  readonly notify?: ApprovalNotify | undefined;
}

/**
 * Waits for people: `required` of `approvers` approve, or one rejects, or `timeout` passes. The output is
 * `{decision: approved|rejected|timed_out, approved, by, comment, at}`; a timeout is its own decision, whatever
 * `on_timeout` makes of it. A rejection (and a timeout with `reject`) fails the run with {@link APPROVAL_REJECTED}
 * unless `on_reject: continue`; a timeout with `fail` fails it with {@link APPROVAL_TIMED_OUT}.
 */
function approval(input: ApprovalInput, { awaitApproval, now }: MetaContext): Promise<MetaOutcome> {
  const approvers = [...new Set(input.approvers)];
  const badReference = approvers.map(groupReferenceProblem).find((problem) => problem !== undefined);
  if (badReference !== undefined) throw new MetaActionError(`flow.approval: approvers: ${badReference}`);
  // A group's members are counted when the approval opens (workflows/approval.ts), once it is expanded.
  const listsGroups = approvers.some((approver) => groupReference(approver) !== undefined);
  if (!listsGroups && input.required > approvers.length)
    throw new MetaActionError(
      `flow.approval needs ${input.required} approvals but lists ${approvers.length} distinct approver(s)`,
    );
  for (const [field, duration] of [
    ['timeout', input.timeout],
    ['remind_every', input.remind_every],
  ] as const) {
    if (duration !== undefined && sleepTooLong(duration))
      throw new MetaActionError(`flow.approval waits at most 90d; ${field} "${duration}" is longer`);
  }
  const until = new Date(now().getTime() + sleepMillis(input.timeout));
  const request: ApprovalRequest = {
    title: input.title,
    approvers,
    required: input.required,
    forbidSelfApproval: input.forbid_self_approval,
    until,
    ...(input.remind_every === undefined ? {} : { remindEveryMs: sleepMillis(input.remind_every) }),
    ...(input.notify === undefined ? {} : { notify: input.notify }),
  };
  return awaitApproval(request).then((outcome) => {
    const decisive = outcome.answers.filter((answer) =>
      outcome.status === 'rejected' ? answer.decision === 'rejected' : answer.decision === 'approved',
    );
    const comment = decisive
      .map((answer) => answer.comment)
      .filter(Boolean)
      .join('\n');
    const approved =
      outcome.status === 'approved' || (outcome.status === 'timed_out' && input.on_timeout === 'approve');
    const output = {
      decision: outcome.status,
      approved,
      by: decisive.map((answer) => answer.by),
      ...(comment ? { comment } : {}),
      at: outcome.at,
    };
    if (approved) return { output };
    if (outcome.status === 'timed_out' && input.on_timeout === 'fail')
      throw new MetaActionFailure(
        APPROVAL_TIMED_OUT,
        `nobody decided "${input.title}" within ${input.timeout}; on_timeout: reject or approve would go on`,
      );
    if (input.on_reject === 'continue') return { output };
    const why =
      outcome.status === 'timed_out'
        ? `nobody decided within ${input.timeout} (on_timeout: reject)`
        : `rejected by ${output.by.join(', ')}${comment ? `: ${comment}` : ''}`;
    throw new MetaActionFailure(APPROVAL_REJECTED, `"${input.title}" was ${why}; on_reject: continue would go on`);
  });
}

/** The meta-actions by id: the one list of them. */
export const META_ACTIONS = {
  'flow.set': {
    run: (variables: Readonly<Record<string, unknown>>) => ({ output: variables, vars: variables }),
  },
  'flow.sleep': {
    run: ({ duration }: { readonly duration: string }, { sleep, now, progress }: MetaContext) => {
      if (sleepTooLong(duration)) throw new MetaActionError(`flow.sleep waits at most 90d; "${duration}" is longer`);
      progress(`sleeping ${duration}`);
      return sleep(sleepMillis(duration)).then(() => ({ output: { duration, woke_at: now().toISOString() } }));
    },
  },
  'flow.wait_for_event': { run: waitForEvent },
  'flow.approval': { run: approval },
  'version.next': {
    run: ({ version, bump, preid }: VersionNextInput) => ({
      output: { previous: version.trim().replace(/^v/, ''), version: nextVersion(version, bump, preid) },
    }),
  },
} as const satisfies Readonly<Record<string, MetaAction<never>>>;

/** The id of a meta-action. */
export type MetaActionId = keyof typeof META_ACTIONS;
/** The input a meta-action runs on: what its zod schema's output must be, as `defineMetaAction` checks. */
export type MetaActionInput<Id extends MetaActionId> = Parameters<(typeof META_ACTIONS)[Id]['run']>[0];

/** True for the actions the interpreter runs itself. */
export function isMetaAction(action: string): action is MetaActionId {
  return Object.hasOwn(META_ACTIONS, action);
}

/** The input schema of a meta-action, as generated from its declaration; an error when missing or unsupported. */
function inputSchemaOf(action: MetaActionId): InputSchema {
  const generated: Readonly<Record<string, unknown>> = generatedInputs;
  if (!Object.hasOwn(generated, action)) {
    throw new Error(`common/meta-action-inputs.json has no schema for ${action}: run npm run docs`);
  }
  return inputSchema(generated[action], `the input schema of ${action}`);
}

/**
 * Runs a meta-action on its rendered input. Throws {@link MetaActionError} synchronously when the input does not fit
 * the action's schema or cannot be computed with, so the caller can tell a refused input from a wait that failed.
 */
export function runMetaAction(
  action: MetaActionId,
  input: unknown,
  context: MetaContext,
): MetaOutcome | Promise<MetaOutcome> {
  const checked = checkInput(inputSchemaOf(action), input);
  if (checked.issues.length > 0) {
    const reasons = checked.issues.map(({ path, message }) => `${['with', ...path].join('.')} ${message}`);
    throw new MetaActionError(`${action} input is invalid: ${reasons.join('; ')}`);
  }
  const entry: MetaAction<never> = META_ACTIONS[action];
  return entry.run(checked.value as never, context);
}
