import { Buffer } from 'node:buffer';

/**
 * The definitions bound to one (source, type), keyed by `_id = "source/type"`: every definition bound there, and the
 * committed revision of those that are settled, so the dispatcher's lookup is one read.
 *
 * `snapshots` holds a definition's revision only while it equals the definition's head (the commit point): a save or
 * delete removes it from every binding document the head change affects before it writes the head, and writes it
 * back after. A definition listed in `definitionIds` without a snapshot is unsettled (a save or delete is under way,
 * or crashed between its writes, or the document was written before snapshots): the lookup reads its head, as
 * every lookup did before. So a crash at any point costs a lookup a second read, never a wrong revision.
 */
export interface BindingDocument {
  _id: string;
  definitionIds: string[];
  /** Absent in documents written before snapshots: then every definition is read from its head. */
  snapshots?: BoundSnapshot[];
}

/** A definition's committed revision as a binding document keeps it: the head's revision and text. */
export interface BoundSnapshot {
  readonly id: string;
  readonly revision: number;
  /** The head's `definitionJson`, as stored (JSON text: user payloads may hold keys FerretDB v1 refuses). */
  readonly definitionJson: string;
}

/** What one write of a save or delete does to a definition's entry in one binding document. */
export type BindingChange =
  /** Before the head changes: the definition is (or stays) bound, and lookups read its head until it settles. */
  | { readonly kind: 'unsettle' }
  /** After the head changed: the binding keeps the committed revision (if the definition is still bound here). */
  | { readonly kind: 'settle'; readonly snapshot: BoundSnapshot }
  /** The head no longer binds the definition here: it leaves the document. */
  | { readonly kind: 'remove' };

/**
 * How many bytes of definition text one binding document keeps at most: far below the 16 MB limit of a document, so
 * a binding of many large definitions still saves. A definition that does not fit stays unsettled (read from its head).
 */
export const BINDING_SNAPSHOT_BUDGET_BYTES = 4 * 1024 * 1024;

/** The document's fields after `change` of `id`; undefined when nothing would change, so nothing needs writing. */
export function changedBinding(
  current: Pick<BindingDocument, 'definitionIds' | 'snapshots'> | null,
  id: string,
  change: BindingChange,
  budgetBytes = BINDING_SNAPSHOT_BUDGET_BYTES,
): Omit<BindingDocument, '_id'> | undefined {
  const ids = current?.definitionIds ?? [];
  const snapshots = current?.snapshots ?? [];
  const others = snapshots.filter((snapshot) => snapshot.id !== id);
  const own = snapshots.find((snapshot) => snapshot.id === id);
  let next: Omit<BindingDocument, '_id'>;
  if (change.kind === 'unsettle') {
    if (ids.includes(id) && own === undefined) return undefined;
    next = { definitionIds: ids.includes(id) ? ids : [...ids, id], snapshots: others };
  } else if (change.kind === 'remove') {
    if (!ids.includes(id) && own === undefined) return undefined;
    next = { definitionIds: ids.filter((bound) => bound !== id), snapshots: others };
  } else {
    // Only a definition the save bound here first: one that left meanwhile is not brought back.
    if (!ids.includes(id)) return undefined;
    const fits = snapshotBytes(others) + snapshotBytes([change.snapshot]) <= budgetBytes;
    if (!fits) return own === undefined ? undefined : { definitionIds: ids, snapshots: others };
    if (own?.revision === change.snapshot.revision && own.definitionJson === change.snapshot.definitionJson)
      return undefined;
    next = { definitionIds: ids, snapshots: [...others, change.snapshot] };
  }
  return next;
}

/** The settled definitions of a binding document by id, and the ids whose head decides. */
export function boundDefinitions(binding: BindingDocument): {
  settled: BoundSnapshot[];
  unsettled: string[];
} {
  const byId = new Map((binding.snapshots ?? []).map((snapshot) => [snapshot.id, snapshot]));
  const settled: BoundSnapshot[] = [];
  const unsettled: string[] = [];
  for (const id of new Set(binding.definitionIds)) {
    const snapshot = byId.get(id);
    if (snapshot) settled.push(snapshot);
    else unsettled.push(id);
  }
  return { settled, unsettled };
}

function snapshotBytes(snapshots: readonly BoundSnapshot[]): number {
  return snapshots.reduce((sum, snapshot) => sum + Buffer.byteLength(snapshot.definitionJson), 0);
}
