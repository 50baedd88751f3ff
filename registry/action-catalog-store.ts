import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { ActionDescription, AnyAction } from '../activities';
import type { StepOptions } from '../common/definition';
import { DefinitionStore, type PublishedActionInfo, type PublishedActionLookup } from './definitions-store';
import { actionFromDescription, compileJsonSchema, InvalidJsonSchemaError } from './json-schema-input';
import type { MongoHandle } from './mongo';

/**
 * One action as a worker published it: its description (generated from the declaration, as `GET /api/actions` shows
 * built-in actions) plus the pack it belongs to, the pack's version and the task queue the pack declares.
 */
export interface PublishedAction extends ActionDescription {
  readonly pack: string;
  readonly packVersion: string;
  /** The pack's `taskQueue`; absent when it names none and its actions run on the queue Flow's workflows run on. */
  readonly taskQueue?: string;
}

/** What a worker publishes for one pack at start: the pack and every action's description. */
export interface PackPublication {
  readonly name: string;
  readonly version: string;
  readonly taskQueue?: string;
  readonly actions: readonly ActionDescription[];
}

/** What a publication changed. */
export interface PublishResult {
  /** False when the registry already held exactly this pack: nothing was written. */
  readonly changed: boolean;
  /** The version it replaced, when the registry held another version of the pack. */
  readonly replacedVersion?: string;
  /** Ids the registry held for this pack that the publication no longer has; they were removed. */
  readonly removed: readonly string[];
}

/** A publication the registry refuses; starting the worker again will not help, changing the pack will. */
export class ActionPublicationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ActionPublicationError';
  }
}

/** A pack publishing an action id that the registry holds for another pack. */
export class ActionCatalogConflictError extends ActionPublicationError {
  constructor(
    readonly id: string,
    readonly pack: { readonly name: string; readonly version: string },
    readonly owner: { readonly name: string; readonly version: string },
  ) {
    super(
      `pack "${pack.name}" ${pack.version} cannot publish the action "${id}": the registry holds "${id}" for another ` +
        `pack, "${owner.name}" ${owner.version}, with its own schema. An action id belongs to one pack; rename the ` +
        `action in one of the packs`,
    );
    this.name = 'ActionCatalogConflictError';
  }
}

/** One published action, by `_id` = the action id. */
interface ActionDocument {
  _id: string;
  pack: string;
  packVersion: string;
  /**
   * The {@link PublishedAction} as JSON text: JSON Schemas hold keys FerretDB v1 refuses (`$schema`, `$ref`), and an
   * identical publication is then an identical string.
   */
  descriptorJson: string;
  publishedAt: Date;
}

/** One published pack, by `_id` = the pack's name. */
interface PackDocument {
  _id: string;
  version: string;
  actionIds: string[];
  publishedAt: Date;
}

/** A registry-wide fact, by `_id`; the same collection the definition store keeps its change stamp in. */
interface MetaDocument {
  _id: string;
  stamp: string;
  at: Date;
}

/** The `_id` of the document whose `stamp` changes with every change of the action catalog. */
const CATALOG_STAMP = 'action-catalog';

/**
 * The action catalog in MongoDB: every action the workers' packs define, as each worker published it at start, so the
 * gateway validates definitions and lists actions without any team's code, and a dispatcher finds the defaults and
 * queue of an action its worker did not load. An action id belongs to the pack that first published it: another pack
 * publishing it is refused ({@link ActionCatalogConflictError}); the same pack publishing again (a new version, or
 * the same one changed) replaces its actions and removes the ones it dropped.
 *
 * Without transactions (FerretDB v1 has none), a publication holds the registry lock `action-catalog` and writes the
 * actions first, then the pack, then removes dropped ids, then moves the change stamp on: a publication cut short is
 * finished by the worker's next start, and readers see a whole publication once the stamp moves. Workers of one
 * pack at two versions (a rolling deploy) each publish theirs; the last to start wins until the others restart.
 */
export class ActionCatalogStore {
  private readonly actions: Collection<ActionDocument>;
  private readonly packs: Collection<PackDocument>;
  private readonly meta: Collection<MetaDocument>;
  /** Lends its registry lock (see `DefinitionStore.withLock`); it holds no action. */
  private readonly locks: DefinitionStore;

