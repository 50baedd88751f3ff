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
import { CliError, EXIT } from '../errors';
import { unifiedDiff } from '../unified-diff';
import { at, formatProblem } from './validate';
import { listAllDefinitions } from './definitions';

/** What apply does (or would do) to one definition. */
export type ApplyAction = 'added' | 'changed' | 'unchanged' | 'pruned' | 'invalid' | 'failed';

/** One definition in `flowctl apply --json`'s `items`. */
export interface ApplyItem {
  readonly id: string;
  /** The file it comes from; null for a pruned definition. */
  readonly file: string | null;
  action: ApplyAction;
  /** The server's current revision before apply; null for a new definition. */
  readonly revision: number | null;
  /** The revision apply saved (absent in a dry run, and for unchanged or pruned definitions). */
  newRevision?: number;
  /** The unified diff of the YAML (changed YAML files), or the changed values (JSON files). */
  readonly diff?: string;
  errors?: FileProblem[];
  error?: string;
}

interface Planned extends ApplyItem {
  readonly definition?: DefinitionFile;
}

/** The options of {@link applyDefinitions}, as `flowctl apply` parses them. */
export interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  prune?: boolean;
  yes?: boolean;
  message?: string;
  json?: boolean;
}

/** Above this many definitions, apply shows a progress line on a terminal. */
const PROGRESS_FROM = 10;

