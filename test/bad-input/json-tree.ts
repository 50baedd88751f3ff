/** Helpers the fuzzers share to copy and change JSON-like trees, `__proto__` keys included. */

export type Container = Record<string, unknown> | unknown[];

/** Sets an own property even for `__proto__`, as JSON.parse does. */
export function put(container: Container, slot: string | number, value: unknown): void {
  if (slot === '__proto__') {
    Object.defineProperty(container, slot, { value, enumerable: true, writable: true, configurable: true });
  } else {
    (container as Record<string | number, unknown>)[slot] = value;
  }
}

/**
 * A deep copy that keeps null prototypes and own `__proto__` keys, to detect changes exactly. Objects of other
 * classes (Map, Date, …) are kept as they are.
 */
export function snapshot<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(snapshot) as T;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) return value;
  const copy = Object.create(proto) as Record<string, unknown>;
  for (const [name, inner] of Object.entries(value)) put(copy, name, snapshot(inner));
  return copy as T;
}

/** Every (container, key) pair inside `root`, the root itself excluded, in document order. */
export function slots(root: Container): [Container, string | number][] {
  const found: [Container, string | number][] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        found.push([node, index]);
        visit(item);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const [name, item] of Object.entries(node)) {
        found.push([node as Record<string, unknown>, name]);
        visit(item);
      }
    }
  };
  visit(root);
  return found;
}

/** One change to a tree, applied at a slot chosen by index among all of its slots ({@link editAt}). */
export type TreeEdit =
  | { readonly op: 'delete' }
  | { readonly op: 'set'; readonly value: unknown }
  | { readonly op: 'rename'; readonly to: string }
  /** Replaces the value with `{[key]: value}`. */
  | { readonly op: 'wrap'; readonly key: string }
  /** Wraps the value in `depth` alternating lists and objects. */
  | { readonly op: 'nest'; readonly depth: number }
  /** Replaces the value with a list holding it `times` times, as a long list in a real payload. */
  | { readonly op: 'repeat'; readonly times: number };

/** Applies `edit` at slot number `at` (modulo the number of slots); a tree without slots is left alone. */
export function editAt(root: Container, at: number, edit: TreeEdit): void {
  const all = slots(root);
  if (all.length === 0) return;
  const [container, slot] = all[at % all.length]!;
  const current = (container as Record<string | number, unknown>)[slot];
  switch (edit.op) {
    case 'delete':
      if (Array.isArray(container)) container.splice(Number(slot), 1);
      else delete container[slot as string];
      return;
    case 'set':
      put(container, slot, snapshot(edit.value));
      return;
    case 'rename':
      if (!Array.isArray(container)) {
        delete container[slot as string];
        put(container, edit.to, current);
      }
      return;
    case 'wrap': {
      const wrapper = {};
      put(wrapper, edit.key, current);
      put(container, slot, wrapper);
      return;
    }
    case 'nest': {
      let nested: unknown = current;
      for (let level = 0; level < edit.depth; level++) nested = level % 2 === 0 ? [nested] : { v: nested };
      put(container, slot, nested);
      return;
    }
    case 'repeat':
      put(
        container,
        slot,
        Array.from({ length: edit.times }, () => current),
      );
      return;
  }
}
