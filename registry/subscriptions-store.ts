import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import {
  DEFAULT_RATE_PER_MINUTE,
  isOutcomeTrigger,
  subscriptionKeys,
  type Subscription,
  type SubscriptionSnapshot,
} from '../common/subscriptions';
import type { MongoHandle } from './mongo';
import { RegistryLock, type RegistryLockOptions } from './registry-lock';

/**
 * One subscription, `_id` its id. A deleted subscription stays as a tombstone (`deleted: true`) so that its revision
 * keeps counting when the id is used again: a signed link names a revision, and must not act on a new subscription
 * that happens to reuse the id.
 */
interface SubscriptionDocument {
  _id: string;
  revision: number;
  deleted: boolean;
  owner: string;
  on: Subscription['on'];
  deliver: Subscription['deliver'];
  message?: string;
  muted_until?: string | null;
  rate_per_minute?: number;
  /** The binding keys (`source/type`) of `on` when it was saved: the keys to take it out of when it changes. */
  keys: string[];
  createdAt: Date;
  updatedAt: Date;
  /** Who made the last change: an actor's name, or what acted (a link). */
  author: string;
  /**
   * Random, set when the subscription is created (again, after a delete) and kept by every later change: a signed
   * link names it, so it cannot act on another subscription that reuses the id. Absent on documents written before it
   * existed; {@link generationOf} then derives one from `createdAt`.
   */
  generation?: string;
}

/**
 * An index document read by `_id` only: the subscription ids bound to one key (`subscription_bindings`, `_id` =
 * `source/type`) or owned by one owner (`subscription_owners`, `_id` = the owner's name).
 */
interface IndexDocument {
  _id: string;
  ids: string[];
}

/** A subscription as stored, with what the store keeps about it. */
export interface StoredSubscription {
  readonly subscription: Subscription;
  /** Moves on with each change: a save that changes something, a mute. */
  readonly revision: number;
  /** When the subscription was first saved (under this id, since it was last deleted). */
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Who made the last change. */
  readonly author: string;
  /** Set when the subscription is created (again, after a delete), kept by every change: what a signed link names. */
  readonly generation: string;
}

/** What {@link SubscriptionStore.save} did. */
export interface SubscriptionSaveResult {
  readonly subscription: StoredSubscription;
  /** True when no subscription had this id (or it had been deleted). */
  readonly created: boolean;
  /** True when the subscription was already exactly this: nothing was written, the author and revision stay. */
  readonly unchanged: boolean;
}

/**
 * The answer of a write that names the revision it acts on (the one-click links): `done`, or refused because the
 * subscription is gone (`missing`) or has moved on to another revision (`moved`, with the current one).
 */
export type RevisionGuardedResult =
  | { readonly status: 'done'; readonly subscription: StoredSubscription }
  | { readonly status: 'missing' }
  | { readonly status: 'moved'; readonly revision: number };

/**
 * The one use of a signed link (`subscription_link_uses`, `_id` the link's use id): recorded before the link acts,
 * so a link acts once; `outcome` says what it did, once it has.
 */
export interface SubscriptionLinkUse {
  readonly _id: string;
  readonly action: 'unsubscribe' | 'mute';
  readonly subscription: string;
  /** The notification the link came with, `<subscription>/<event id>`. */
  readonly delivery: string;
  readonly usedAt: Date;
  /** Set once the link has acted: what it did (`unsubscribed`, `muted`, `gone`) and, for a mute, until when. */
  readonly outcome?: { readonly done: 'unsubscribed' | 'muted' | 'gone'; readonly mutedUntil?: string };
}

/** A save that named the revision it replaces found another one current (0: none exists). */
export class SubscriptionConflictError extends Error {
  constructor(
    readonly id: string,
    readonly expected: number,
    readonly current: number,
  ) {
    super(
      current === 0
        ? `subscription ${id} does not exist, but the save expected revision ${expected}`
        : `subscription ${id} is at revision ${current}, but the save expected revision ${expected}`,
    );
    this.name = 'SubscriptionConflictError';
  }
}

