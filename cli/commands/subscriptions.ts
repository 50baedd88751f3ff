import type { Command } from 'commander';
import type { FlowClient } from '../client';
import { segment, type CliContext } from '../context';
import {
  collectFiles,
  isProblem,
  readDefinitionFile,
  type DefinitionFile,
  type FileProblem,
} from '../definition-files';
import { EXIT, usageError } from '../errors';
import { at, formatProblem } from './validate';

/** A subscription as stored (docs/subscriptions.md#a-subscription). */
interface SubscriptionBody {
  readonly id: string;
  readonly owner: string;
  readonly on: { source?: string; type?: string; if?: string; definition?: string; outcomes?: string[] };
  readonly deliver: { slack?: string; email?: string };
  readonly message?: string;
  readonly muted_until?: string | null;
  readonly rate_per_minute?: number;
}

/** A subscription as the API answers it (docs/subscriptions.md#api); writes add `created` and `unchanged`. */
interface SubscriptionView {
  readonly id: string;
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly author: string;
  readonly subscription: SubscriptionBody;
  readonly created?: boolean;
  readonly unchanged?: boolean;
}

/** The outcomes `subscribe --definition` asks for without `--outcomes`: those the console's form checks. */
export const DEFAULT_OUTCOMES = ['failed', 'cancelled', 'rejected'] as const;

/** How long `subscriptions mute` mutes without `--for` or `--until`: a day, as the console's button and the link. */
const DEFAULT_MUTE = '24h';

/**
 * `flowctl subscribe`, `flowctl subscriptions list|show|delete|mute|unmute|apply`, `flowctl get subscriptions` and
 * `flowctl describe subscription`: issue 18's subscriptions from a terminal, through `/api/subscriptions`. A read
 * token manages its own subscriptions; a write token anyone's.
 */
