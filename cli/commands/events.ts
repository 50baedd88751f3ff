import fs from 'node:fs';
import type { Command } from 'commander';
import { segment, type CliContext } from '../context';
import { CliError, EXIT } from '../errors';

/** `flowctl emit` and `flowctl plan`. */
export function registerEvents(program: Command, context: CliContext): void {
  const { output } = context;
  program
    .command('emit')
    .description('Send an event to Flow (POST /events/:source/:type)')
    .argument('<source>', 'the event source, such as jira')
    .argument('<type>', 'the event type, such as issue_transitioned')
    .option('-d, --data <json|@file|@->', 'the event body: JSON, @file.json, or @- for stdin (default {})')
    .option('-k, --key <key>', 'an Idempotency-Key: the same key from the same source is dispatched once')
    .option('--json', "print the gateway's answer ({eventId, workflowId, duplicate})")
    .addHelpText(
      'after',
      `
Examples:
  flowctl emit demo hello --data '{"name": "Ada"}'
  flowctl emit jira issue_transitioned --data @event.json --key REL-7-start
  flowctl runs list --event <eventId>      # the runs it started`,
    )
    .action(async (source: string, type: string, options: { data?: string; key?: string; json?: boolean }) => {
      const body = eventBody(options.data);
      const answer = await context.client().request('POST', `/events/${segment(source)}/${segment(type)}`, {
        json: body,
        headers: options.key === undefined ? {} : { 'Idempotency-Key': options.key },
      });
      const accepted = answer.body as { eventId: string; workflowId: string; duplicate: boolean };
      if (options.json) return output.json(accepted);
      output.line(
        `${accepted.duplicate ? 'Already accepted' : 'Accepted'} event ${accepted.eventId} (dispatcher ${accepted.workflowId}).`,
      );
      output.note(`Its runs: flowctl runs list --event ${accepted.eventId}`);
    });

  program
    .command('plan')
    .description('Dry-run an event: which definitions would run and why the others would not (POST /api/plan)')
    .argument('<source>', 'the event source')
    .argument('<type>', 'the event type')
    .option('-d, --data <json|@file|@->', 'the event body: JSON, @file.json, or @- for stdin (default {})')
    .option('-k, --key <key>', 'the Idempotency-Key the event would carry (names its event id)')
    .option('--json', "print the gateway's answer ({source, type, matched, skipped})")
    .addHelpText(
      'after',
      `\nExample:\n  flowctl plan jira issue_transitioned --data '{"issue": "REL-7", "to": "Start Release"}'`,
    )
    .action(async (source: string, type: string, options: { data?: string; key?: string; json?: boolean }) => {
      const answer = await context.client().request('POST', `/api/plan/${segment(source)}/${segment(type)}`, {
        json: eventBody(options.data),
        headers: options.key === undefined ? {} : { 'Idempotency-Key': options.key },
      });
      const plan = answer.body as {
        matched: {
          definition: string;
          revision: number;
          workflowId?: string;
          firstStep?: { id: string; action: string; input?: unknown; skipped?: string; error?: string };
          workers?: { queue: string; polled: boolean | null; steps: string[]; unknown?: string }[];
          notes?: string[];
        }[];
        skipped: { definition: string; reason: string }[];
        subscriptions?: {
          notify: { id: string; owner: string; deliver: { slack?: string; email?: string }; mutedUntil?: string }[];
          skipped: { id: string; reason: string }[];
        };
      };
      if (options.json) return output.json(plan);
      if (plan.matched.length === 0) output.line(`No definition would run for ${source}/${type}.`);
      for (const run of plan.matched) {
        output.line(output.paint('green', `would run  ${run.definition} r${run.revision}`));
        const first = run.firstStep;
        if (first) {
          const what = first.skipped ?? first.error ?? `input ${JSON.stringify(first.input)}`;
          output.line(`  first step ${first.id} (${first.action}): ${what}`);
        }
        for (const queue of run.workers ?? [])
          output.line(`  queue ${queue.queue} (${queue.steps.join(', ')}): ${workerText(queue.polled)}`);
        for (const note of run.notes ?? []) output.line(`  note: ${note}`);
      }
      for (const skip of plan.skipped) output.line(`skipped    ${skip.definition}: ${skip.reason}`);
      for (const subscription of plan.subscriptions?.notify ?? [])
        output.line(
          `would notify  ${subscription.id} (owner ${subscription.owner}): ${[subscription.deliver.slack, subscription.deliver.email].filter(Boolean).join(', ')}${subscription.mutedUntil ? `, muted until ${subscription.mutedUntil}` : ''}`,
        );
      for (const skip of plan.subscriptions?.skipped ?? []) output.line(`not notified  ${skip.id}: ${skip.reason}`);
    });

  program
    .command('events')
    .description('Events Flow received')
    .command('unmatched')
    .description('Events received recently that started and woke no run, each with why (GET /api/events/unmatched)')
    .option('--source <source>', 'only events of this source')
    .option('--type <type>', 'only events of this type')
    .option('--limit <n>', 'how many, newest first (1-100)', '20')
    .option('--json', "print the gateway's answer ({items, limit, dispatched})")
    .addHelpText(
      'after',
      `
"Why didn't my workflow fire?": each event that matched nothing, with one reason per definition bound to it
(or one saying none is). Recently means within Temporal's retention. The event's body is never shown; search
for its id in the Temporal UI (FlowEventId = "…").

Examples:
  flowctl events unmatched
  flowctl events unmatched --source jira --type issue_transitioned --limit 50`,
    )
    .action(async (options: { source?: string; type?: string; limit: string; json?: boolean }) => {
      if (!/^\d{1,3}$/.test(options.limit))
        throw new CliError(
          `--limit ${JSON.stringify(options.limit)} is not a number.`,
          EXIT.usage,
          'Such as --limit 50 (1-100).',
        );
      const answer = await context.client().get<{
        items: { eventId: string; source: string; type: string; receivedAt: string | null; why: string[] }[];
        limit: number;
        dispatched: number;
      }>('/api/events/unmatched', { source: options.source, type: options.type, limit: options.limit });
      if (options.json) return output.json(answer);
      if (answer.items.length === 0) output.line('Every recent event started or woke a run.');
      else
        output.table(
          ['EVENT', 'RECEIVED', 'WHY', 'EVENT ID'],
          answer.items.map((item) => [
            `${item.source}/${item.type}`,
            item.receivedAt ?? '-',
            item.why.join('; '),
            item.eventId,
          ]),
        );
      output.note(
        `${answer.dispatched} events within Temporal's retention; at most ${answer.limit} unmatched ones shown, newest first.`,
      );
    });
}

/** Whether a worker polls a queue, in words. */
export function workerText(polled: boolean | null | undefined): string {
  return polled === true ? 'a worker polls it' : polled === false ? 'no worker polls it' : 'Temporal could not say';
}

/** The event body of `--data`: inline JSON, `@file`, or `@-` (stdin); it must be a JSON object. */
export function eventBody(data: string | undefined): Record<string, unknown> {
  if (data === undefined) return {};
  let text = data;
  let where = '--data';
  if (data.startsWith('@')) {
    where = data === '@-' ? 'stdin' : data.slice(1);
    try {
      text = fs.readFileSync(data === '@-' ? 0 : data.slice(1), 'utf8');
    } catch (error) {
      throw new CliError(`Cannot read ${where}: ${error instanceof Error ? error.message : String(error)}`, EXIT.usage);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(
      `${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
      EXIT.usage,
      `Give the event body as a JSON object, such as --data '{"name": "Ada"}', or --data @event.json.`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(`${where} must be a JSON object.`, EXIT.usage, `Such as --data '{"name": "Ada"}'.`);
  return parsed as Record<string, unknown>;
}