/** A change restricted to one owner's subscriptions (`ownedBy`) met a subscription that belongs to someone else. */
export class SubscriptionOwnerError extends Error {
  constructor(
    readonly id: string,
    /** The subscription's owner. */
    readonly owner: string,
    /** Who tried. */
    readonly actor: string,
  ) {
    super(`subscription ${id} belongs to ${owner}, not ${actor}`);
    this.name = 'SubscriptionOwnerError';
  }
}

/** Options of {@link SubscriptionStore.save} and {@link SubscriptionStore.delete}. */
export interface SubscriptionWriteOptions {
  /**
   * Act only if the subscription does not exist or belongs to this owner; otherwise throw
   * {@link SubscriptionOwnerError}. Checked under the subscription's lock, so a concurrent creation cannot slip by.
   */
  readonly ownedBy?: string;
  /**
   * Save only while this revision is current (0: only while the subscription does not exist); otherwise throw
   * {@link SubscriptionConflictError}.
   */
  readonly expectedRevision?: number;
}

const subscriptionLock = (id: string): string => `subscription:${id}`;
const bindingKey = (key: { source: string; type: string }): string => `${key.source}/${key.type}`;

/**
 * Subscriptions (docs/subscriptions.md) in the registry: one document per id in `subscriptions`, found by event the
 * way definitions are, through `subscription_bindings` documents keyed `source/type` (the keys of
 * `subscriptionKeys`), and listed by owner through `subscription_owners` documents keyed by the owner's name. Every
 * read and write is by `_id`, the one filter FerretDB v1 pushes down, except the unfiltered list (a scan in `_id`
 * order, as `GroupStore.list`).
 *
 * Without transactions (FerretDB v1 has none), a save holds the subscription's registry lock and writes in an order
 * that a crash at any point leaves consistent: the index entries it gains first (each under its own lock), then the
 * subscription (the commit point), then the index entries it lost. Lookups trust only the subscription document, so
 * an early or stale index entry is harmless.
 *
 * The store does not validate: save what `validateSubscription` returned.
 */
export class SubscriptionStore {
  private readonly subscriptions: Collection<SubscriptionDocument>;
  private readonly bindings: Collection<IndexDocument>;
  private readonly owners: Collection<IndexDocument>;
  private readonly linkUses: Collection<SubscriptionLinkUse>;
  private readonly lock: RegistryLock;
  private readonly now: () => Date;

