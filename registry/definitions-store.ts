import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection } from 'mongodb';
import type { AnyAction } from '../activities';
import type { Definition, StepOptions } from '../common/definition';
import { isMetaAction } from '../common/meta-actions';
import type { DefinitionSnapshot } from '../common/run-types';
import {
  boundDefinitions,
  changedBinding,
  type BindingChange,
  type BindingDocument,
  type BoundSnapshot,
} from './definition-bindings';
import type { DefinitionFormat } from './definition-format';
import type { MongoHandle } from './mongo';
import { RegistryLock } from './registry-lock';

/** The current state of a definition: one document per id. */
interface HeadDocument {
  _id: string;
  revision: number;
  deleted: boolean;
  name: string;
  description?: string;
  enabled: boolean;
  /** Each binding's event and condition; the list answers from these without parsing `definitionJson`. */
  bindings: { source: string; type: string; if?: string }[];
  /**
   * True on heads whose `bindings` carry their `if`. Heads saved before did not store it, so for them a missing `if`
   * says nothing and the list reads the conditions from `definitionJson`.
   */
  bindingConditions?: boolean;
  /** Stored as a string: user payloads may hold keys FerretDB v1 refuses (dots, `$`) or nested arrays. */
  definitionJson: string;
  updatedAt: Date;
  /**
   * The binding keys the write of this head took the definition out of (after it, so a crash may have left it
   * there): the next save or delete makes sure it is gone. Absent when there were none.
   */
  unbinding?: string[];
}

/** One immutable revision. */
interface RevisionDocument {
  _id: string;
  definitionId: string;
  revision: number;
  definitionJson: string;
  /** The text as submitted, so an export of a YAML save keeps its comments. */
  sourceText?: string;
  sourceFormat: DefinitionFormat;
  createdAt: Date;
  /** Who saved it: the API token's name. Absent on revisions saved before authors were recorded, or not by the API. */
  author?: string;
  /** Why, as the saver said (`X-Flow-Change-Message`). */
  message?: string;
}

/** A definition as the API returns it. */
export interface StoredDefinition {
  readonly definition: Definition;
  readonly revision: number;
  readonly createdAt: Date;
  readonly sourceText?: string;
  readonly sourceFormat: DefinitionFormat;
  /** Who saved this revision; null when that was not recorded. */
  readonly author: string | null;
  /** Why it was saved, when the saver said. */
  readonly message: string | null;
}

/** Who makes a change and why; recorded on the revision it creates. */
export interface RevisionChange {
  readonly author?: string;
  readonly message?: string;
}

/** A line of a definition's revision list. */
export interface RevisionSummary {
  readonly revision: number;
  readonly createdAt: Date;
  readonly current: boolean;
  readonly author: string | null;
  readonly message: string | null;
}

/** A line of the definition list. */
export interface DefinitionSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly revision: number;
  /** Each binding's event and its condition (`if`), when it has one. */
  readonly on: readonly { source: string; type: string; if?: string }[];
  readonly updatedAt: Date;
}

/** The result of a save. */
export interface SaveResult {
  readonly id: string;
  readonly revision: number;
  /** True when the definition equals the current revision; nothing new was stored. */
  readonly unchanged: boolean;
}

/** A save that named the revision it replaces (`If-Match`) found another one current: someone saved in between. */
export class RevisionConflictError extends Error {
  constructor(
    readonly id: string,
    readonly expected: number,
    /** The current revision; 0 when the definition does not exist (or was deleted). */
    readonly current: number,
  ) {
    super(
      current === 0
        ? `definition ${id} does not exist (or was deleted), but the save expected revision ${expected}`
        : `definition ${id} is at revision ${current}, but the save expected revision ${expected}`,
    );
    this.name = 'RevisionConflictError';
  }
}

/** A definition that was deleted; reading it explains how to bring it back. */
export class DefinitionDeletedError extends Error {
  constructor(
    readonly id: string,
    readonly lastRevision: number,
  ) {
    super(`definition ${id} was deleted; its last revision was ${lastRevision}`);
    this.name = 'DefinitionDeletedError';
  }
}

const bindingKey = (source: string, type: string): string => `${source}/${type}`;
const revisionId = (id: string, revision: number): string => `${id}@${revision}`;

