import type { Command } from 'commander';
import { validateDefinition } from '../../registry/validate-definition';
import { withYamlLines } from '../../registry/definition-format';
import { loadCatalog } from '../catalog';
import type { CliContext } from '../context';
import {
  collectFiles,
  columnOf,
  isProblem,
  readDefinitionFile,
  type DefinitionFile,
  type FileProblem,
} from '../definition-files';
import { CliError, EXIT } from '../errors';

/** The result of validating files, as `flowctl validate --json` prints it. */
export interface ValidationReport {
  readonly ok: boolean;
  /** Where the action catalog came from: the gateway's URL, a file, or flowctl's built-in actions. */
  readonly catalog: string;
  readonly files: readonly {
    readonly file: string;
    readonly id: string | null;
    readonly ok: boolean;
    readonly errors: readonly FileProblem[];
  }[];
}

/** `flowctl validate <files or folders>`: the gateway's own validation, offline, with every error at its line. */
export function registerValidate(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description('Validate definition files offline, as the gateway validates a save')
    .argument('<paths...>', 'definition files (.yaml, .yml, .json), or folders of them')
    .option(
      '--catalog <file|builtin>',
      "the action catalog: a file written by `flowctl get actions --json`, or `builtin` for this flowctl's own actions (default: the gateway's GET /api/actions)",
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Prints every error as file:line:col path message and exits 3 when any file is invalid.

Examples:
  flowctl validate definitions/
  flowctl validate --catalog catalog.json definitions/release.yaml`,
    )
    .action(async (paths: string[], options: { catalog?: string; json?: boolean }) => {
      const files = collectFiles(paths);
      if (files.length === 0) throw new CliError(`No definition files in ${paths.join(', ')}.`, EXIT.usage);
      const { catalog, from } = await loadCatalog(options.catalog, () => context.client());
      const report = validateFiles(
        files.map((file) => readDefinitionFile(file)),
        catalog,
        from,
      );
      const { output } = context;
      if (options.json) output.json(report);
      else {
        for (const entry of report.files) for (const error of entry.errors) output.line(formatProblem(error));
        const invalid = report.files.filter((entry) => !entry.ok).length;
        const errors = report.files.reduce((sum, entry) => sum + entry.errors.length, 0);
        output.note(
          report.ok
            ? `${report.files.length} file${plural(report.files.length)} valid (actions from ${from}).`
            : `${invalid} of ${report.files.length} file${plural(report.files.length)} invalid, ${errors} error${plural(errors)} (actions from ${from}).`,
        );
      }
      if (!report.ok) process.exitCode = EXIT.invalid;
    });
}

/** Validates parsed files with `catalog`: syntax problems, duplicate ids across files, and the validator's errors. */
export function validateFiles(
  read: readonly (DefinitionFile | FileProblem)[],
  catalog: Parameters<typeof validateDefinition>[1],
  from: string,
): ValidationReport {
  const owners = new Map<string, string>();
  const files = read.map((entry) => {
    if (isProblem(entry)) return { file: entry.file, id: null, ok: false, errors: [entry] };
    const errors: FileProblem[] = [];
    const first = owners.get(entry.id);
    if (first !== undefined)
      errors.push(at(entry, 'id', `duplicate definition id "${entry.id}": ${first} defines it too`));
    else owners.set(entry.id, entry.file);
    const result = validateDefinition(entry.raw, catalog);
    if (!result.ok) errors.push(...result.errors.map((error) => at(entry, error.path, error.message)));
    return { file: entry.file, id: entry.id, ok: errors.length === 0, errors };
  });
  return { ok: files.every((entry) => entry.ok), catalog: from, files };
}

/** An error of `definition` at `path`, with the line and column of the file it points at. */
export function at(definition: DefinitionFile, path: string, message: string, line?: number): FileProblem {
  const found = line ?? withYamlLines(definition.text, [{ path }])[0]?.line ?? 1;
  return { file: definition.file, line: found, column: columnOf(definition.text, found, path), path, message };
}

/** `file:line:col path message`. */
export function formatProblem(problem: FileProblem): string {
  return `${problem.file}:${problem.line}:${problem.column} ${problem.path} ${problem.message}`;
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}