  /**
   * Touches nothing until the first call; every call connects through {@link MongoHandle.connected} first, so a
   * process that first meets the database while it is down recovers once it answers.
   */
  constructor(
    private readonly mongo: MongoHandle,
    options: RegistryLockOptions & { readonly now?: () => Date } = {},
  ) {
    this.subscriptions = mongo.db.collection<SubscriptionDocument>('subscriptions');
    this.bindings = mongo.db.collection<IndexDocument>('subscription_bindings');
    this.owners = mongo.db.collection<IndexDocument>('subscription_owners');
    this.linkUses = mongo.db.collection<SubscriptionLinkUse>('subscription_link_uses');
    this.lock = new RegistryLock(mongo, options);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Creates or replaces a subscription, recording `actor` as the author of the change. Saving what is stored already
   * writes nothing (`unchanged`). A save over a deleted subscription creates it again, at the revision after the
   * deleted one's.
   */
  async save(
    subscription: Subscription,
    actor: string,
    options: SubscriptionWriteOptions = {},
  ): Promise<SubscriptionSaveResult> {
    await this.mongo.connected();
    return this.lock.withLock(subscriptionLock(subscription.id), async () => {
      const current = await this.subscriptions.findOne({ _id: subscription.id });
      const live = current && !current.deleted ? current : null;
      if (options.expectedRevision !== undefined && (live?.revision ?? 0) !== options.expectedRevision)
        throw new SubscriptionConflictError(subscription.id, options.expectedRevision, live?.revision ?? 0);
      if (live && options.ownedBy !== undefined && live.owner !== options.ownedBy)
        throw new SubscriptionOwnerError(subscription.id, live.owner, options.ownedBy);
      if (live && sameSubscription(storedOf(live).subscription, subscription))
        return { subscription: storedOf(live), created: false, unchanged: true };

      const at = this.now();
      const keys = subscriptionKeys(subscription.on).map(bindingKey);
      // Kept while the subscription lives; a new one (or one saved again after a delete) gets a new one.
      const generation = live ? live.generation : newGeneration();
      const document: SubscriptionDocument = {
        _id: subscription.id,
        revision: (current?.revision ?? 0) + 1,
        deleted: false,
        owner: subscription.owner,
        on: copyTrigger(subscription.on),
        deliver: {
          ...(subscription.deliver.slack === undefined ? {} : { slack: subscription.deliver.slack }),
          ...(subscription.deliver.email === undefined ? {} : { email: subscription.deliver.email }),
        },
        ...(subscription.message === undefined ? {} : { message: subscription.message }),
        ...(subscription.muted_until === undefined ? {} : { muted_until: subscription.muted_until }),
        ...(subscription.rate_per_minute === undefined ? {} : { rate_per_minute: subscription.rate_per_minute }),
        keys,
        createdAt: live?.createdAt ?? at,
        updatedAt: at,
        author: actor,
        ...(generation === undefined ? {} : { generation }),
      };
      for (const key of keys) await this.updateIndex(this.bindings, 'binding', key, subscription.id, 'add');
      await this.updateIndex(this.owners, 'owner', subscription.owner, subscription.id, 'add');
      await this.subscriptions.replaceOne({ _id: subscription.id }, document, { upsert: true });
      if (live) {
        for (const key of live.keys)
          if (!keys.includes(key)) await this.updateIndex(this.bindings, 'binding', key, subscription.id, 'remove');
        if (live.owner !== subscription.owner)
          await this.updateIndex(this.owners, 'owner', live.owner, subscription.id, 'remove');
      }
      return { subscription: storedOf(document), created: live === null, unchanged: false };
    });
  }

  /** The subscription with this id, or null when there is none (or it was deleted). */
  async get(id: string): Promise<StoredSubscription | null> {
    await this.mongo.connected();
    const document = await this.subscriptions.findOne({ _id: id });
    return document && !document.deleted ? storedOf(document) : null;
  }

  /**
   * Subscriptions in id order, `limit` of them after the id `after`; only `owner`'s when given (read through the
   * owner's index document, then each subscription by `_id`, so it costs the same however many others there are).
   */
  async list(options: { owner?: string; after?: string; limit: number }): Promise<StoredSubscription[]> {
    await this.mongo.connected();
    const { owner, after, limit } = options;
    if (owner === undefined) {
      const filter = after === undefined ? { deleted: false } : { deleted: false, _id: { $gt: after } };
      const documents = await this.subscriptions.find(filter).sort({ _id: 1 }).limit(limit).toArray();
      return documents.map(storedOf);
    }
    const ids = ((await this.owners.findOne({ _id: owner }))?.ids ?? [])
      .filter((id) => after === undefined || id > after)
      .sort();
    const found: StoredSubscription[] = [];
    // Index entries may be stale (a crash, a change of owner); read a few more than needed rather than come up short.
    for (let start = 0; start < ids.length && found.length < limit; start += limit) {
      const batch = ids.slice(start, start + limit);
      const documents = await Promise.all(batch.map((id) => this.subscriptions.findOne({ _id: id })));
      for (const document of documents)
        if (document && !document.deleted && document.owner === owner && found.length < limit)
          found.push(storedOf(document));
    }
    return found;
  }

  /**
   * Deletes a subscription; null when there was none. With `ownedBy`, only if it is that owner's (otherwise
   * {@link SubscriptionOwnerError}). Its links stop working: the tombstone keeps its revision.
   */
  async delete(
    id: string,
    actor: string,
    options: SubscriptionWriteOptions = {},
  ): Promise<{ revision: number } | null> {
    await this.mongo.connected();
    return this.lock.withLock(subscriptionLock(id), async () => {
      const current = await this.subscriptions.findOne({ _id: id });
      if (!current || current.deleted) return null;
      if (options.ownedBy !== undefined && current.owner !== options.ownedBy)
        throw new SubscriptionOwnerError(id, current.owner, options.ownedBy);
      if (options.expectedRevision !== undefined && current.revision !== options.expectedRevision)
        throw new SubscriptionConflictError(id, options.expectedRevision, current.revision);
      await this.tombstone(current, actor);
      return { revision: current.revision };
    });
  }

  /**
   * The subscriptions bound to (source, type), in id order, as the dispatcher hands them on: the binding document,
   * then each subscription by `_id`, keeping only those whose stored trigger still has that key.
   */
  async findForEvent(source: string, type: string): Promise<SubscriptionSnapshot[]> {
    await this.mongo.connected();
    const key = bindingKey({ source, type });
    const ids = (await this.bindings.findOne({ _id: key }))?.ids ?? [];
    if (ids.length === 0) return [];
    const documents = await Promise.all(ids.map((id) => this.subscriptions.findOne({ _id: id })));
    return documents
      .filter((document): document is SubscriptionDocument => document !== null && !document.deleted)
      .filter((document) => subscriptionKeys(document.on).some((found) => bindingKey(found) === key))
      .sort((a, b) => (a._id < b._id ? -1 : 1))
      .map(snapshotOf);
  }

  /**
   * Sets (or, with null, clears) `muted_until`, only while the subscription is at `expectedRevision` (the mute link's);
   * the change moves the revision on, so the same link does not act twice.
   */
  async setMutedUntil(
    id: string,
    until: Date | string | null,
    expectedRevision: number,
    actor = 'mute link',
  ): Promise<RevisionGuardedResult> {
    await this.mongo.connected();
    const mutedUntil = until === null ? null : new Date(until).toISOString();
    return this.lock.withLock(subscriptionLock(id), async () => {
      const current = await this.subscriptions.findOne({ _id: id });
      if (!current || current.deleted) return { status: 'missing' };
      if (current.revision !== expectedRevision) return { status: 'moved', revision: current.revision };
      const document: SubscriptionDocument = {
        ...current,
        muted_until: mutedUntil,
        revision: current.revision + 1,
        updatedAt: this.now(),
        author: actor,
      };
      await this.subscriptions.replaceOne({ _id: id }, document);
      return { status: 'done', subscription: storedOf(document) };
    });
  }

  /**
   * Deletes the subscription only while it is at `revision` (the unsubscribe link's); `done` carries what was deleted.
   */
  async deleteIfRevision(id: string, revision: number, actor = 'unsubscribe link'): Promise<RevisionGuardedResult> {
    await this.mongo.connected();
    return this.lock.withLock(subscriptionLock(id), async () => {
      const current = await this.subscriptions.findOne({ _id: id });
      if (!current || current.deleted) return { status: 'missing' };
      if (current.revision !== revision) return { status: 'moved', revision: current.revision };
      await this.tombstone(current, actor);
      return { status: 'done', subscription: storedOf(current) };
    });
  }

  /**
   * Records the one use of a signed link before it acts: `claimed` when this call inserted the record (the unique
   * `_id` insert is the one atomic step FerretDB has, so of two concurrent uses exactly one claims), otherwise the
   * record of the earlier use.
   */
  async claimLinkUse(
    use: Omit<SubscriptionLinkUse, 'outcome'>,
  ): Promise<{ claimed: true } | { claimed: false; use: SubscriptionLinkUse }> {
    await this.mongo.connected();
    try {
      await this.linkUses.insertOne({ ...use });
      return { claimed: true };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000) throw error;
      const earlier = await this.linkUses.findOne({ _id: use._id });
      if (!earlier) throw error;
      return { claimed: false, use: earlier };
    }
  }

