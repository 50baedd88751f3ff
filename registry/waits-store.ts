import { createHash } from 'node:crypto';
import type { Collection } from 'mongodb';
import { fieldAt, type RegisteredWait, type WaitRegistration, type WhereValue } from '../common/event-waits';
import type { DefinitionStore } from './definitions-store';
import type { MongoHandle } from './mongo';

/**
 * The `where` shapes in use for one (source, type), keyed by `_id = "source/type"`: each shape is the sorted list of
 * field paths some wait compares (as JSON text; FerretDB v1 refuses nested arrays), with the latest time a wait of
 * that shape can still be waiting. An expired shape is skipped by lookups and dropped by the next registration.
 */
interface ShapesDocument {
  _id: string;
  shapes: { paths: string; until: Date }[];
}

/**
 * The waits on one (source, type, shape, values), keyed by `_id = "source/type/<sha256 of the sorted [path, value]
 * pairs>"`, so that an event's dispatcher computes the key from its own fields and reads exactly this document.
 */
interface WaitersDocument {
  _id: string;
  /** The sorted [path, value] pairs as JSON text, to check against the key. */
  pairs: string;
  waiters: { workflowId: string; stepId: string; if?: string; until: Date }[];
}

/** A shape stays listed this long after its latest wait's timeout, so most registrations need not write it. */
const SHAPE_SLACK_MS = 7 * 24 * 3600 * 1000;

/**
 * Registered waits of `flow.wait_for_event`, found by key lookups only. FerretDB v1 pushes down only `_id` equality,
 * so the index is two kinds of documents read by `_id`: the shapes of one (source, type), then one document per
 * shape holding the waits whose values equal the event's. An event's lookup is one read plus one read per shape in
 * use, whatever the number of waits on other values. Writes are read-modify-write under the registry's owner-token
 * locks (`DefinitionStore.withLock`), since FerretDB v1 has no isolated updates.
 */
export class WaitStore {
  private readonly shapesCollection: Collection<ShapesDocument>;
  private readonly waiters: Collection<WaitersDocument>;
  /** Shapes this process is listing, one at a time per shape. */
  private readonly listing = new Map<string, Promise<void>>();
  /** How long each shape is known to be listed (ms since the epoch), from this process's own reads and writes. */
  private readonly listed = new Map<string, number>();

  /** Touches nothing until the first call; every call connects through {@link MongoHandle.connected} first. */
  constructor(
    private readonly mongo: MongoHandle,
    private readonly locks: Pick<DefinitionStore, 'withLock'>,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.shapesCollection = mongo.db.collection<ShapesDocument>('wait_shapes');
    this.waiters = mongo.db.collection<WaitersDocument>('waits');
  }

  /**
   * Registers a wait, or renews it (idempotent by workflow id and step, so a retried activity changes nothing). The
   * shape is listed before the wait is added, so a lookup never misses a registered wait for want of its shape.
   */
  async register(wait: WaitRegistration): Promise<void> {
    await this.mongo.connected();
    const paths = Object.keys(wait.where).sort();
    const until = new Date(wait.until);
    await this.listShape(wait.source, wait.type, paths, until);
    const { id, pairs } = waitersKey(wait.source, wait.type, wait.where);
    await this.locks.withLock(`wait:${id}`, async () => {
      const current = await this.waiters.findOne({ _id: id });
      const now = this.now();
      const others = (current?.waiters ?? []).filter(
        (entry) => entry.until > now && !(entry.workflowId === wait.workflowId && entry.stepId === wait.stepId),
      );
      const entry = {
        workflowId: wait.workflowId,
        stepId: wait.stepId,
        until,
        ...(wait.if === undefined ? {} : { if: wait.if }),
      };
      await this.waiters.replaceOne({ _id: id }, { pairs, waiters: [...others, entry] }, { upsert: true });
    });
  }

  /** Removes a wait that ended; a wait already gone is fine. */
  async unregister(wait: Pick<WaitRegistration, 'workflowId' | 'stepId' | 'source' | 'type' | 'where'>): Promise<void> {
    await this.mongo.connected();
    const { id } = waitersKey(wait.source, wait.type, wait.where);
    await this.locks.withLock(`wait:${id}`, async () => {
      const current = await this.waiters.findOne({ _id: id });
      if (!current) return;
      const now = this.now();
      const rest = current.waiters.filter(
        (entry) => entry.until > now && !(entry.workflowId === wait.workflowId && entry.stepId === wait.stepId),
      );
      if (rest.length === 0) await this.waiters.deleteOne({ _id: id });
      else if (rest.length !== current.waiters.length)
        await this.waiters.replaceOne({ _id: id }, { pairs: current.pairs, waiters: rest });
    });
  }

