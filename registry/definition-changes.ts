import type { Definition } from '../common/definition';
import { formatPath } from './validate-definition';

/** One value a save would change, at a path in the validator's notation (`steps[2].with.channel`). */
export interface DefinitionChange {
  readonly path: string;
  /** The current value; absent when the save adds it. */
  readonly before?: unknown;
  /** The saved value; absent when the save removes it. */
  readonly after?: unknown;
}

/**
 * What saving `after` over `before` changes, value by value: objects key by key, lists item by item, so changing a
 * Slack channel is one change at `steps[3].with.channel` rather than a new `steps`. With no `before` (a new
 * definition), the whole definition is one change at `(root)`.
 */
export function definitionChanges(before: Definition | undefined, after: Definition): DefinitionChange[] {
  if (before === undefined) return [{ path: '(root)', after }];
  const changes: DefinitionChange[] = [];
  const walk = (from: unknown, to: unknown, path: readonly (string | number)[]): void => {
    if (isPlainObject(from) && isPlainObject(to)) {
      for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
        walk(Object.hasOwn(from, key) ? from[key] : undefined, Object.hasOwn(to, key) ? to[key] : undefined, [
          ...path,
          key,
        ]);
      }
      return;
    }
    if (Array.isArray(from) && Array.isArray(to)) {
      for (let index = 0; index < Math.max(from.length, to.length); index++) {
        walk(index < from.length ? from[index] : undefined, index < to.length ? to[index] : undefined, [
          ...path,
          index,
        ]);
      }
      return;
    }
    if (JSON.stringify(from) === JSON.stringify(to)) return;
    changes.push({
      path: formatPath('', path) || '(root)',
      ...(from === undefined ? {} : { before: from }),
      ...(to === undefined ? {} : { after: to }),
    });
  };
  walk(before, after, []);
  return changes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