  /** The recorded use of a link, or null when it has not been used. */
  async linkUse(id: string): Promise<SubscriptionLinkUse | null> {
    await this.mongo.connected();
    return this.linkUses.findOne({ _id: id });
  }

  /** Notes what a claimed link did, for the page a second use shows. */
  async settleLinkUse(id: string, outcome: NonNullable<SubscriptionLinkUse['outcome']>): Promise<void> {
    await this.mongo.connected();
    await this.linkUses.updateOne({ _id: id }, { $set: { outcome } });
  }

  /** Forgets a claimed use whose action failed (the registry was unreachable), so the link can be tried again. */
  async releaseLinkUse(id: string): Promise<void> {
    await this.mongo.connected();
    await this.linkUses.deleteOne({ _id: id, outcome: { $exists: false } });
  }

  /** Marks a subscription deleted (the commit point), then takes it out of its index documents. Holds its lock. */
  private async tombstone(current: SubscriptionDocument, actor: string): Promise<void> {
    await this.subscriptions.updateOne(
      { _id: current._id },
      { $set: { deleted: true, updatedAt: this.now(), author: actor } },
    );
    for (const key of current.keys) await this.updateIndex(this.bindings, 'binding', key, current._id, 'remove');
    await this.updateIndex(this.owners, 'owner', current.owner, current._id, 'remove');
  }