  /**
   * The live waits an event's fields satisfy: one read of its (source, type)'s shapes, then one read per shape whose
   * fields the event has. The caller evaluates each wait's `if`.
   */
  async findForEvent(source: string, type: string, body: Readonly<Record<string, unknown>>): Promise<RegisteredWait[]> {
    await this.mongo.connected();
    const shapes = await this.shapesCollection.findOne({ _id: shapesKey(source, type) });
    if (!shapes) return [];
    const now = this.now();
    const keys: string[] = [];
    for (const shape of shapes.shapes) {
      if (shape.until <= now) continue;
      const where: Record<string, WhereValue> = {};
      let complete = true;
      for (const path of JSON.parse(shape.paths) as string[]) {
        const value = fieldAt(body, path);
        if (value === undefined) complete = false;
        else where[path] = value;
      }
      if (complete) keys.push(waitersKey(source, type, where).id);
    }
    const documents = await Promise.all(keys.map((id) => this.waiters.findOne({ _id: id })));
    return documents.flatMap((document) => {
      if (!document) return [];
      const where = Object.fromEntries(JSON.parse(document.pairs) as [string, WhereValue][]);
      return document.waiters
        .filter((entry) => entry.until > now)
        .map((entry) => ({
          workflowId: entry.workflowId,
          stepId: entry.stepId,
          where,
          ...(entry.if === undefined ? {} : { if: entry.if }),
        }));
    });
  }

  /**
   * Lists a shape for (source, type) until at least `until`. A burst of registrations of one new shape (a thousand
   * runs reaching the same wait) would otherwise all queue for one lock, so this process lists each shape once at a
   * time and remembers how long it is listed: a shape listed long enough (the common case, thanks to the slack)
   * costs no read, no write and no lock. Only expired shapes are ever dropped, so what it remembers stays true.
   */
  private listShape(source: string, type: string, paths: readonly string[], until: Date): Promise<void> {
    const key = `${shapesKey(source, type)}\u0000${JSON.stringify(paths)}`;
    const previous = this.listing.get(key) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => this.listShapeNow(source, type, paths, until));
    this.listing.set(key, mine);
    return mine.finally(() => {
      if (this.listing.get(key) === mine) this.listing.delete(key);
    });
  }

  private async listShapeNow(source: string, type: string, paths: readonly string[], until: Date): Promise<void> {
    const id = shapesKey(source, type);
    const text = JSON.stringify(paths);
    const key = `${id}\u0000${text}`;
    if ((this.listed.get(key) ?? 0) >= until.getTime()) return;
    const covering = (document: ShapesDocument | null): Date | undefined =>
      document?.shapes.find((shape) => shape.paths === text && shape.until >= until)?.until;
    let listedUntil = covering(await this.shapesCollection.findOne({ _id: id }));
    if (listedUntil === undefined) {
      listedUntil = await this.locks.withLock(`wait-shapes:${id}`, async () => {
        const current = await this.shapesCollection.findOne({ _id: id });
        const already = covering(current);
        if (already !== undefined) return already;
        const now = this.now();
        const kept = (current?.shapes ?? []).filter((shape) => shape.paths !== text && shape.until > now);
        const listed = new Date(until.getTime() + SHAPE_SLACK_MS);
        await this.shapesCollection.replaceOne(
          { _id: id },
          { shapes: [...kept, { paths: text, until: listed }] },
          { upsert: true },
        );
        return listed;
      });
    }
    this.listed.set(key, listedUntil.getTime());
  }
}

function shapesKey(source: string, type: string): string {
  return `${source}/${type}`;
}

/** The `_id` of the waits on one set of values: the same from a registration and from an event with those fields. */
function waitersKey(
  source: string,
  type: string,
  where: Readonly<Record<string, WhereValue>>,
): { id: string; pairs: string } {
  const pairs = JSON.stringify(Object.entries(where).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const hash = createHash('sha256')
    .update(JSON.stringify([source, type, pairs]))
    .digest('hex');
  return { id: `${source}/${type}/${hash}`, pairs };
}
