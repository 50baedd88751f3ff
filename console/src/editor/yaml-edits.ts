/**
 * Changes to a definition's YAML that keep what a person wrote. A form's new Slack channel is written into the text
 * where the old one stood, so comments, key order, quoting and folded lines elsewhere stay exactly as they were
 * (the API stores and exports the YAML as sent). The changes that cannot be made that way (an alias, a key in a
 * flow map, a step without `with`) are made afterwards by writing the document out again with the `yaml` package,
 * which keeps comments but not every detail of layout. Either way the result is checked to read back as the
 * intended values.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Pair } from 'yaml';
import type { ValueEdit } from './editor-api';

const OPTIONS = { schema: 'core', uniqueKeys: true } as const;

/** Applies `edits` to the YAML `text`; throws when the text is not YAML. */
export function editYaml(text: string, edits: readonly ValueEdit[]): string {
  const intended = applied(read(text), edits);
  const wanted = JSON.stringify(intended.toJS());
  try {
    // In place where it can be; the changes that cannot are made by writing the document out again after.
    let spliced = text;
    const rest: ValueEdit[] = [];
    for (const edit of edits) {
      try {
        spliced = splice(spliced, edit);
      } catch {
        rest.push(edit);
      }
    }
    if (rest.length > 0) spliced = applied(read(spliced), rest).toString({ lineWidth: 0 });
    if (JSON.stringify(read(spliced).toJS()) === wanted) return spliced;
  } catch {
    // Not text this can change; the intended document is written out below.
  }
  return intended.toString({ lineWidth: 0 });
}

/** A value as a YAML document. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** The document with `edits` made through the `yaml` package's own setters. */
function applied(document: Document.Parsed, edits: readonly ValueEdit[]): Document.Parsed {
  for (const edit of edits) {
    if (edit.value === undefined) document.deleteIn(edit.path);
    else document.setIn(edit.path, edit.value);
  }
  return document;
}

function read(text: string): Document.Parsed {
  const document = parseDocument(text, OPTIONS);
  const first = document.errors[0];
  if (first) throw new Error(first.message);
  return document;
}

/** `edit` made in the text itself: a value replaced where it stands, a key added after the last of its map, or removed. */
function splice(text: string, edit: ValueEdit): string {
  const document = read(text);
  const parentPath = edit.path.slice(0, -1);
  const key = edit.path.at(-1);
  const parent = parentPath.length > 0 ? document.getIn(parentPath, true) : document.contents;
  if (isSeq(parent) && typeof key === 'number' && edit.value !== undefined) {
    return replaceValue(text, parent.items[key], edit.value);
  }
  if (!isMap(parent) || parent.flow || typeof key !== 'string') throw new Error('not a block map');
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
  if (pair) {
    return edit.value === undefined
      ? removePair(text, pair, parent.items.length)
      : replaceValue(text, pair.value, edit.value);
  }
  if (edit.value === undefined) return text;
  const last = parent.items.at(-1);
  const first = parent.items[0];
  if (!last || !first || !hasRange(first.key) || !hasRange(last.value)) throw new Error('an empty map');
  const at = lineEndAfter(text, last.value.range[1]);
  const line = `${' '.repeat(column(text, first.key.range[0]))}${plainKey(key)}: ${flowText(edit.value)}\n`;
  return `${text.slice(0, at)}${at > 0 && text[at - 1] !== '\n' ? '\n' : ''}${line}${text.slice(at)}`;
}

function replaceValue(text: string, node: unknown, value: unknown): string {
  if (!hasRange(node) || isAlias(node)) throw new Error('no value to replace');
  const [start, end] = node.range;
  let replacement: string;
  if (Array.isArray(value) && isSeq(node) && !node.flow && value.length > 0) {
    // A block list stays a block list, one item a line at the same indentation.
    const indent = ' '.repeat(column(text, start));
    replacement = value.map((item) => `- ${scalarText(item, 'PLAIN')}`).join(`\n${indent}`);
  } else {
    replacement = isScalar(node) ? scalarText(value, node.type) : flowText(value);
  }
  // A block collection's range takes in its last line break, which stays.
  if (text[end - 1] === '\n') replacement += '\n';
  return `${text.slice(0, start)}${replacement}${text.slice(end)}`;
}

/** Removes a key and its value, whole lines only (a key that shares its line with a `- ` is left to the fallback). */
function removePair(text: string, pair: Pair, size: number): string {
  if (size < 2 || !hasRange(pair.key) || !hasRange(pair.value)) throw new Error('cannot remove in place');
  const lineStart = text.lastIndexOf('\n', pair.key.range[0] - 1) + 1;
  if (text.slice(lineStart, pair.key.range[0]).trim() !== '') throw new Error('the key shares its line');
  return `${text.slice(0, lineStart)}${text.slice(lineEndAfter(text, pair.value.range[1]))}`;
}

/** One value as YAML in a line: a scalar in the quoting it had (block scalars become double-quoted), anything else as JSON, which is YAML too. */
function scalarText(value: unknown, type: string | undefined): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return flowText(value);
  const defaultStringType = type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE' ? type : 'PLAIN';
  const written = stringify(value, { lineWidth: 0, defaultStringType }).trimEnd();
  return written.includes('\n') ? JSON.stringify(value) : written;
}

function flowText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? scalarText(value, 'PLAIN')
    : JSON.stringify(value);
}

function plainKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
}

/** The offset just after the line break that ends the line holding `offset - 1` (the end of a value). */
function lineEndAfter(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const next = text.indexOf('\n', offset);
  return next < 0 ? text.length : next + 1;
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function hasRange(node: unknown): node is { range: [number, number, number] } {
  return typeof node === 'object' && node !== null && Array.isArray((node as { range?: unknown }).range);
}