export function registerSubscriptions(
  program: Command,
  parents: { readonly get: Command; readonly describe: Command },
  context: CliContext,
): void {
  const { output } = context;
  registerSubscribe(program, context);
  const group = program
    .command('subscriptions')
    .description('Subscriptions: list, show, delete, mute, unmute, and apply them from files');

  const list = async (options: { owner?: string; json?: boolean }): Promise<void> => {
    const items = await listAllSubscriptions(context.client(), ownerQuery(options.owner));
    if (options.json) return output.json({ items });
    output.table(
      ['ID', 'OWNER', 'ON', 'DELIVER', 'MUTED UNTIL'],
      items.map(({ id, subscription }) => [
        id,
        subscription.owner,
        triggerText(subscription),
        deliveryText(subscription),
        subscription.muted_until ?? '',
      ]),
    );
  };
  for (const command of [
    group.command('list').description('List subscriptions: who is told about which events and outcomes, and how'),
    parents.get
      .command('subscriptions')
      .description('List subscriptions: who is told about which events and outcomes, and how (as subscriptions list)'),
  ])
    command
      .option('--owner <me|name|all>', "`me` for the caller's own, an owner's name, or `all` (the default)")
      .option('--json', 'print {items: [...]}, every subscription as GET /api/subscriptions lists it, every page')
      .action(list);

  const show = async (id: string, options: { json?: boolean }): Promise<void> => {
    const answer = await context.client().get<SubscriptionView>(`/api/subscriptions/${segment(id)}`);
    if (options.json) return output.json(answer);
    const { subscription } = answer;
    output.line(`${output.paint('bold', answer.id)}  r${answer.revision} by ${answer.author} (${answer.updatedAt})`);
    output.line(`Owner:       ${subscription.owner}`);
    output.line(`On:          ${triggerText(subscription)}`);
    if (subscription.on.if !== undefined) output.line(`If:          ${subscription.on.if}`);
    output.line(`Deliver:     ${deliveryText(subscription)}`);
    if (subscription.message !== undefined) output.line(`Message:     ${subscription.message}`);
    if (subscription.rate_per_minute !== undefined)
      output.line(`Rate:        ${subscription.rate_per_minute} a minute`);
    output.line(`Muted until: ${subscription.muted_until ?? '-'}`);
  };
  for (const command of [
    group.command('show').description('Show one subscription'),
    parents.describe.command('subscription').description('Show one subscription (as subscriptions show)'),
  ])
    command
      .argument('<id>', 'the subscription id')
      .option('--json', "print the gateway's answer (GET /api/subscriptions/:id)")
      .action(show);

  group
    .command('delete')
    .description("Delete a subscription (your own with a read token; anyone's with a write token)")
    .argument('<id>', 'the subscription id')
    .option('--json', "print the gateway's answer ({id, deleted, lastRevision})")
    .action(async (id: string, options: { json?: boolean }) => {
      const answer = await context.client().request('DELETE', `/api/subscriptions/${segment(id)}`);
      if (options.json) return output.json(answer.body);
      output.line(`Deleted subscription ${id}.`);
    });

  group
    .command('mute')
    .description('Send nothing for a while: sets muted_until (a day unless --for or --until says otherwise)')
    .argument('<id>', 'the subscription id')
    .option('--for <duration>', 'how long, such as 30m, 24h, 7d or 1h30m', DEFAULT_MUTE)
    .option('--until <time>', 'an ISO time with a zone instead, such as 2025-07-01T08:00:00Z')
    .option('--json', "print the gateway's answer (the subscription saved)")
    .addHelpText(
      'after',
      '\nExamples:\n  flowctl subscriptions mute alice-shop-releases\n  flowctl subscriptions mute alice-shop-releases --for 7d',
    )
    .action(async (id: string, options: { for: string; until?: string; json?: boolean }, command: Command) => {
      const until =
        options.until !== undefined
          ? untilArgument(options.until, command.getOptionValueSource('for') === 'cli')
          : new Date(Date.now() + durationMs(options.for)).toISOString();
      const saved = await changeSubscription(context.client(), id, (subscription) => ({
        ...subscription,
        muted_until: until,
      }));
      if (options.json) return output.json(saved);
      output.line(`Muted ${id} until ${saved.subscription.muted_until ?? until}.`);
    });

  group
    .command('unmute')
    .description('Send again: removes muted_until')
    .argument('<id>', 'the subscription id')
    .option('--json', "print the gateway's answer (the subscription saved)")
    .action(async (id: string, options: { json?: boolean }) => {
      const saved = await changeSubscription(context.client(), id, ({ muted_until: _muted, ...rest }) => rest);
      if (options.json) return output.json(saved);
      output.line(saved.unchanged ? `${id} was not muted.` : `Unmuted ${id}.`);
    });

  group
    .command('apply')
    .description('Make subscriptions match files: create or change each one a file holds (PUT, idempotent)')
    .requiredOption('-f, --filename <paths...>', 'subscription files, or folders of them (.yaml, .yml, .json)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Each file holds one subscription; without an id it is named after the file (alice-releases.yaml is
alice-releases). Each is saved with PUT /api/subscriptions/:id: created, changed (the values that changed are
listed) or unchanged (nothing written). An invalid file is reported as file:line:col path message and not saved;
the others are, and apply exits 3. Subscriptions the files do not name are left alone.

Example:
  flowctl subscriptions apply -f subscriptions/`,
    )
    .action(async (options: { filename: string[]; json?: boolean }) => {
      await applySubscriptions(context, options);
    });
}

/** `flowctl subscribe`: one command for both triggers, as a subscription's `on` has them. */
function registerSubscribe(program: Command, context: CliContext): void {
  const { output } = context;
  program
    .command('subscribe')
    .description('Be told by Slack or email when an event arrives, or when runs of a definition end a certain way')
    .argument('[source]', 'the event source, such as jira (not with --definition)')
    .argument('[type]', 'the event type, such as issue_transitioned (not with --definition)')
    .option('--if <cel>', "a condition on the event's body, such as 'event.project == \"SHOP\"'")
    .option('--definition <id>', "outcomes of this definition's runs instead of an event")
    .option(
      '--outcomes <list>',
      `with --definition: comma-separated, of started, completed, failed, cancelled, rejected, queued, superseded, approval_requested (default ${DEFAULT_OUTCOMES.join(',')})`,
    )
    .option('--slack <@user|#channel>', 'a Slack user (a direct message) or channel')
    .option('--email <address>', 'one email address')
    .option('--message <template>', 'the message, with ${{ event.… }} (and ${{ run.… }} for outcomes)')
    .option('--id <id>', 'the id (default: generated from you, the trigger and six hex digits)')
    .option('--rate <n>', 'notifications a minute before the rest collapse into one digest (1-600, default 10)')
    .option('--json', "print the gateway's answer (the subscription created)")
    .addHelpText(
      'after',
      `
Prints the new subscription's id. The owner is the token's name; a read token may subscribe (and manage its
own subscriptions). An invalid subscription prints each problem with its field and exits 3.

Examples:
  flowctl subscribe jira issue_transitioned --if 'event.project == "SHOP" && event.to == "Start Release"' --slack @alice
  flowctl subscribe --definition release --outcomes failed,cancelled --email alice@example.com
  flowctl subscribe github release_published --slack '#releases' --message 'Released \${{ event.tag }}'`,
    )
    .action(
      async (
        source: string | undefined,
        type: string | undefined,
        options: {
          if?: string;
          definition?: string;
          outcomes?: string;
          slack?: string;
          email?: string;
          message?: string;
          id?: string;
          rate?: string;
          json?: boolean;
        },
      ) => {
        let on: SubscriptionBody['on'];
        if (options.definition !== undefined) {
          if (source !== undefined)
            throw usageError(
              'Give either <source> <type> or --definition, not both.',
              'An event: flowctl subscribe jira issue_transitioned …; outcomes: flowctl subscribe --definition release …',
            );
          if (options.if !== undefined)
            throw usageError('--if is a condition on an event; it does not go with --definition.');
          const outcomes = (options.outcomes ?? DEFAULT_OUTCOMES.join(','))
            .split(',')
            .map((outcome) => outcome.trim())
            .filter((outcome) => outcome !== '');
          on = { definition: options.definition, outcomes };
        } else {
          if (source === undefined || type === undefined)
            throw usageError(
              'Name the event (<source> <type>) or a definition (--definition <id>).',
              'Such as flowctl subscribe jira issue_transitioned --slack @you, or flowctl subscribe --definition release --slack @you.',
            );
          if (options.outcomes !== undefined) throw usageError('--outcomes goes with --definition, not with an event.');
          on = { source, type, ...(options.if === undefined ? {} : { if: options.if }) };
        }
        const body = {
          ...(options.id === undefined ? {} : { id: options.id }),
          on,
          deliver: {
            ...(options.slack === undefined ? {} : { slack: options.slack }),
            ...(options.email === undefined ? {} : { email: options.email }),
          },
          ...(options.message === undefined ? {} : { message: options.message }),
          ...(options.rate === undefined ? {} : { rate_per_minute: rateArgument(options.rate) }),
        };
        const answer = await context.client().request('POST', '/api/subscriptions', { json: body });
        const created = answer.body as SubscriptionView;
        if (options.json) return output.json(created);
        output.line(created.id);
        output.note(
          `Subscribed: ${triggerText(created.subscription)} → ${deliveryText(created.subscription)} (owner ${created.subscription.owner}).`,
        );
      },
    );
}

/** Every subscription (of one owner), following the list's pages. */
async function listAllSubscriptions(client: FlowClient, owner: string | undefined): Promise<SubscriptionView[]> {
  const items: SubscriptionView[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.get<{ items: SubscriptionView[]; next: string | null }>('/api/subscriptions', {
      owner,
      limit: 100,
      after,
    });
    items.push(...page.items);
    const last = page.items.at(-1);
    if (!page.next || !last) return items;
    after = last.id;
  }
}

/** `--owner`: `all` (or nothing) lists everyone's; `me` and a name are passed on. */
function ownerQuery(owner: string | undefined): string | undefined {
  return owner === undefined || owner === 'all' ? undefined : owner;
}

/**
 * Reads a subscription, changes it and saves it back (PUT with the whole subscription, its owner included, so a write
 * token's change leaves it its owner's). The subscriptions API takes no If-Match, so a change someone saves between
 * the read and the save is overwritten.
 */
async function changeSubscription(
  client: FlowClient,
  id: string,
  change: (subscription: SubscriptionBody) => SubscriptionBody,
): Promise<SubscriptionView> {
  const current = await client.get<SubscriptionView>(`/api/subscriptions/${segment(id)}`);
  const answer = await client.request('PUT', `/api/subscriptions/${segment(id)}`, {
    json: change(current.subscription),
  });
  return answer.body as SubscriptionView;
}

/** What `subscriptions apply` did with one file. */
interface SubscriptionApplyItem {
  readonly id: string;
  readonly file: string;
  action: 'created' | 'changed' | 'unchanged' | 'invalid' | 'failed';
  /** The revision saved (or kept, when unchanged). */
  revision?: number;
  /** The values that changed, `path: before → after`. */
  changes?: string[];
  errors?: FileProblem[];
  error?: string;
}

async function applySubscriptions(context: CliContext, options: { filename: string[]; json?: boolean }): Promise<void> {
  const { output } = context;
  const files = collectFiles(options.filename);
  if (files.length === 0)
    throw usageError(`No subscription files in ${options.filename.join(', ')}.`, 'Name .yaml or .json files.');
  const read = files.map((file) => readDefinitionFile(file, 'a subscription: expected a mapping with on and deliver'));
  const problems: FileProblem[] = read.filter(isProblem);
  const subscriptions = read.filter((entry): entry is DefinitionFile => !isProblem(entry));
  const owners = new Map<string, string>();
  for (const subscription of subscriptions) {
    const first = owners.get(subscription.id);
    if (first !== undefined)
      problems.push(at(subscription, 'id', `duplicate subscription id "${subscription.id}": ${first} holds it too`));
    else owners.set(subscription.id, subscription.file);
  }
  if (problems.length > 0) {
    if (options.json) output.json({ ok: false, errors: problems });
    else {
      for (const problem of problems) output.line(formatProblem(problem));
      output.note('Nothing was applied. Fix the files and run apply again.');
    }
    process.exitCode = EXIT.invalid;
    return;
  }
  subscriptions.sort((a, b) => a.id.localeCompare(b.id));
  const client = context.client();
  const items: SubscriptionApplyItem[] = [];
  for (const subscription of subscriptions) items.push(await applyOne(client, subscription));

  const counts = { created: 0, changed: 0, unchanged: 0, invalid: 0, failed: 0 };
  for (const item of items) counts[item.action] += 1;
  if (options.json) output.json({ summary: counts, items });
  else {
    for (const item of items) {
      const where = ` (${item.file})`;
      switch (item.action) {
        case 'created':
          output.line(output.paint('green', `+ ${item.id} created r${item.revision}${where}`));
          break;
        case 'changed':
          output.line(output.paint('yellow', `~ ${item.id} changed → r${item.revision}${where}`));
          for (const change of item.changes ?? []) output.line(`    ${change}`);
          break;
        case 'unchanged':
          output.line(`= ${item.id} unchanged r${item.revision}${where}`);
          break;
        case 'invalid':
          for (const problem of item.errors ?? []) output.line(formatProblem(problem));
          break;
        case 'failed':
          output.line(output.paint('red', `! ${item.id} failed${where}: ${item.error ?? ''}`));
          break;
      }
    }
    output.note(
      (['created', 'changed', 'unchanged', 'invalid', 'failed'] as const)
        .filter((action) => counts[action] > 0 || action === 'unchanged')
        .map((action) => `${counts[action]} ${action}`)
        .join(', ') + '.',
    );
  }
  if (counts.invalid > 0) process.exitCode = EXIT.invalid;
  else if (counts.failed > 0) process.exitCode = EXIT.failed;
}

async function applyOne(client: FlowClient, file: DefinitionFile): Promise<SubscriptionApplyItem> {
  const url = `/api/subscriptions/${segment(file.id)}`;
  const base = { id: file.id, file: file.file };
  const before = await client.request('GET', url, { allow: [404] });
  const answer = await client.request('PUT', url, {
    text: file.text,
    contentType: file.format === 'yaml' ? 'application/yaml' : 'application/json',
    allow: [400, 403, 409, 422],
  });
  if (answer.status === 400 || answer.status === 422) {
    const problem = (answer.body ?? {}) as {
      detail?: string;
      line?: number;
      errors?: { path: string; message: string; line?: number }[];
    };
    const errors =
      Array.isArray(problem.errors) && problem.errors.length > 0
        ? problem.errors.map((error) => at(file, error.path, error.message, error.line))
        : [at(file, '(root)', problem.detail ?? 'refused by the gateway', problem.line ?? 1)];
    return { ...base, action: 'invalid', errors };
  }
  if (answer.status !== 200 && answer.status !== 201) {
    const detail = (answer.body as { detail?: unknown } | undefined)?.detail;
    return { ...base, action: 'failed', error: typeof detail === 'string' ? detail : `answered ${answer.status}` };
  }
  const saved = answer.body as SubscriptionView;
  if (saved.created) return { ...base, action: 'created', revision: saved.revision };
  if (saved.unchanged) return { ...base, action: 'unchanged', revision: saved.revision };
  const previous = before.status === 404 ? {} : (before.body as SubscriptionView).subscription;
  return { ...base, action: 'changed', revision: saved.revision, changes: valueChanges(previous, saved.subscription) };
}

/** Each value that differs between two JSON values, as `path: before → after` (absent values as `(none)`). */
export function valueChanges(before: unknown, after: unknown, path = ''): string[] {
  const isRecord = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => valueChanges(before[key], after[key], path === '' ? key : `${path}.${key}`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const show = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value));
  return [`${path || '(root)'}: ${show(before)} → ${show(after)}`];
}

/** `jira/issue_transitioned (if)` or `release: failed,cancelled`. */
function triggerText(subscription: SubscriptionBody): string {
  const { on } = subscription;
  return on.definition !== undefined
    ? `${on.definition}: ${(on.outcomes ?? []).join(',')}`
    : `${on.source ?? '?'}/${on.type ?? '?'}${on.if !== undefined ? ' (if)' : ''}`;
}

function deliveryText(subscription: SubscriptionBody): string {
  return [subscription.deliver.slack, subscription.deliver.email].filter(Boolean).join(', ');
}

/** `--rate`: a whole number (the gateway checks the range). */
function rateArgument(value: string): number {
  if (!/^\d{1,6}$/.test(value))
    throw usageError(`--rate ${JSON.stringify(value)} is not a whole number.`, 'Such as --rate 10 (1-600 a minute).');
  return Number(value);
}

/** `--until`: an ISO time the gateway will take; not with an explicit `--for`. */
function untilArgument(value: string, forGiven: boolean): string {
  if (forGiven) throw usageError('Give --for or --until, not both.');
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
    Number.isNaN(Date.parse(value))
  )
    throw usageError(
      `--until ${JSON.stringify(value)} is not an ISO time with a zone.`,
      'Such as --until 2025-07-01T08:00:00Z.',
    );
  return value;
}

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `24h`, `7d`, `1h30m`: a positive duration in milliseconds, or a usage error. */
export function durationMs(value: string): number {
  const parts = [...value.matchAll(/(\d{1,6})([smhd])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value)
    throw usageError(`${JSON.stringify(value)} is not a duration.`, 'Such as --for 30m, 24h, 7d or 1h30m.');
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS[part[2]!] ?? 0), 0);
  if (ms <= 0) throw usageError(`--for ${value} is no time at all.`, 'Such as --for 24h.');
  return ms;
}
