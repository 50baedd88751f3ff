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
      throw new DefinitionSyntaxError(
        'json',
        `invalid JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const document = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true, strict: true });
  const first = document.errors[0];
  if (first) {
    const position = first instanceof YAMLParseError ? first.linePos?.[0] : undefined;
    throw new DefinitionSyntaxError(
      'yaml',
      `invalid YAML: ${first.message.split('\n')[0]}`,
      position?.line,
      position?.col,
    );
  }
  try {
    return document.toJS({ maxAliasCount: 50 }) as unknown;
  } catch (error) {
    throw new DefinitionSyntaxError('yaml', `invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The YAML a user would commit to git, with keys in the documented order. */
export function definitionToYaml(definition: Definition): string {
  return stringify(definition, { lineWidth: 0 });
}
