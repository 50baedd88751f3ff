import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { AnyAction } from '../activities';
import type { Definition, StepOptions } from '../common/definition';
import type { DefinitionSnapshot } from '../common/run-types';
import type { DefinitionFormat } from './definition-format';

/** The current state of a definition: one document per id. */
interface HeadDocument {
  _id: string;
  revision: number;
  deleted: boolean;
  name: string;
  description?: string;
  enabled: boolean;
  bindings: { source: string; type: string }[];
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
}

/** One (source, type) → definition edge; a scalar key keeps the lookup an indexed equality match on any backend. */
interface BindingDocument {
  _id: string;
  key: string;
  definitionId: string;
}

/** A definition as the API returns it. */
export interface StoredDefinition {
  readonly definition: Definition;
  readonly revision: number;
  readonly createdAt: Date;
  readonly sourceText?: string;
  readonly sourceFormat: DefinitionFormat;
}

/** A line of the definition list. */
export interface DefinitionSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly revision: number;
  readonly on: readonly { source: string; type: string }[];
  readonly updatedAt: Date;
}

/** The result of a save. */
export interface SaveResult {
  readonly id: string;
  readonly revision: number;
  /** True when the definition equals the current revision; nothing new was stored. */
  readonly unchanged: boolean;
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

/**
 * The registry of definitions in MongoDB. Works without transactions (FerretDB v1 has none) by ordering writes so
 * that a crash at any point leaves a consistent registry: the immutable revision first, then new binding edges, then
 * the head (the commit point), then stale edges are removed. Lookups trust only the head, so a stale or early edge
 * is harmless.
 */
export class DefinitionStore {
  private readonly heads: Collection<HeadDocument>;
  private readonly revisionsCollection: Collection<RevisionDocument>;
  private readonly bindings: Collection<BindingDocument>;
  private indexes: Promise<void> | undefined;

  /** Creates the store; nothing touches the database until the first call, so a process can start while it is down. */
  constructor(
    db: Db,
    private readonly catalog: ReadonlyMap<string, AnyAction>,
  ) {
    this.heads = db.collection<HeadDocument>('definitions');
    this.revisionsCollection = db.collection<RevisionDocument>('definition_revisions');
    this.bindings = db.collection<BindingDocument>('definition_bindings');
  }

  /** Creates the indexes once per process; a failure (database down) is retried by the next call. */
  private ensureIndexes(): Promise<void> {
    this.indexes ??= Promise.all([
      this.revisionsCollection.createIndex(
        { definitionId: 1, revision: 1 },
        { unique: true, name: 'definition_revision' },
      ),
      this.bindings.createIndex({ key: 1 }, { name: 'binding_key' }),
      this.bindings.createIndex({ definitionId: 1 }, { name: 'binding_definition' }),
    ]).then(
      () => undefined,
      (error: unknown) => {
        this.indexes = undefined;
        throw error;
      },
    );
    return this.indexes;
  }

  /** Stores a validated definition as a new revision, unless it equals the current one. */
  async save(definition: Definition, source: { text?: string; format: DefinitionFormat }): Promise<SaveResult> {
    await this.ensureIndexes();
    const definitionJson = JSON.stringify(definition);
    for (let attempt = 0; ; attempt++) {
      const head = await this.heads.findOne({ _id: definition.id });
      if (head && !head.deleted && head.definitionJson === definitionJson) {
        // Same definition; a new revision only when the text changed too (say, its comments), so exports stay true.
        const current = await this.revisionsCollection.findOne(
          { _id: `${definition.id}@${head.revision}` },
          { projection: { sourceText: 1 } },
        );
        if (source.text === undefined || current?.sourceText === source.text)
          return { id: definition.id, revision: head.revision, unchanged: true };
      }
      const latest = await this.revisionsCollection
        .find({ definitionId: definition.id })
        .sort({ revision: -1 })
        .limit(1)
        .next();
      const revision = Math.max(latest?.revision ?? 0, head?.revision ?? 0) + 1;
      try {
        await this.revisionsCollection.insertOne({
          _id: `${definition.id}@${revision}`,
          definitionId: definition.id,
          revision,
          definitionJson,
          ...(source.text === undefined ? {} : { sourceText: source.text }),
          sourceFormat: source.format,
          createdAt: new Date(),
        });
      } catch (error) {
        // Another save took this revision number first; read again and take the next one.
        if (error instanceof MongoServerError && error.code === 11000 && attempt < 10) continue;
        throw error;
      }
      const keys = new Set(definition.on.map((binding) => bindingKey(binding.source, binding.type)));
      await this.writeBindings(definition.id, keys);
      await this.commitHead(definition, revision, definitionJson);
      await this.bindings.deleteMany({ definitionId: definition.id, key: { $nin: [...keys] } });
      return { id: definition.id, revision, unchanged: false };
    }
  }

