import fs from 'node:fs';
import path from 'node:path';
import { depthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import { DefinitionSyntaxError, parseDefinitionText, type DefinitionFormat } from '../registry/definition-format';
import { CliError, EXIT } from './errors';

/** One definition file as flowctl reads it. */
export interface DefinitionFile {
  /** The path as given (or found in a folder given), for messages. */
  readonly file: string;
  /** The definition's `id`, or the file's name without its extension when the text has none. */
  readonly id: string;
  /** The text, byte for byte: what `apply` saves and compares with what `export` wrote. */
  readonly text: string;
  readonly format: DefinitionFormat;
  /** The parsed document, with `id` added when the text has none (as a save under the file's name would). */
  readonly raw: unknown;
}

/** A file that is not YAML or JSON, with where it breaks. */
export interface FileProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

const EXTENSIONS: Readonly<Record<string, DefinitionFormat>> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

/**
 * The definition files of `paths`: each file named, and the `.yaml`, `.yml` and `.json` files directly in each folder
 * named (not in its subfolders, where a pack's package.json would be taken for a definition), in name order.
 */
export function collectFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of paths) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(given);
    } catch {
      throw new CliError(`${given}: no such file or folder.`, EXIT.usage, 'Name definition files or folders of them.');
    }
    if (stat.isDirectory()) {
      const found = fs
        .readdirSync(given, { withFileTypes: true })
        .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && formatOf(entry.name) !== undefined)
        .map((entry) => path.join(given, entry.name))
        .sort();
      files.push(...found);
    } else files.push(given);
  }
  return [...new Set(files)];
}

/** The format a file's extension says; undefined for any other file. */
export function formatOf(file: string): DefinitionFormat | undefined {
  return EXTENSIONS[path.extname(file).toLowerCase()];
}

/**
 * Reads and parses one file: the definition, or the problem that keeps it from being one. `expected` says what a file
 * that is not a mapping should have been (subscription files are read this way too).
 */
export function readDefinitionFile(
  file: string,
  expected = 'a definition: expected a mapping with id, on and steps',
): DefinitionFile | FileProblem {
  const format = formatOf(file) ?? 'yaml';
  const text = fs.readFileSync(file, 'utf8');
  const fallbackId = path.basename(file, path.extname(file));
  let raw: unknown;
  try {
    raw = parseDefinitionText(text, format);
  } catch (error) {
    if (!(error instanceof DefinitionSyntaxError)) throw error;
    const position =
      error.line !== undefined ? { line: error.line, column: error.column ?? 1 } : jsonPosition(text, error);
    return {
      file,
      ...position,
      path: '(root)',
      message: `not valid ${format.toUpperCase()}: ${error.message.replace(/ at line \d+, column \d+:?$/, '')}`,
    };
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH))
    return { file, line: 1, column: 1, path: '(root)', message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return {
      file,
      line: 1,
      column: 1,
      path: '(root)',
      message: `is not ${expected}`,
    };
  const record = raw as Record<string, unknown>;
  const id = typeof record['id'] === 'string' ? record['id'] : fallbackId;
  return { file, id, text, format, raw: record['id'] === undefined ? { id, ...record } : raw };
}

/** Whether {@link readDefinitionFile} found a problem. */
export function isProblem(value: DefinitionFile | FileProblem): value is FileProblem {
  return 'message' in value;
}

/** Where a JSON syntax error is: Node's message names a position (`at position 42`) or a line and column. */
function jsonPosition(text: string, error: Error): { line: number; column: number } {
  const lineColumn = /line (\d+) column (\d+)/.exec(error.message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /position (\d+)/.exec(error.message);
  if (!position) return { line: 1, column: 1 };
  const before = text.slice(0, Number(position[1]));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** The column (1-based) of `line` that an error's path points at: its last key, else the line's first character. */
export function columnOf(text: string, line: number, path: string): number {
  const content = text.split('\n')[line - 1] ?? '';
  const key = /(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)$/.exec(path)?.[1] ?? /\["((?:[^"\\]|\\.)*)"\]$/.exec(path)?.[1];
  if (key !== undefined) {
    const found = new RegExp(`(^|[\\s{,-])["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`).exec(content);
    if (found) return found.index + found[1]!.length + 1;
  }
  const first = /[^\s-]/.exec(content);
  return first ? first.index + 1 : 1;
}
