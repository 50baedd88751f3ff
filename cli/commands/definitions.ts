import type { Command } from 'commander';
import type { FlowClient } from '../client';
import { segment, type CliContext } from '../context';
import { CliError, EXIT } from '../errors';
import { unifiedDiff } from '../unified-diff';

/** A definition as `GET /api/definitions` lists it. */
export interface DefinitionSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly revision: number;
  readonly on: readonly { readonly source: string; readonly type: string; readonly if?: string }[];
  readonly updatedAt: string;
}

/** Every definition, following the list's `next` links. */
export async function listAllDefinitions(client: FlowClient): Promise<DefinitionSummary[]> {
  const items: DefinitionSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.get<{ items: DefinitionSummary[]; next: string | null }>('/api/definitions', {
      limit: 1000,
      after,
    });
    items.push(...page.items);
    const last = page.items.at(-1);
    if (!page.next || !last) return items;
    after = last.id;
  }
}

/** `get definitions`, `get actions`, `describe definition`, `diff` and `rollback`. */
export function registerDefinitions(
  program: Command,
  parents: { readonly get: Command; readonly describe: Command },
  context: CliContext,
): void {
  const { output } = context;
  parents.get
    .command('definitions')
    .description('List the definitions: id, name, revision, enabled, the events each is bound to')
    .option('--json', 'print {items: [...]}, every definition as GET /api/definitions lists it')
    .action(async (options: { json?: boolean }) => {
      const items = await listAllDefinitions(context.client());
      if (options.json) return output.json({ items });
      output.table(
        ['ID', 'NAME', 'REV', 'ENABLED', 'EVENTS'],
        items.map((item) => [
          item.id,
          item.name,
          String(item.revision),
          item.enabled ? 'yes' : 'no',
          item.on.map((binding) => `${binding.source}/${binding.type}${binding.if ? ' (if)' : ''}`).join(', '),
        ]),
      );
    });

  parents.get
    .command('actions')
    .description(
      "List the action catalog: built-in actions, the packs the workers published, each one's task queue and whether a worker polls it now",
    )
    .option('--json', 'print GET /api/actions as it answers ({actions: [...]}; usable as validate --catalog)')
    .action(async (options: { json?: boolean }) => {
      const answer = await context.client().get<{
        actions: {
          id: string;
          kind: string;
          description: string;
          pack?: string;
          taskQueue?: string;
          defaults?: { execution?: string };
          worker?: { queue: string; polled: boolean | null; lastSeen?: string; unknown?: string };
        }[];
      }>('/api/actions');
      if (options.json) return output.json(answer);
      output.table(
        ['ID', 'KIND', 'EXECUTION', 'PACK', 'QUEUE', 'WORKER', 'DESCRIPTION'],
        answer.actions.map((action) => [
          action.id,
          action.kind,
          // Where its steps run unless a step says otherwise (docs/engine.md#local-steps); meta-actions run in the workflow.
          action.kind === 'meta' ? 'workflow' : action.defaults?.execution === 'local' ? 'local' : 'remote',
          action.pack ?? 'built-in',
          action.taskQueue ?? action.worker?.queue ?? '-',
          action.worker === undefined
            ? '-'
            : action.worker.polled === true
              ? 'polled'
              : action.worker.polled === false
                ? 'none'
                : '?',
          firstSentence(action.description),
        ]),
      );
      const idle = answer.actions.filter((action) => action.worker?.polled === false);
      if (idle.length > 0)
        output.note(
          `No worker polls ${[...new Set(idle.map((action) => action.worker?.queue))].join(', ')}: steps of ${idle.map(({ id }) => id).join(', ')} would wait there (docs/action-packs.md#is-anyone-there).`,
        );
    });

  parents.describe
    .command('definition')
    .description('Show one definition: its bindings, steps and revisions')
    .argument('<id>', 'the definition id')
    .option('--revision <n>', 'a past revision instead of the current one')
    .option('--json', 'print {definition: <GET /api/definitions/:id>, revisions: [...]}')
    .action(async (id: string, options: { revision?: string; json?: boolean }) => {
      const client = context.client();
      const revision = options.revision === undefined ? undefined : revisionArgument(options.revision);
      const stored = await client.get<{
        id: string;
        revision: number;
        createdAt: string;
        author: string | null;
        message: string | null;
        definition: {
          name: string;
          description?: string;
          enabled: boolean;
          on: { source: string; type: string; if?: string }[];
          concurrency?: { group: string; when_busy?: string };
          steps: { id: string; action: string; name?: string; if?: string }[];
          on_failure?: { id: string; action: string }[];
        };
      }>(`/api/definitions/${segment(id)}`, { revision });
      const { revisions } = await client.get<{
        revisions: { revision: number; createdAt: string; author: string | null; message: string | null }[];
      }>(`/api/definitions/${segment(id)}/revisions`);
      if (options.json) return output.json({ definition: stored, revisions });
      const { definition } = stored;
      output.line(`${output.paint('bold', stored.id)}  ${definition.name}`);
      if (definition.description) output.line(definition.description);
      output.line(
        `Revision:  ${stored.revision} (${stored.createdAt}${stored.author ? ` by ${stored.author}` : ''})${stored.message ? ` ${stored.message}` : ''}`,
      );
      output.line(`Enabled:   ${definition.enabled ? 'yes' : 'no'}`);
      if (definition.concurrency)
        output.line(
          `Train:     ${definition.concurrency.group} (when busy: ${definition.concurrency.when_busy ?? 'queue'})`,
        );
      output.line('On:');
      for (const binding of definition.on)
        output.line(`  ${binding.source}/${binding.type}${binding.if ? `  if ${binding.if}` : ''}`);
      output.line('Steps:');
      definition.steps.forEach((step, index) =>
        output.line(
          `  ${index + 1}. ${step.id}  ${step.action}${step.name ? `  ${step.name}` : ''}${step.if ? `  if ${step.if}` : ''}`,
        ),
      );
      if (definition.on_failure?.length) {
        output.line('On failure:');
        for (const step of definition.on_failure) output.line(`  - ${step.id}  ${step.action}`);
      }
      output.line('Revisions:');
      for (const entry of revisions.slice(0, 10))
        output.line(
          `  r${entry.revision}  ${entry.createdAt}  ${entry.author ?? '-'}  ${entry.message ?? ''}`.trimEnd(),
        );
      if (revisions.length > 10) output.line(`  … ${revisions.length - 10} older (--json lists all)`);
    });

  program
    .command('diff')
    .description('Show what changed between two revisions of a definition, as a unified diff of their YAML')
    .argument('<id>', 'the definition id')
    .argument('<rev-a>', 'the older revision')
    .argument('<rev-b>', 'the newer revision')
    .option('--json', 'print {id, from, to, diff}')
    .addHelpText('after', '\nExample:\n  flowctl diff release 3 4')
    .action(async (id: string, a: string, b: string, options: { json?: boolean }) => {
      const client = context.client();
      const text = async (revision: number): Promise<string> =>
        (
          await client.request('GET', `/api/definitions/${segment(id)}`, {
            query: { revision },
            accept: 'application/yaml',
          })
        ).text;
      const from = revisionArgument(a);
      const to = revisionArgument(b);
      const diff = unifiedDiff(await text(from), await text(to), { from: `${id} r${from}`, to: `${id} r${to}` });
      if (options.json) return output.json({ id, from, to, diff });
      if (diff === '') output.note(`Revisions ${from} and ${to} of ${id} are the same.`);
      else output.line(diff);
    });

  program
    .command('rollback')
    .description('Restore an earlier revision of a definition: it is saved again as a new revision')
    .argument('<id>', 'the definition id')
    .requiredOption('--to <rev>', 'the revision to restore')
    .option('-m, --message <text>', 'the change message of the new revision')
    .option('--json', "print the gateway's answer ({id, revision, unchanged, restoredFrom})")
    .addHelpText('after', '\nExample:\n  flowctl rollback release --to 3 -m "r4 broke the Jenkins job name"')
    .action(async (id: string, options: { to: string; message?: string; json?: boolean }) => {
      const client = context.client();
      const to = revisionArgument(options.to);
      // A deleted definition has no current revision (404): its revision is restored without If-Match.
      const current = await client.request('GET', `/api/definitions/${segment(id)}`, { allow: [404] });
      const revision = current.status === 404 ? null : current.headers.get('flow-revision');
      const answer = await client.request('POST', `/api/definitions/${segment(id)}/revisions/${to}/restore`, {
        headers: revision ? { 'If-Match': `"${revision}"` } : {},
        query: { message: options.message ?? `flowctl rollback to revision ${to}` },
      });
      const saved = answer.body as { revision: number; unchanged?: boolean };
      if (options.json) return output.json(saved);
      output.line(
        saved.unchanged
          ? `${id}: revision ${to} is what r${revision ?? '?'} already holds; nothing saved.`
          : `${id}: restored revision ${to} as revision ${saved.revision}.`,
      );
    });
}

/** A revision number argument, or a usage error. */
export function revisionArgument(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value))
    throw new CliError(`${JSON.stringify(value)} is not a revision number.`, EXIT.usage, 'Revisions are 1, 2, 3, …');
  return Number(value);
}

function firstSentence(text: string): string {
  const sentence = /^[^.]*\./.exec(text)?.[0] ?? text;
  return sentence.length > 80 ? `${sentence.slice(0, 77)}…` : sentence;
}
