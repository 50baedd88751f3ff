import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection } from 'mongodb';
import type { MongoHandle } from './mongo';

/** How long a registry lock may be held before another process assumes its holder crashed. */
export const LOCK_STALE_MS = 30_000;
/** How long a write waits for a lock before giving up with an error the caller can retry. */
export const LOCK_WAIT_MS = 20_000;

/** Tuning of a {@link RegistryLock}; the defaults suit production. */
export interface RegistryLockOptions {
  /** How long a lock may be held before another process takes it over (default 30 s). */
  readonly lockStaleMs?: number;
  /** How long a write waits for a lock before failing with "the registry is busy" (default 20 s). */
  readonly lockWaitMs?: number;
  /** Where a holder that lost its lock says so (default `console.warn`). */
  readonly warn?: (message: string) => void;
}

/** A registry lock document in `registry_locks`; see {@link RegistryLock.withLock}. */
interface LockDocument {
  _id: string;
  /** A random id per acquisition: who holds the lock. */
  owner: string;
  at: Date;
}

/**
 * The registry's named locks, shared by every process that uses the database (documents `lock:<name>` in the
 * collection `registry_locks`). The stores take them around their read-modify-write steps, since FerretDB v1 has
 * neither transactions nor isolated updates.
 */
export class RegistryLock {
  private readonly locks: Collection<LockDocument>;
  private readonly lockStaleMs: number;
  private readonly lockWaitMs: number;
  private readonly warn: (message: string) => void;

  /** Touches nothing until the first call; every call connects through {@link MongoHandle.connected} first. */
  constructor(
    private readonly mongo: MongoHandle,
    options: RegistryLockOptions = {},
  ) {
    this.locks = mongo.db.collection<LockDocument>('registry_locks');
    this.lockStaleMs = options.lockStaleMs ?? LOCK_STALE_MS;
    this.lockWaitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
    this.warn = options.warn ?? ((message) => console.warn(`[registry] ${message}`));
  }

  /**
   * Runs `fn` holding a named lock, shared by every process that uses this database. FerretDB v1 applies updates as
   * read-modify-write without isolation, so two concurrent `$addToSet`s (or compare-and-set updates) on one document
   * can lose one; inserting a document with a unique `_id` is the one atomic step it has, so taking a lock is that
   * insert. Each acquisition carries its own owner token, and every delete names it: a lock older than the stale
   * limit was left by a crashed (or stalled) holder and is taken over by deleting exactly that holder's document,
   * and a release deletes only its own. A holder that finds its lock gone when it releases was taken over while it
   * worked; it logs a warning naming the lock, and never removes the new owner's.
   */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await this.mongo.connected();
    const _id = `lock:${name}`;
    const owner = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      try {
        await this.locks.insertOne({ _id, owner, at: new Date() });
        break;
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
        const held = await this.locks.findOne({ _id });
        if (held && Date.now() - held.at.getTime() > this.lockStaleMs) {
          // Only that holder's document: if another waiter took the lock over first, its fresh one stays.
          await this.locks.deleteOne({ _id, owner: held.owner, at: held.at });
          continue;
        }
        if (Date.now() > deadline) {
          throw new Error(`the registry is busy: ${name} stayed locked for ${this.lockWaitMs / 1000}s; retry`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
      }
    }
    const since = Date.now();
    try {
      return await fn();
    } finally {
      const released = await this.locks.deleteOne({ _id, owner });
      if (released.deletedCount === 0) {
        this.warn(
          `lost the registry lock ${name}: it was held ${Math.round((Date.now() - since) / 1000)}s, past the ` +
            `${this.lockStaleMs / 1000}s stale limit, and another process took it over; its lock was left in place`,
        );
      }
    }
  }
}