/** `flowctl apply -f <dir>`: makes the registry match a folder of definitions. */
export function registerApply(program: Command, context: CliContext): void {
  program
    .command('apply')
    .description('Make the registry match definition files: add, change and (with --prune) delete definitions')
    .requiredOption('-f, --filename <paths...>', 'definition files, or folders of them (.yaml, .yml, .json)')
    .option('--dry-run', 'show what would change; change nothing')
    .option('--prune', 'also delete the definitions the files do not name (asks for --yes)')
    .option('--yes', 'confirm --prune: delete without asking')
    .option('-m, --message <text>', 'the change message recorded on each new revision')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Each definition is added, changed (a new revision; the unified diff of its YAML is shown) or left unchanged;
only changes are saved, so applying the same files again changes nothing. Saves carry If-Match (or
If-None-Match: *), so a definition changed on the server meanwhile is not overwritten: apply reports it and
exits 1. Every file is checked by the gateway before anything is saved; an invalid one stops apply (exit 3).

Examples:
  flowctl apply -f definitions/ --dry-run
  flowctl apply -f definitions/ -m "Release train: reject while busy"
  flowctl apply -f definitions/ --prune --yes`,
    )
    .action(async (options: ApplyOptions) => {
      await applyDefinitions(context, options);
    });
}

/**
 * What `flowctl apply` runs (exported for the tests that pause it between its read and its save): prints the result
 * on `context.output` and sets `process.exitCode` when something failed or was invalid.
 */
export async function applyDefinitions(context: CliContext, options: ApplyOptions): Promise<void> {
  const { output } = context;
  const files = collectFiles(options.filename);
  if (files.length === 0)
    throw new CliError(
      `No definition files in ${options.filename.join(', ')}.`,
      EXIT.usage,
      'Name .yaml or .json files.',
    );
  const read = files.map((file) => readDefinitionFile(file));
  const unreadable = read.filter(isProblem);
  const definitions = read.filter((entry): entry is DefinitionFile => !isProblem(entry));
  const owners = new Map<string, string>();
  const duplicates: FileProblem[] = [];
  for (const definition of definitions) {
    const first = owners.get(definition.id);
    if (first !== undefined)
      duplicates.push(at(definition, 'id', `duplicate definition id "${definition.id}": ${first} defines it too`));
    else owners.set(definition.id, definition.file);
  }
  if (unreadable.length > 0 || duplicates.length > 0) {
    reportInvalid(context, options, [...unreadable, ...duplicates]);
    return;
  }
  definitions.sort((a, b) => a.id.localeCompare(b.id));
  const client = context.client();
  const total = definitions.length;
  const progress = (done: number, label: string): void => {
    if (total >= PROGRESS_FROM) output.progress(done, total, label);
  };

  // 1. What each file would change: read the current revision, and let the gateway check changed ones (a dry save).
  const planned: Planned[] = [];
  for (const [index, definition] of definitions.entries()) {
    progress(index, `checking ${definition.id}`);
    planned.push(await plan(client, definition));
  }
  output.clearProgress();
  const invalid = planned.flatMap((item) => item.errors ?? []);
  if (invalid.length > 0) {
    reportInvalid(context, options, invalid);
    return;
  }

  // 2. What --prune would delete.
  if (options.prune) {
    const named = new Set(definitions.map(({ id }) => id));
    for (const summary of await listAllDefinitions(client))
      if (!named.has(summary.id))
        planned.push({ id: summary.id, file: null, action: 'pruned', revision: summary.revision });
  }
  const pruned = planned.filter((item) => item.action === 'pruned');
  if (pruned.length > 0 && !options.yes && !options.dryRun) {
    if (!options.json) for (const item of planned) printItem(context, item, true);
    throw new CliError(
      `--prune would delete ${pruned.length} definition${pruned.length === 1 ? '' : 's'} that the files do not name: ${pruned.map(({ id }) => id).join(', ')}. Nothing was changed.`,
      EXIT.usage,
      'Check the list (or run with --dry-run), then run again with --prune --yes.',
    );
  }

  // 3. Apply the changes, each only if the server still holds the revision read in step 1.
  if (!options.dryRun) {
    const changes = planned.filter((item) => item.action !== 'unchanged');
    for (const [index, item] of changes.entries()) {
      if (changes.length >= PROGRESS_FROM) output.progress(index, changes.length, `applying ${item.id}`);
      await applyOne(client, item, options.message);
    }
    output.clearProgress();
  }

  const counts = countActions(planned);
  if (options.json) {
    output.json({
      dryRun: options.dryRun === true,
      summary: counts,
      items: planned.map(({ definition: _definition, ...item }) => item),
    });
  } else {
    for (const item of planned) printItem(context, item, options.dryRun === true);
    const parts = (['added', 'changed', 'unchanged', 'pruned', 'failed'] as const)
      .filter((action) => counts[action] > 0 || action === 'unchanged')
      .map((action) => `${counts[action]} ${action}`);
    output.note(`${options.dryRun ? 'Dry run, nothing saved: would be ' : ''}${parts.join(', ')}.`);
  }
  if (counts.failed > 0) process.exitCode = EXIT.failed;
}

/** The plan for one file: unchanged, added or changed (with its diff), or invalid (with the gateway's errors). */
async function plan(client: FlowClient, definition: DefinitionFile): Promise<Planned> {
  const base = { id: definition.id, file: definition.file, definition };
  const current = await client.request('GET', `/api/definitions/${segment(definition.id)}`, {
    accept: definition.format === 'yaml' ? 'application/yaml' : 'application/json',
    allow: [404],
  });
  const exists = current.status !== 404;
  const revision = exists ? Number(current.headers.get('flow-revision')) : null;
  if (exists && definition.format === 'yaml' && current.text === definition.text)
    return { ...base, action: 'unchanged', revision };
  const check = await client.request('POST', `/api/definitions/${segment(definition.id)}/validate`, {
    text: definition.text,
    contentType: definition.format === 'yaml' ? 'application/yaml' : 'application/json',
    headers: precondition(revision),
    allow: [400, 412, 422],
  });
  if (check.status === 400 || check.status === 422) {
    return { ...base, action: 'invalid', revision, errors: problemsOf(definition, check.body) };
  }
  if (check.status === 412)
    return { ...base, action: 'failed', revision, error: detailOf(check.body) ?? 'changed on the server meanwhile' };
  const answer = check.body as { unchanged: boolean; diff: { path: string; before?: unknown; after?: unknown }[] };
  if (answer.unchanged) return { ...base, action: 'unchanged', revision };
  const diff =
    definition.format === 'yaml'
      ? unifiedDiff(exists ? current.text : '', definition.text, {
          from: exists ? `${definition.id} r${revision} (server)` : '/dev/null',
          to: definition.file,
        })
      : answer.diff
          .map((change) => `${change.path}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`)
          .join('\n');
  return { ...base, action: exists ? 'changed' : 'added', revision, diff };
}

async function applyOne(client: FlowClient, item: Planned, message: string | undefined): Promise<void> {
  const url = `/api/definitions/${segment(item.id)}`;
  if (item.action === 'pruned') {
    const answer = await client.request('DELETE', url, { headers: precondition(item.revision), allow: [404, 412] });
    if (answer.status !== 200) markFailed(item, answer.body);
    return;
  }
  const definition = item.definition;
  if (!definition || (item.action !== 'added' && item.action !== 'changed')) return;
  const answer = await client.request('PUT', url, {
    text: definition.text,
    contentType: definition.format === 'yaml' ? 'application/yaml' : 'application/json',
    headers: precondition(item.revision),
    query: { message: message ?? `flowctl apply ${definition.file}` },
    allow: [412, 422],
  });
  if (answer.status === 412 || answer.status === 422) {
    markFailed(item, answer.body);
    return;
  }
  const saved = answer.body as { revision: number; unchanged?: boolean };
  if (saved.unchanged) item.action = 'unchanged';
  else item.newRevision = saved.revision;
}

function markFailed(item: Planned, body: unknown): void {
  item.error = detailOf(body) ?? 'the gateway refused the change';
  item.action = 'failed';
}

/** If-Match for the revision read, or If-None-Match: * for a definition that did not exist. */
function precondition(revision: number | null): Record<string, string> {
  return revision === null ? { 'If-None-Match': '*' } : { 'If-Match': `"${revision}"` };
}

function problemsOf(definition: DefinitionFile, body: unknown): FileProblem[] {
  const problem = (body ?? {}) as {
    detail?: string;
    line?: number;
    column?: number;
    errors?: { path: string; message: string; line?: number }[];
  };
  if (Array.isArray(problem.errors) && problem.errors.length > 0)
    return problem.errors.map((error) => at(definition, error.path, error.message, error.line));
  return [
    {
      file: definition.file,
      line: problem.line ?? 1,
      column: problem.column ?? 1,
      path: '(root)',
      message: problem.detail ?? 'refused by the gateway',
    },
  ];
}

function detailOf(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail : undefined;
}

function reportInvalid(context: CliContext, options: ApplyOptions, problems: readonly FileProblem[]): void {
  const { output } = context;
  if (options.json) output.json({ dryRun: options.dryRun === true, ok: false, errors: problems });
  else {
    for (const problem of problems) output.line(formatProblem(problem));
    const files = new Set(problems.map(({ file }) => file)).size;
    output.note(
      `${files} file${files === 1 ? '' : 's'} invalid; nothing was applied. Fix them (flowctl validate) and run apply again.`,
    );
  }
  process.exitCode = EXIT.invalid;
}

function countActions(
  items: readonly ApplyItem[],
): Record<'added' | 'changed' | 'unchanged' | 'pruned' | 'failed', number> {
  const counts = { added: 0, changed: 0, unchanged: 0, pruned: 0, failed: 0 };
  for (const item of items) if (item.action !== 'invalid') counts[item.action] += 1;
  return counts;
}

function printItem(context: CliContext, item: Planned, dryRun: boolean): void {
  const { output } = context;
  const where = item.file ? ` (${item.file})` : '';
  const revision = (n: number | null | undefined): string => (n === null || n === undefined ? '' : `r${n}`);
  switch (item.action) {
    case 'added':
      output.line(
        output.paint(
          'green',
          `+ ${item.id} ${dryRun ? 'would be added' : `added ${revision(item.newRevision)}`}${where}`,
        ),
      );
      break;
    case 'changed':
      output.line(
        output.paint(
          'yellow',
          `~ ${item.id} ${dryRun ? `would change ${revision(item.revision)}` : `changed ${revision(item.revision)} → ${revision(item.newRevision)}`}${where}`,
        ),
      );
      break;
    case 'unchanged':
      output.line(`= ${item.id} unchanged ${revision(item.revision)}${where}`);
      break;
    case 'pruned':
      output.line(
        output.paint(
          'red',
          `- ${item.id} ${dryRun ? 'would be deleted' : 'deleted'} (last ${revision(item.revision)})`,
        ),
      );
      break;
    case 'failed':
      output.line(output.paint('red', `! ${item.id} failed${where}: ${item.error ?? ''}`));
      break;
    case 'invalid':
      break;
  }
  if (item.diff && item.action === 'changed')
    for (const line of item.diff.split('\n')) output.line(`    ${colourDiffLine(context, line)}`);
}

function colourDiffLine(context: CliContext, line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return context.output.paint('bold', line);
  if (line.startsWith('+')) return context.output.paint('green', line);
  if (line.startsWith('-')) return context.output.paint('red', line);
  if (line.startsWith('@@')) return context.output.paint('cyan', line);
  return line;
}