  /** Adds or removes an id in one index document, holding that document's lock. */
  private async updateIndex(
    collection: Collection<IndexDocument>,
    kind: 'binding' | 'owner',
    key: string,
    id: string,
    change: 'add' | 'remove',
  ): Promise<void> {
    await this.lock.withLock(`subscription-${kind}:${key}`, async () => {
      const current = (await collection.findOne({ _id: key }))?.ids ?? [];
      const next = change === 'add' ? [...new Set([...current, id])] : current.filter((entry) => entry !== id);
      if (next.length === current.length && next.every((entry, index) => entry === current[index])) return;
      if (next.length === 0) await collection.deleteOne({ _id: key });
      else await collection.replaceOne({ _id: key }, { ids: next }, { upsert: true });
    });
  }
}

function copyTrigger(on: Subscription['on']): Subscription['on'] {
  if (isOutcomeTrigger(on)) return { definition: on.definition, outcomes: [...on.outcomes] };
  return { source: on.source, type: on.type, ...(on.if === undefined ? {} : { if: on.if }) };
}

function storedOf(document: SubscriptionDocument): StoredSubscription {
  return {
    subscription: {
      id: document._id,
      owner: document.owner,
      on: copyTrigger(document.on),
      deliver: document.deliver,
      ...(document.message === undefined ? {} : { message: document.message }),
      ...(document.muted_until === undefined ? {} : { muted_until: document.muted_until }),
      ...(document.rate_per_minute === undefined ? {} : { rate_per_minute: document.rate_per_minute }),
    },
    revision: document.revision,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
    author: document.author,
    generation: generationOf(document),
  };
}

/** A new subscription's {@link SubscriptionDocument.generation}: 96 random bits. */
function newGeneration(): string {
  return randomBytes(12).toString('base64url');
}

/** A subscription's generation; for a document older than the field, one derived from when it was created. */
function generationOf(document: SubscriptionDocument): string {
  return document.generation ?? `t${document.createdAt.getTime().toString(36)}`;
}

function snapshotOf(document: SubscriptionDocument): SubscriptionSnapshot {
  const on = document.on;
  return {
    id: document._id,
    owner: document.owner,
    revision: document.revision,
    generation: generationOf(document),
    ...(isOutcomeTrigger(on) ? { definition: on.definition } : on.if === undefined ? {} : { if: on.if }),
    deliver: document.deliver,
    ...(document.message === undefined ? {} : { message: document.message }),
    ...(document.muted_until ? { mutedUntil: document.muted_until } : {}),
    ratePerMinute: document.rate_per_minute ?? DEFAULT_RATE_PER_MINUTE,
  };
}

/** Equal as stored: the same fields with the same values, key order aside; `muted_until: null` is no mute, as absent. */
function sameSubscription(a: Subscription, b: Subscription): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>)
            .filter(([, field]) => field !== undefined && field !== null)
            .sort(([x], [y]) => (x < y ? -1 : 1)),
        )
      : inner,
  );
}