  /** Creates the store; nothing touches the database until the first call. */
  constructor(
    private readonly mongo: MongoHandle,
    options: { readonly lockStaleMs?: number; readonly lockWaitMs?: number } = {},
  ) {
    this.actions = mongo.db.collection<ActionDocument>('action_catalog');
    this.packs = mongo.db.collection<PackDocument>('action_packs');
    this.meta = mongo.db.collection<MetaDocument>('registry_meta');
    this.locks = new DefinitionStore(mongo, new Map(), options);
  }

  /**
   * Publishes one pack's actions. Throws {@link ActionCatalogConflictError} when one of its ids belongs to another
   * pack, and {@link ActionPublicationError} when an input schema is not a usable JSON Schema; any other error (the
   * database is down, the registry is busy) may be retried.
   */
  async publish(publication: PackPublication): Promise<PublishResult> {
    const descriptors = publication.actions.map((action) => publishedAction(publication, action));
    for (const descriptor of descriptors) {
      try {
        compileJsonSchema(descriptor.input);
      } catch (error) {
        if (!(error instanceof InvalidJsonSchemaError)) throw error;
        throw new ActionPublicationError(
          `pack "${publication.name}" ${publication.version} cannot publish "${descriptor.id}": its input schema ${error.message}`,
          { cause: error },
        );
      }
    }
    await this.mongo.connected();
    const result = await this.locks.withLock('action-catalog', async () => {
      const existing = await Promise.all(descriptors.map(({ id }) => this.actions.findOne({ _id: id })));
      existing.forEach((document, index) => {
        const id = descriptors[index]!.id;
        if (document && document.pack !== publication.name)
          throw new ActionCatalogConflictError(id, publication, { name: document.pack, version: document.packVersion });
      });
      const pack = await this.packs.findOne({ _id: publication.name });
      const ids = descriptors.map(({ id }) => id);
      const removed = (pack?.actionIds ?? []).filter((id) => !ids.includes(id));
      const texts = descriptors.map((descriptor) => JSON.stringify(descriptor));
      const same =
        pack?.version === publication.version &&
        removed.length === 0 &&
        existing.every((document, index) => document?.descriptorJson === texts[index]);
      if (same) return { changed: false, removed: [] };
      const publishedAt = new Date();
      for (const [index, descriptor] of descriptors.entries()) {
        if (existing[index]?.descriptorJson === texts[index]) continue;
        await this.actions.replaceOne(
          { _id: descriptor.id },
          { pack: publication.name, packVersion: publication.version, descriptorJson: texts[index]!, publishedAt },
          { upsert: true },
        );
      }
      await this.packs.replaceOne(
        { _id: publication.name },
        { version: publication.version, actionIds: ids, publishedAt },
        { upsert: true },
      );
      // Only while it is still this pack's: nothing else can have taken it, but a delete by `_id` alone would not say so.
      for (const id of removed) await this.actions.deleteOne({ _id: id, pack: publication.name });
      // Inside the lock, so two first publications never race to insert the stamp.
      await this.meta.replaceOne({ _id: CATALOG_STAMP }, { stamp: randomUUID(), at: new Date() }, { upsert: true });
      return {
        changed: true,
        ...(pack && pack.version !== publication.version ? { replacedVersion: pack.version } : {}),
        removed,
      };
    });
    return result;
  }