/**
 * The registry of definitions in MongoDB. Works without transactions (FerretDB v1 has none) by ordering writes so
 * that a crash at any point leaves a consistent registry. The head is the commit point; each binding document
 * (`definition-bindings.ts`) also keeps the committed revision of its definitions, so an event's lookup is one read.
 * A save, under the definition's lock: the immutable revision; then every binding document the change affects
 * loses the definition's snapshot (and a new binding gains the definition), so lookups read the head from here on;
 * then the head; then each binding the definition keeps gets the new snapshot, and bindings it no longer has lose
 * it. A crash between any two writes leaves bindings that are early, stale or unsettled: each costs a lookup a read
 * of the head, which decides, as before snapshots; none gives a wrong revision. The next save settles them.
 *
 * Every read and write is by `_id`: FerretDB v1 on SQLite pushes down only `_id` equality and scans the collection
 * for any other filter (`$in` included), indexed or not, which would make a lookup among 10,000 definitions take
 * seconds.
 */
export class DefinitionStore {
  private readonly heads: Collection<HeadDocument>;
  private readonly revisionsCollection: Collection<RevisionDocument>;
  private readonly bindings: Collection<BindingDocument>;
  private readonly meta: Collection<MetaDocument>;
  private readonly lock: RegistryLock;
  private readonly warn: (message: string) => void;
  private readonly actionQueues: ReadonlyMap<string, string> | undefined;
  private readonly publishedActions: PublishedActionLookup | undefined;

  /**
   * Creates the store; nothing touches the database until the first call, so a process can start while it is down.
   * Every public method connects through {@link MongoHandle.connected} first, so a process whose first call meets an
   * outage recovers once the database answers.
   */
  constructor(
    private readonly mongo: MongoHandle,
    private readonly catalog: ReadonlyMap<string, AnyAction>,
    options: DefinitionStoreOptions = {},
  ) {
    this.heads = mongo.db.collection<HeadDocument>('definitions');
    this.revisionsCollection = mongo.db.collection<RevisionDocument>('definition_revisions');
    this.bindings = mongo.db.collection<BindingDocument>('definition_bindings');
    this.meta = mongo.db.collection<MetaDocument>('registry_meta');
    this.lock = new RegistryLock(mongo, options);
    this.actionQueues = options.actionQueues;
    this.publishedActions = options.publishedActions;
    this.warn = options.warn ?? ((message) => console.warn(`[registry] ${message}`));
  }

  /**
   * Stores a validated definition as a new revision, recording `change` (who and why) on it, unless it equals the
   * current one: then nothing is stored, `change` included. With `expectedRevision` (an `If-Match`), the save happens
   * only while that revision is current (0: only while the definition does not exist); otherwise it throws
   * {@link RevisionConflictError} and stores nothing.
   */
  async save(
    definition: Definition,
    source: { text?: string; format: DefinitionFormat },
    change: RevisionChange = {},
    options: { expectedRevision?: number } = {},
  ): Promise<SaveResult> {
    await this.mongo.connected();
    const saved = await this.withLock(`definition:${definition.id}`, () =>
      this.saveLocked(definition, source, change, options.expectedRevision),
    );
    if (!saved.unchanged) await this.markChanged();
    return saved;
  }