  /** The current revision, or the given one. Null when the id (or revision) never existed. */
  async get(id: string, revision?: number): Promise<StoredDefinition | null> {
    await this.ensureIndexes();
    if (revision === undefined) {
      const head = await this.heads.findOne({ _id: id });
      if (!head) return null;
      if (head.deleted) throw new DefinitionDeletedError(id, head.revision);
      revision = head.revision;
    }
    const doc = await this.revisionsCollection.findOne({ _id: `${id}@${revision}` });
    return doc ? toStored(doc) : null;
  }

  /** Revisions of a definition, newest first. */
  async revisions(id: string): Promise<{ revision: number; createdAt: Date; current: boolean }[]> {
    await this.ensureIndexes();
    const head = await this.heads.findOne({ _id: id }, { projection: { revision: 1, deleted: 1 } });
    const docs = await this.revisionsCollection
      .find({ definitionId: id }, { projection: { revision: 1, createdAt: 1 } })
      .sort({ revision: -1 })
      .toArray();
    return docs.map((doc) => ({
      revision: doc.revision,
      createdAt: doc.createdAt,
      current: !!head && !head.deleted && head.revision === doc.revision,
    }));
  }

  /** Definitions that are not deleted, ordered by id, `limit` at a time after `after`. */
  async list(options: { after?: string; limit: number }): Promise<DefinitionSummary[]> {
    await this.ensureIndexes();
    const filter = options.after === undefined ? { deleted: false } : { deleted: false, _id: { $gt: options.after } };
    const docs = await this.heads
      .find(filter, { projection: { definitionJson: 0 } })
      .sort({ _id: 1 })
      .limit(options.limit)
      .toArray();
    return docs.map((doc) => ({
      id: doc._id,
      name: doc.name,
      ...(doc.description === undefined ? {} : { description: doc.description }),
      enabled: doc.enabled,
      revision: doc.revision,
      on: doc.bindings,
      updatedAt: doc.updatedAt,
    }));
  }

  /** Marks a definition deleted: it stops matching events; its revisions stay for history and rollback. */
  async delete(id: string): Promise<{ revision: number } | null> {
    await this.ensureIndexes();
    const head = await this.heads.findOneAndUpdate(
      { _id: id, deleted: false },
      { $set: { deleted: true, updatedAt: new Date() } },
    );
    if (!head) return null;
    await this.bindings.deleteMany({ definitionId: id });
    return { revision: head.revision };
  }

  /** Every definition bound to (source, type), enabled or not, with its current revision and action defaults. */
  async findForEvent(source: string, type: string): Promise<DefinitionSnapshot[]> {
    await this.ensureIndexes();
    const key = bindingKey(source, type);
    const edges = await this.bindings.find({ key }, { projection: { definitionId: 1 } }).toArray();
    if (edges.length === 0) return [];
    const heads = await this.heads
      .find({ _id: { $in: edges.map((edge) => edge.definitionId) }, deleted: false })
      .toArray();
    return heads
      .filter((head) => head.bindings.some((binding) => bindingKey(binding.source, binding.type) === key))
      .sort((a, b) => (a._id < b._id ? -1 : 1))
      .map((head) => {
        const definition = JSON.parse(head.definitionJson) as Definition;
        return { definition, revision: head.revision, actionDefaults: this.defaultsFor(definition) };
      });
  }

  private defaultsFor(definition: Definition): Record<string, StepOptions> {
    const defaults: Record<string, StepOptions> = {};
    for (const step of definition.steps) {
      const options = this.catalog.get(step.action)?.defaults;
      if (options) defaults[step.action] = options;
    }
    return defaults;
  }

  private async writeBindings(definitionId: string, keys: Set<string>): Promise<void> {
    await Promise.all(
      [...keys].map((key) =>
        this.bindings.updateOne({ _id: `${key}#${definitionId}` }, { $set: { key, definitionId } }, { upsert: true }),
      ),
    );
  }

  /** Moves the head to `revision` unless a concurrent save already moved it further. */
  private async commitHead(definition: Definition, revision: number, definitionJson: string): Promise<void> {
    const fields = {
      revision,
      deleted: false,
      name: definition.name,
      enabled: definition.enabled,
      bindings: definition.on.map((binding) => ({ source: binding.source, type: binding.type })),
      definitionJson,
      updatedAt: new Date(),
      ...(definition.description === undefined ? {} : { description: definition.description }),
    };
    const updated = await this.heads.updateOne({ _id: definition.id, revision: { $lt: revision } }, { $set: fields });
    if (updated.matchedCount > 0) return;
    try {
      await this.heads.insertOne({ _id: definition.id, ...fields });
    } catch (error) {
      // The head exists with a newer revision: a concurrent save won, which is fine.
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
  }
}

function toStored(doc: RevisionDocument): StoredDefinition {
  return {
    definition: JSON.parse(doc.definitionJson) as Definition,
    revision: doc.revision,
    createdAt: doc.createdAt,
    ...(doc.sourceText === undefined ? {} : { sourceText: doc.sourceText }),
    sourceFormat: doc.sourceFormat,
  };
}