  /** Every published action, ordered by id: one read of the whole (small) collection. */
  async list(): Promise<PublishedAction[]> {
    await this.mongo.connected();
    const documents = await this.actions.find({}).toArray();
    return documents
      .map((document) => JSON.parse(document.descriptorJson) as PublishedAction)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * A value that changes whenever a publication changes the catalog, in any process using this database; null before
   * the first. Cheap: one read by `_id`.
   */
  async changeStamp(): Promise<string | null> {
    await this.mongo.connected();
    return (await this.meta.findOne({ _id: CATALOG_STAMP }))?.stamp ?? null;
  }
}

function publishedAction(publication: PackPublication, action: ActionDescription): PublishedAction {
  return {
    ...action,
    pack: publication.name,
    packVersion: publication.version,
    ...(publication.taskQueue === undefined ? {} : { taskQueue: publication.taskQueue }),
  };
}

/** How an {@link ActionCatalog} reads the registry. */
export interface ActionCatalogOptions {
  /**
   * The queue Flow's workflows run on (`FLOW_TASK_QUEUE` of the Flow workers): where the actions of a pack that names
   * no `taskQueue` run.
   */
  readonly taskQueue: string;
  /** How long a reading of the registry is trusted before the change stamp is read again (default 5 s). */
  readonly maxAgeMs?: number;
}

/**
 * The actions a process knows: its own (`local`: the built-in actions, and the packs a worker loaded), then every
 * action the workers published to the registry that it does not hold itself. A published action is an
 * {@link AnyAction} without `run`, whose `input` validates with Ajv against the published JSON Schema
 * ({@link actionFromDescription}), so definition validation, action defaults and `GET /api/actions` treat it like a local
 * one. The view is read again by {@link refresh}: the change stamp at most every `maxAgeMs`, the actions only when
 * it moved. It is also the {@link PublishedActionLookup} a worker's registry asks for the defaults and queue of an
 * action its worker did not load.
 */
export class ActionCatalog implements ReadonlyMap<string, AnyAction>, PublishedActionLookup {
  private merged: ReadonlyMap<string, AnyAction>;
  private published: ReadonlyMap<string, PublishedAction> = new Map();
  private stamp: string | null | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly maxAgeMs: number;

  constructor(
    private readonly local: ReadonlyMap<string, AnyAction>,
    private readonly store: ActionCatalogStore,
    private readonly options: ActionCatalogOptions,
  ) {
    this.merged = local;
    this.maxAgeMs = options.maxAgeMs ?? 5_000;
  }

  /**
   * Reads the registry again when the last reading is older than `maxAgeMs`, or always with `force` (before a
   * definition is saved, or when a dispatcher meets an action it does not know). Concurrent calls share one reading;
   * one that fails rejects, and the catalog keeps what it held.
   */
  async refresh(options: { readonly force?: boolean } = {}): Promise<void> {
    if (!options.force && Date.now() - this.checkedAt < this.maxAgeMs) return;
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(): Promise<void> {
    const stamp = await this.store.changeStamp();
    if (stamp !== this.stamp) {
      const actions = await this.store.list();
      this.published = new Map(actions.filter(({ id }) => !this.local.has(id)).map((action) => [action.id, action]));
      const merged = new Map(this.local);
      for (const action of this.published.values()) merged.set(action.id, actionFromDescription(action));
      this.merged = merged;
      this.stamp = stamp;
    }
    this.checkedAt = Date.now();
  }

  /** The actions this process holds itself (`local`). */
  localActions(): IterableIterator<AnyAction> {
    return this.local.values();
  }

  /** The published actions this process does not hold itself, ordered by id, with the queue each runs on. */
  publishedActions(): (PublishedAction & { readonly taskQueue: string })[] {
    return [...this.published.values()].map((action) => ({
      ...action,
      taskQueue: action.taskQueue ?? this.options.taskQueue,
    }));
  }

  /** {@link PublishedActionLookup}: reads the registry again first when one of `ids` is not known (yet). */
  async lookUp(ids: readonly string[]): Promise<ReadonlyMap<string, PublishedActionInfo>> {
    await this.refresh({ force: ids.some((id) => !this.merged.has(id)) });
    const found = new Map<string, PublishedActionInfo>();
    for (const id of ids) {
      const action = this.published.get(id);
      if (!action) continue;
      found.set(id, {
        taskQueue: action.taskQueue ?? this.options.taskQueue,
        ...(action.defaults === undefined ? {} : { defaults: action.defaults as StepOptions }),
      });
    }
    return found;
  }

  get size(): number {
    return this.merged.size;
  }
  get(id: string): AnyAction | undefined {
    return this.merged.get(id);
  }
  has(id: string): boolean {
    return this.merged.has(id);
  }
  forEach(callback: (value: AnyAction, key: string, map: ReadonlyMap<string, AnyAction>) => void): void {
    this.merged.forEach((value, key) => callback(value, key, this));
  }
  entries(): MapIterator<[string, AnyAction]> {
    return this.merged.entries();
  }
  keys(): MapIterator<string> {
    return this.merged.keys();
  }
  values(): MapIterator<AnyAction> {
    return this.merged.values();
  }
  [Symbol.iterator](): MapIterator<[string, AnyAction]> {
    return this.merged[Symbol.iterator]();
  }
}