  private async saveLocked(
    definition: Definition,
    source: { text?: string; format: DefinitionFormat },
    change: RevisionChange,
    expectedRevision: number | undefined,
  ): Promise<SaveResult> {
    const definitionJson = JSON.stringify(definition);
    const head = await this.heads.findOne({ _id: definition.id });
    if (expectedRevision !== undefined) {
      const current = head && !head.deleted ? head.revision : 0;
      if (current !== expectedRevision) throw new RevisionConflictError(definition.id, expectedRevision, current);
    }
    if (head && !head.deleted && head.definitionJson === definitionJson) {
      // Same definition; a new revision only when the text changed too (say, its comments), so exports stay true.
      const current = await this.revisionsCollection.findOne(
        { _id: revisionId(definition.id, head.revision) },
        { projection: { sourceText: 1 } },
      );
      if (source.text === undefined || current?.sourceText === source.text) {
        // A save retried after a crash between its writes finds its head committed: it settles what was left.
        await this.settleBindings(head);
        return { id: definition.id, revision: head.revision, unchanged: true };
      }
    }
    // Revision numbers are claimed by inserting `<id>@<n>`; a revision left by a crash before its head moved makes
    // the insert fail and the next number is tried. Its bindings may have gained the definition early.
    const orphanKeys: string[] = [];
    let revision = (head?.revision ?? 0) + 1;
    for (; ; revision++) {
      try {
        await this.revisionsCollection.insertOne({
          _id: revisionId(definition.id, revision),
          definitionId: definition.id,
          revision,
          definitionJson,
          ...(source.text === undefined ? {} : { sourceText: source.text }),
          sourceFormat: source.format,
          createdAt: new Date(),
          ...(change.author === undefined ? {} : { author: change.author }),
          ...(change.message === undefined ? {} : { message: change.message }),
        });
        break;
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
        orphanKeys.push(...(await this.revisionBindingKeys(definition.id, revision)));
      }
    }
    const keys = bindingKeys(definition);
    const previous = head && !head.deleted ? headBindingKeys(head) : new Set<string>();
    const dropping = [...previous].filter((key) => !keys.has(key));
    // Bindings the current head does not have (left by a crash, or by a delete) can go at once: lookups ignore them.
    const leftovers = new Set([
      ...(head?.unbinding ?? []),
      ...orphanKeys,
      ...(head?.deleted ? head.bindings.map(keyOf) : []),
    ]);
    for (const key of leftovers)
      if (!keys.has(key) && !previous.has(key)) await this.updateBinding(key, definition.id, { kind: 'remove' });
    // From here until the head is written and the snapshots are back, lookups of these bindings read the head.
    for (const key of [...keys, ...dropping]) await this.updateBinding(key, definition.id, { kind: 'unsettle' });
    await this.heads.replaceOne({ _id: definition.id }, headDocument(definition, revision, definitionJson, dropping), {
      upsert: true,
    });
    const snapshot = { id: definition.id, revision, definitionJson };
    for (const key of keys) await this.updateBinding(key, definition.id, { kind: 'settle', snapshot });
    for (const key of dropping) await this.updateBinding(key, definition.id, { kind: 'remove' });
    return { id: definition.id, revision, unchanged: false };
  }

  /** The binding keys of a stored revision (one orphaned by a crash): where its save may have bound it early. */
  private async revisionBindingKeys(id: string, revision: number): Promise<string[]> {
    const orphan = await this.revisionsCollection.findOne(
      { _id: revisionId(id, revision) },
      { projection: { definitionJson: 1 } },
    );
    return orphan ? [...bindingKeys(JSON.parse(orphan.definitionJson) as Definition)] : [];
  }

  /**
   * Makes the bindings of a committed head what its save or delete would have left: each binding it has holds its
   * snapshot, and none of those it left (all of them, once deleted) lists it. One read per binding when they are
   * (the usual case); a write where not.
   */
  private async settleBindings(head: HeadDocument): Promise<void> {
    const snapshot = { id: head._id, revision: head.revision, definitionJson: head.definitionJson };
    const kept = head.deleted ? [] : [...headBindingKeys(head)];
    const changes: [string, BindingChange][] = [
      ...kept.map((key): [string, BindingChange] => [key, { kind: 'settle', snapshot }]),
      ...(head.unbinding ?? []).map((key): [string, BindingChange] => [key, { kind: 'remove' }]),
    ];
    for (const [key, change] of changes) {
      const current = await this.bindings.findOne({ _id: key });
      if (changedBinding(current, head._id, change)) await this.updateBinding(key, head._id, change);
    }
  }

  /** The current revision, or the given one. Null when the id (or revision) never existed. */
  async get(id: string, revision?: number): Promise<StoredDefinition | null> {
    await this.mongo.connected();
    if (revision === undefined) {
      const head = await this.heads.findOne({ _id: id });
      if (!head) return null;
      if (head.deleted) throw new DefinitionDeletedError(id, head.revision);
      revision = head.revision;
    }
    const doc = await this.revisionsCollection.findOne({ _id: revisionId(id, revision) });
    return doc ? toStored(doc) : null;
  }

