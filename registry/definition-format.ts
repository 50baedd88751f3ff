import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  stringify,
  YAMLParseError,
  type Node,
} from 'yaml';
import type { Definition } from '../common/definition';

/** The formats a definition can be written in. */
export type DefinitionFormat = 'yaml' | 'json';

/** Text that is not valid YAML or JSON; carries the line and column when known. */
export class DefinitionSyntaxError extends Error {
  constructor(
    readonly format: DefinitionFormat,
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'DefinitionSyntaxError';
  }
}

/**
 * Parses definition text. YAML is read with the core schema (no dates, no custom tags), unique keys and a small
 * alias budget, so a crafted document cannot expand into gigabytes.
 */
export function parseDefinitionText(text: string, format: DefinitionFormat): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new DefinitionSyntaxError('json', error instanceof Error ? error.message : String(error));
    }
  }
  const tooDeep = yamlNestingProblem(text);
  if (tooDeep) throw new DefinitionSyntaxError('yaml', tooDeep);
  let document: ReturnType<typeof parseDocument>;
  try {
    document = parseDocument(text, YAML_OPTIONS);
  } catch (error) {
    // The parser recurses; a hostile document nested tens of thousands deep overflows the stack.
    if (error instanceof RangeError) throw new DefinitionSyntaxError('yaml', 'the document nests too deeply');
    throw error;
  }
  const first = document.errors[0];
  if (first) {
    const position = first instanceof YAMLParseError ? first.linePos?.[0] : undefined;
    throw new DefinitionSyntaxError(
      'yaml',
      first.message.split('\n')[0] ?? first.message,
      position?.line,
      position?.col,
    );
  }
  try {
    return document.toJS({ maxAliasCount: 50 }) as unknown;
  } catch (error) {
    if (error instanceof RangeError) throw new DefinitionSyntaxError('yaml', 'the document nests too deeply');
    throw new DefinitionSyntaxError('yaml', error instanceof Error ? error.message : String(error));
  }
}

const YAML_OPTIONS = { schema: 'core', uniqueKeys: true, prettyErrors: true, strict: true } as const;

/**
 * The line (1-based) of the YAML `text` that a validation error's path (`steps[2].with.url`, `on[0].if`,
 * `steps[0].with["x-y"]`) points at: the line of its key, or of its list item. A path that goes further than the
 * text (a required key that is missing) points at the deepest part that is there, such as the step's `with`; a
 * path it cannot follow at all points at the first line. Undefined when the text is not a YAML document.
 */
export function yamlLineOf(text: string, path: string): number | undefined {
  const lineCounter = new LineCounter();
  let document: ReturnType<typeof parseDocument>;
  try {
    if (yamlNestingProblem(text)) return undefined;
    document = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  } catch {
    return undefined;
  }
  if (document.errors.length > 0) return undefined;
  let node: unknown = document.contents;
  let offset = isNodeWithRange(node) ? node.range[0] : 0;
  for (const part of pathParts(path)) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node) && typeof part === 'string') {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === part);
      if (!pair) break;
      if (isNodeWithRange(pair.key)) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item: unknown = node.items[part];
      if (!isNodeWithRange(item)) break;
      offset = item.range[0];
      node = item;
    } else break;
  }
  return lineCounter.linePos(offset).line;
}

/** The errors with the line of `text` each one's path points at (see {@link yamlLineOf}). */
export function withYamlLines<E extends { readonly path: string }>(
  text: string,
  errors: readonly E[],
): (E & { line?: number })[] {
  return errors.map((error) => {
    const line = yamlLineOf(text, error.path);
    return line === undefined ? { ...error } : { ...error, line };
  });
}

function isNodeWithRange(value: unknown): value is Node & { range: [number, number, number] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { range?: unknown }).range);
}

/** `steps[2].with["x-y"]` → `['steps', 2, 'with', 'x-y']`, the reverse of the validator's `formatPath`; stops at what it cannot read. */
function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const token = /^(?:\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;
  let rest = path;
  while (rest !== '') {
    const match = token.exec(rest);
    if (!match) break;
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(JSON.parse(match[3] ?? '""') as string);
    rest = rest.slice(match[0].length);
  }
  return parts;
}

/** Deepest flow-collection nesting (`[`, `{`) and block indentation accepted in YAML before it is parsed. */
const MAX_YAML_FLOW_DEPTH = 64;
const MAX_YAML_INDENT = 256;

/**
 * The YAML parser recurses per nesting level, and a document nested a thousand deep overflows its stack; after that
 * V8 can abort the whole process on the next parse. So nesting is estimated from the text first, conservatively:
 * brackets are counted even inside quoted strings, and block nesting can never exceed the indentation of a line.
 */
function yamlNestingProblem(text: string): string | undefined {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '[' || char === '{') {
      depth += 1;
      if (depth > MAX_YAML_FLOW_DEPTH) {
        return `the document nests [ ] or { } deeper than ${MAX_YAML_FLOW_DEPTH} levels`;
      }
    } else if ((char === ']' || char === '}') && depth > 0) depth -= 1;
  }
  for (const line of text.split('\n')) {
    const indent = /^[ \t\-?:]*/.exec(line)?.[0].length ?? 0;
    if (indent > MAX_YAML_INDENT)
      return `a line is indented (or nested with "- ") more than ${MAX_YAML_INDENT} columns`;
  }
  return undefined;
}

/** The YAML a user would commit to git, with keys in the documented order. */
export function definitionToYaml(definition: Definition): string {
  return stringify(definition, { lineWidth: 0 });
}
