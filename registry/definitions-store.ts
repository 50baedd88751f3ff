import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection } from 'mongodb';
import type { AnyAction } from '../activities';
import type { Definition, StepOptions } from '../common/definition';
import { isMetaAction } from '../common/meta-actions';
import type { DefinitionSnapshot } from '../common/run-types';
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

/**
 * The definitions bound to one (source, type), keyed by `_id = "source/type"`. Every read and write of the store is
 * by `_id`: FerretDB v1 on SQLite pushes down only `_id` equality and scans the collection for any other filter,
 * indexed or not, which would make a lookup among 10,000 definitions take seconds.
 */
interface BindingDocument {
  _id: string;
  definitionIds: string[];
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
 * that a crash at any point leaves a consistent registry: the immutable revision first, then the new bindings, then
 * the head (the commit point), then bindings the definition no longer has are removed. Lookups trust only the head,
 * so an early or stale binding is harmless.
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
        return { id: definition.id, revision: head.revision, unchanged: true };
      }
    }
    // Revision numbers are claimed by inserting `<id>@<n>`; a revision left by a crash before its head moved makes
    // the insert fail and the next number is tried.
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
      }
    }
    const keys = new Set(definition.on.map((binding) => bindingKey(binding.source, binding.type)));
    for (const key of keys) await this.updateBinding(key, definition.id, 'add');
    await this.heads.replaceOne({ _id: definition.id }, headDocument(definition, revision, definitionJson), {
      upsert: true,
    });
    const previous = new Set(head?.bindings.map((binding) => bindingKey(binding.source, binding.type)) ?? []);
    for (const key of previous) if (!keys.has(key)) await this.updateBinding(key, definition.id, 'remove');
    return { id: definition.id, revision, unchanged: false };
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
      if (!head || head.deleted) return null;
      await this.heads.updateOne({ _id: id }, { $set: { deleted: true, updatedAt: new Date() } });
      for (const binding of head.bindings)
        await this.updateBinding(bindingKey(binding.source, binding.type), id, 'remove');
      return { revision: head.revision };
    });
    if (deleted) await this.markChanged();
    return deleted;
  }

  /** Every definition bound to (source, type), enabled or not, with its current revision and action defaults. */
  async findForEvent(source: string, type: string): Promise<DefinitionSnapshot[]> {
    await this.mongo.connected();
    const key = bindingKey(source, type);
    const binding = await this.bindings.findOne({ _id: key });
    if (!binding || binding.definitionIds.length === 0) return [];
    const heads = await Promise.all(binding.definitionIds.map((id) => this.heads.findOne({ _id: id })));
    const found = heads
      .filter((head): head is HeadDocument => head !== null && !head.deleted)
      .filter((head) => head.bindings.some((b) => bindingKey(b.source, b.type) === key))
      .sort((a, b) => (a._id < b._id ? -1 : 1))
      .map((head) => ({ head, definition: JSON.parse(head.definitionJson) as Definition }));
    const published = await this.publishedFor(found.map(({ definition }) => definition));
    return found.map(({ head, definition }) => {
      const actionQueues = this.queuesFor(definition, published);
      return {
        definition,
        revision: head.revision,
        actionDefaults: this.defaultsFor(definition, published),
        ...(actionQueues ? { actionQueues } : {}),
      };
    });
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

  /** Adds or removes a definition in a binding document, holding that binding's lock. */
  private async updateBinding(key: string, definitionId: string, change: 'add' | 'remove'): Promise<void> {
    await this.withLock(`binding:${key}`, async () => {
      const current = (await this.bindings.findOne({ _id: key }))?.definitionIds ?? [];
      const next =
        change === 'add' ? [...new Set([...current, definitionId])] : current.filter((id) => id !== definitionId);
      if (next.length === current.length && next.every((id, index) => id === current[index])) return;
      await this.bindings.replaceOne({ _id: key }, { definitionIds: next }, { upsert: true });
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

function headDocument(definition: Definition, revision: number, definitionJson: string): Omit<HeadDocument, '_id'> {
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
  };
}

function headBindings(definition: Definition): HeadDocument['bindings'] {
  return definition.on.map((binding) => ({
    source: binding.source,
    type: binding.type,
    ...(binding.if === undefined ? {} : { if: binding.if }),
  }));
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