  /** Revisions of a definition up to its current one, newest first. */
  async revisions(id: string): Promise<RevisionSummary[]> {
    await this.mongo.connected();
    const head = await this.heads.findOne({ _id: id }, { projection: { revision: 1, deleted: 1 } });
    if (!head) return [];
    const numbers = Array.from({ length: head.revision }, (_, index) => head.revision - index);
    const docs = await Promise.all(
      numbers.map((n) =>
        this.revisionsCollection.findOne(
          { _id: revisionId(id, n) },
          { projection: { revision: 1, createdAt: 1, author: 1, message: 1 } },
        ),
      ),
    );
    return docs
      .filter((doc): doc is RevisionDocument => doc !== null)
      .map((doc) => ({
        revision: doc.revision,
        createdAt: doc.createdAt,
        current: !head.deleted && head.revision === doc.revision,
        author: doc.author ?? null,
        message: doc.message ?? null,
      }));
  }

  /** Definitions that are not deleted, ordered by id, `limit` at a time after `after`. */
  async list(options: { after?: string; limit: number }): Promise<DefinitionSummary[]> {
    await this.mongo.connected();
    const filter = options.after === undefined ? { deleted: false } : { deleted: false, _id: { $gt: options.after } };
    const docs = await this.heads
      .find(filter, { projection: { definitionJson: 0 } })
      .sort({ _id: 1 })
      .limit(options.limit)
      .toArray();
    return Promise.all(docs.map((doc) => this.summaryOf(doc)));
  }

  private async summaryOf(doc: Omit<HeadDocument, 'definitionJson'>): Promise<DefinitionSummary> {
    return {
      id: doc._id,
      name: doc.name,
      ...(doc.description === undefined ? {} : { description: doc.description }),
      enabled: doc.enabled,
      revision: doc.revision,
      on: doc.bindingConditions ? doc.bindings : await this.bindingsOfOldHead(doc._id, doc.bindings),
      updatedAt: doc.updatedAt,
    };
  }

  /**
   * The bindings with their conditions for a head saved before heads stored them: read from the head's
   * `definitionJson` (the current revision), by `_id`. The head is rewritten with them on its next save.
   */
  private async bindingsOfOldHead(
    id: string,
    stored: HeadDocument['bindings'],
  ): Promise<{ source: string; type: string; if?: string }[]> {
    const head = await this.heads.findOne({ _id: id }, { projection: { definitionJson: 1 } });
    if (!head) return stored;
    return headBindings(JSON.parse(head.definitionJson) as Definition);
  }

  /**
   * Every definition that is not deleted, in no particular order: one read of the whole collection (FerretDB v1 scans
   * it for any filter anyway), for indexes built over all definitions such as `EventIndex`.
   */
  async summaries(): Promise<DefinitionSummary[]> {
    await this.mongo.connected();
    const docs = await this.heads.find({ deleted: false }, { projection: { definitionJson: 0 } }).toArray();
    return Promise.all(docs.map((doc) => this.summaryOf(doc)));
  }

  /**
   * A value that changes whenever a definition is saved (with a change) or deleted, in any process using this
   * database; null before the first change since the stamp was introduced. Cheap: one read by `_id`.
   */
  async changeStamp(): Promise<string | null> {
    await this.mongo.connected();
    return (await this.meta.findOne({ _id: DEFINITIONS_STAMP }))?.stamp ?? null;
  }

