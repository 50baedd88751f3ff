import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { SearchAttributeType } from '@temporalio/common';
import { flowSearchAttributes, searchAttributeCliSpecs } from '../common';

const indexedValueType: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers Flow's custom search attributes in `namespace` when they are missing. The local dev server already has
 * them (`--search-attribute`); this covers external clusters. Returns the names that were added. When the server
 * refuses to add them (no operator permission, as on Temporal Cloud), it throws an error naming the commands that
 * register them: a dispatcher or run that sets a missing attribute would fail its workflow task over and over.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = Object.values(flowSearchAttributes).filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]])),
    });
  } catch (error) {
    throw new Error(
      missingSearchAttributesMessage(
        namespace,
        missing.map((key) => key.name),
        error instanceof Error ? error.message : String(error),
      ),
      { cause: error },
    );
  }
  return missing.map((key) => key.name);
}

/** Why the worker cannot start without `missing`, with the commands that register them. */
export function missingSearchAttributesMessage(namespace: string, missing: readonly string[], why: string): string {
  const commands = searchAttributeCliSpecs()
    .map((spec) => spec.split('='))
    .filter(([name]) => missing.includes(name ?? ''))
    .map(
      ([name, type]) =>
        `  temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
    );
  return (
    `Temporal namespace ${namespace} lacks Flow's search attributes ${missing.join(', ')}, and the worker could not ` +
    `add them (${why}). Dispatchers and runs that set them would fail their workflow tasks. Register them, ` +
    `then start the worker again:\n${commands.join('\n')}`
  );
}
