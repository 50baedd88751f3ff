import { parseDocument, stringify, YAMLParseError } from 'yaml';
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
    document = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true, strict: true });
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