  /**
   * Moves the change stamp on, after a change is committed (so a reader that sees the new stamp sees the change).
   * Never fails the change it follows: two first upserts at once collide on the `_id` (the loser then finds the
   * document and replaces it), and any other failure is logged; readers rebuild within their maximum age anyway.
   */
  private async markChanged(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.meta.replaceOne(
          { _id: DEFINITIONS_STAMP },
          { stamp: randomUUID(), at: new Date() },
          { upsert: true },
        );
        return;
      } catch (error) {
        if (error instanceof MongoServerError && error.code === 11000 && attempt < 5) continue;
        this.warn(`could not record a change of the definitions (indexes may show it late): ${String(error)}`);
        return;
      }
    }
  }

  /** Marks a definition deleted: it stops matching events; its revisions stay for history and rollback. */
  async delete(id: string): Promise<{ revision: number } | null> {
    await this.mongo.connected();
    const deleted = await this.withLock(`definition:${id}`, async () => {
      const head = await this.heads.findOne({ _id: id });
      if (!head) return null;
      if (head.deleted) {
        // A delete retried after a crash between its writes: it takes the definition out of what is left.
        await this.settleBindings(head);
        return null;
      }
      // The same order as a save: unsettled before the commit, out of the bindings after it.
      const keys = headBindingKeys(head);
      for (const key of head.unbinding ?? []) if (!keys.has(key)) await this.updateBinding(key, id, { kind: 'remove' });
      for (const key of keys) await this.updateBinding(key, id, { kind: 'unsettle' });
      await this.heads.updateOne({ _id: id }, { $set: { deleted: true, updatedAt: new Date(), unbinding: [...keys] } });
      for (const key of keys) await this.updateBinding(key, id, { kind: 'remove' });
      return { revision: head.revision };
    });
    if (deleted) await this.markChanged();
    return deleted;
  }

  /**
   * Every definition bound to (source, type), enabled or not, with its current revision and action defaults: one
   * read of the binding document, plus one read of the head of each definition that is not settled there (see
   * {@link DefinitionStore}), all at once.
   */
  async findForEvent(source: string, type: string): Promise<DefinitionSnapshot[]> {
    await this.mongo.connected();
    const key = bindingKey(source, type);
    const binding = await this.bindings.findOne({ _id: key });
    if (!binding || binding.definitionIds.length === 0) return [];
    const { settled, unsettled } = boundDefinitions(binding);
    const fromHeads = await Promise.all(unsettled.map((id) => this.committedSnapshot(id, key)));
    const found = [...settled, ...fromHeads.filter((snapshot) => snapshot !== undefined)]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(({ revision, definitionJson }) => ({ revision, definition: JSON.parse(definitionJson) as Definition }));
    const published = await this.publishedFor(found.map(({ definition }) => definition));
    return found.map(({ revision, definition }) => {
      const actionQueues = this.queuesFor(definition, published);
      return {
        definition,
        revision,
        actionDefaults: this.defaultsFor(definition, published),
        ...(actionQueues ? { actionQueues } : {}),
      };
    });
  }

  /** What the head of an unsettled definition says: its revision, if it is not deleted and still bound to `key`. */
  private async committedSnapshot(id: string, key: string): Promise<BoundSnapshot | undefined> {
    const head = await this.heads.findOne({ _id: id });
    if (!head || head.deleted || !headBindingKeys(head).has(key)) return undefined;
    return { id, revision: head.revision, definitionJson: head.definitionJson };
  }

  /** The published defaults and queues of the actions these definitions use that this process does not hold. */
  private async publishedFor(definitions: readonly Definition[]): Promise<ReadonlyMap<string, PublishedActionInfo>> {
    if (!this.publishedActions) return new Map();
    const unknown = new Set<string>();
    for (const definition of definitions)
      for (const step of [...definition.steps, ...(definition.on_failure ?? [])])
        if (!isMetaAction(step.action) && !this.catalog.has(step.action)) unknown.add(step.action);
    return unknown.size === 0 ? new Map() : this.publishedActions.lookUp([...unknown]);
  }

  /** The task queue of every action the definition's steps use, meta-actions aside; none when none are known. */
  private queuesFor(
    definition: Definition,
    published: ReadonlyMap<string, PublishedActionInfo>,
  ): Record<string, string> | undefined {
    const known = this.actionQueues;
    if (!known && published.size === 0) return undefined;
    const queues: Record<string, string> = {};
    for (const step of [...definition.steps, ...(definition.on_failure ?? [])]) {
      const queue = isMetaAction(step.action)
        ? undefined
        : (known?.get(step.action) ?? published.get(step.action)?.taskQueue);
      if (queue !== undefined) queues[step.action] = queue;
    }
    return queues;
  }

  private defaultsFor(
    definition: Definition,
    published: ReadonlyMap<string, PublishedActionInfo>,
  ): Record<string, StepOptions> {
    const defaults: Record<string, StepOptions> = {};
    // The on_failure steps too: a cleanup step gets its action's timeout and retries like any step.
    for (const step of [...definition.steps, ...(definition.on_failure ?? [])]) {
      const options = this.catalog.get(step.action)?.defaults ?? published.get(step.action)?.defaults;
      if (options) defaults[step.action] = options;
    }
    return defaults;
  }

  /** Changes a definition's entry in a binding document, holding that binding's lock. */
  private async updateBinding(key: string, definitionId: string, change: BindingChange): Promise<void> {
    await this.withLock(`binding:${key}`, async () => {
      const next = changedBinding(await this.bindings.findOne({ _id: key }), definitionId, change);
      if (next) await this.bindings.replaceOne({ _id: key }, next, { upsert: true });
    });
  }

  /**
   * Runs `fn` holding a named lock, shared by every process that uses this database (see
   * {@link RegistryLock.withLock}); other stores borrow it to lock their own documents.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(name, fn);
  }
}

/** Tuning of a {@link DefinitionStore}; the defaults suit production. */
export interface DefinitionStoreOptions {
  /** How long a lock may be held before another process takes it over (default 30 s). */
  readonly lockStaleMs?: number;
  /** How long a write waits for a lock before failing with "the registry is busy" (default 20 s). */
  readonly lockWaitMs?: number;
  /** Where a holder that lost its lock says so (default `console.warn`). */
  readonly warn?: (message: string) => void;
  /**
   * The task queue of each action (`actionQueues` in `workers/action-packs.ts`), copied into every snapshot
   * `findForEvent` returns so runs schedule each step on its action's queue. Without it snapshots name no queue and
   * every step runs on the queue of the worker that runs the workflow (or its own `task_queue`).
   */
  readonly actionQueues?: ReadonlyMap<string, string>;
  /**
   * Where the defaults and task queue of an action this process does not hold (not in its catalog) come from: the
   * actions workers published to the registry (`ActionCatalog`), so a Flow worker need not load every routed pack.
   */
  readonly publishedActions?: PublishedActionLookup;
}

/** What a dispatcher needs of an action some worker published: its step defaults and the queue it runs on. */
export interface PublishedActionInfo {
  readonly defaults?: StepOptions;
  readonly taskQueue: string;
}

/** Finds actions that workers published to the registry; implemented by `ActionCatalog`. */
export interface PublishedActionLookup {
  /** The defaults and queue of each of `ids` that some worker published; ids nobody published are absent. */
  lookUp(ids: readonly string[]): Promise<ReadonlyMap<string, PublishedActionInfo>>;
}

/** The `_id` of the document whose `stamp` changes with every change of a definition. */
const DEFINITIONS_STAMP = 'definitions';

/** A registry-wide fact, by `_id`. */
interface MetaDocument {
  _id: string;
  stamp: string;
  at: Date;
}

function headDocument(
  definition: Definition,
  revision: number,
  definitionJson: string,
  unbinding: readonly string[],
): Omit<HeadDocument, '_id'> {
  return {
    revision,
    deleted: false,
    name: definition.name,
    enabled: definition.enabled,
    bindings: headBindings(definition),
    bindingConditions: true,
    definitionJson,
    updatedAt: new Date(),
    ...(definition.description === undefined ? {} : { description: definition.description }),
    ...(unbinding.length === 0 ? {} : { unbinding: [...unbinding] }),
  };
}

function headBindings(definition: Definition): HeadDocument['bindings'] {
  return definition.on.map((binding) => ({
    source: binding.source,
    type: binding.type,
    ...(binding.if === undefined ? {} : { if: binding.if }),
  }));
}

/** The binding keys of a definition: one binding document per distinct (source, type). */
function bindingKeys(definition: Definition): Set<string> {
  return new Set(definition.on.map(keyOf));
}

/** The binding keys a head binds (deleted or not). */
function headBindingKeys(head: HeadDocument): Set<string> {
  return new Set(head.bindings.map(keyOf));
}

function keyOf(binding: { source: string; type: string }): string {
  return bindingKey(binding.source, binding.type);
}

function toStored(doc: RevisionDocument): StoredDefinition {
  return {
    definition: JSON.parse(doc.definitionJson) as Definition,
    revision: doc.revision,
    createdAt: doc.createdAt,
    ...(doc.sourceText === undefined ? {} : { sourceText: doc.sourceText }),
    sourceFormat: doc.sourceFormat,
    author: doc.author ?? null,
    message: doc.message ?? null,
  };
}
