/**
 * The rate limit of subscriptions (docs/subscriptions.md, "A noisy event does not flood anyone"): each subscription
 * sends at most `rate_per_minute` notifications a minute; the rest are held back, counted, and told in one digest
 * message when the minute is over.
 *
 * **Counting without isolation.** FerretDB v1 applies an update as read-modify-write without isolation, so a counter
 * that concurrent notify activities `$inc` can lose increments, and a check-then-increment can let two through on the
 * last free place. Its one atomic step is inserting a document with a unique `_id`. So a window is counted in slots:
 * the `n`th notification of subscription `s` in the minute `m` is the document `s/m/n` in `subscription_windows`,
 * and a notification takes the lowest free slot by inserting it (a duplicate key: taken, try the next). Slot `n`
 * sends when `n <= rate_per_minute`, and is held back otherwise. Two workers can never take the same slot, so
 * however many activities race, at most `rate_per_minute` slots of a minute send.
 *
 * The slots of a window are a prefix `1..k`: a slot is inserted only after the one before it was seen taken (or,
 * when the search starts, found taken by {@link SubscriptionWindows.firstFree}), and slots are never deleted. So the
 * window's count is its first free slot minus one, found by galloping over reads by `_id`.
 *
 * **Once per notification.** A slot names its delivery id. Before taking one, the notification writes to its
 * delivery record the minute and the slot it starts from (`window`); after, the decision (`rate`). A retry that finds
 * the decision reuses it; one that finds only `window` (an attempt died between the two) searches again from that
 * slot and finds its own slot by its delivery id, so a retried notification is never counted twice.
 *
 * **The digest.** The first held-back notification of a minute starts the digest workflow (`digest-<subscription>-<
 * minute>`, started once). When the minute is over it closes the window by inserting a closed marker in its first
 * free slot (again the unique insert: a notification that takes that slot first is counted, and the digest closes
 * the next one), counts the held-back slots below it, and sends one message. A notification that comes to a closed
 * window (a retry long after, a worker that stalled past the grace) takes a slot in the window after it instead, so
 * every held-back notification is counted in exactly one digest.
 */
import { MongoServerError, type Collection } from 'mongodb';
import type { MongoHandle } from '../../registry/mongo';

/** How long a rate window lasts in production: a minute. */
export const DEFAULT_WINDOW_MS = 60_000;
/** How long after its window ends the digest is sent, so that notifications decided at the last moment are in it. */
export const DEFAULT_DIGEST_GRACE_MS = 5_000;

/** The rate limit's timing (tests: a shorter window; the code path is the same). */
export interface RateSettings {
  /** The length of a window (default {@link DEFAULT_WINDOW_MS}). */
  readonly windowMs?: number;
  /** How long after the window's end its digest is sent (default {@link DEFAULT_DIGEST_GRACE_MS}). */
  readonly graceMs?: number;
}

/** The start of the window `at` is in, as an ISO time: the `<minute>` of window and digest ids. */
export function windowOf(at: Date, windowMs = DEFAULT_WINDOW_MS): string {
  return new Date(Math.floor(at.getTime() / windowMs) * windowMs).toISOString();
}

/** The window after `minute`, or the one `now` is in when that is later. */
export function laterWindow(minute: string, now: Date, windowMs = DEFAULT_WINDOW_MS): string {
  return new Date(Math.max(Date.parse(minute) + windowMs, Date.parse(windowOf(now, windowMs)))).toISOString();
}

/** Where a notification takes its slot, kept in its delivery record before it takes one. */
export interface RateWindow {
  /** The window's start (ISO). */
  readonly minute: string;
  /** The slot the search starts from; absent until the first free one was looked up. */
  readonly from?: number;
}

/** What the rate limit decided for one notification, kept in its delivery record and reused by every retry. */
export interface RateDecision {
  /** True: held back for the window's digest; false: sent now. */
  readonly held: boolean;
  readonly minute: string;
  /** The notification's slot in its window (1 is the first). */
  readonly slot: number;
  /** The limit it was decided under (the subscription's `rate_per_minute` when it was dispatched). */
  readonly limit: number;
  /** The first held-back notification of its window: the one that starts the digest. */
  readonly first?: boolean;
}

/** A document of `subscription_windows`: a notification's slot, or the closed marker its digest put after the last. */
interface SlotDocument {
  readonly _id: string;
  readonly subscription: string;
  readonly minute: string;
  readonly slot: number;
  readonly at: Date;
  /** A notification's slot: its delivery id, whether it was held back, under which limit, for which generation. */
  readonly delivery?: string;
  readonly held?: boolean;
  readonly limit?: number;
  readonly generation?: string;
  /** The closed marker: the window's digest counted every slot below it. */
  readonly closed?: true;
}

/** What a window's digest counted when it closed it. */
export interface ClosedWindow {
  /** How many notifications were held back. */
  readonly held: number;
  /** The limit they were held back under (the last held-back one's). */
  readonly limit?: number;
  /** The generation of the subscription they were held back for (the last held-back one's). */
  readonly generation?: string;
}

/** The `subscription_windows` collection: one document per notification per window (see the module's comment). */
export class SubscriptionWindows {
  private readonly slots: Collection<SlotDocument>;

  constructor(private readonly mongo: MongoHandle) {
    this.slots = mongo.db.collection<SlotDocument>('subscription_windows');
  }

  /** The lowest free slot of a window: a gallop, then a binary search, over reads by `_id` (slots are a prefix). */
  async firstFree(subscription: string, minute: string): Promise<number> {
    await this.mongo.connected();
    if (!(await this.taken(subscription, minute, 1))) return 1;
    let low = 1; // taken
    let high = 2;
    while (await this.taken(subscription, minute, high)) {
      low = high;
      high *= 2;
    }
    // low is taken, high is free: the first free slot is in (low, high].
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await this.taken(subscription, minute, middle)) low = middle;
      else high = middle;
    }
    return high;
  }

  /**
   * Takes the lowest free slot from `from` on for `delivery` (or finds the one it took before), deciding it held
   * back beyond `limit`; `closed` when the window's digest closed it first.
   */
  async take(
    subscription: string,
    minute: string,
    from: number,
    claim: { readonly delivery: string; readonly limit: number; readonly generation?: string },
  ): Promise<{ readonly slot: number; readonly held: boolean } | 'closed'> {
    await this.mongo.connected();
    // Every slot after the first is taken only once the one before it was seen taken, and not by the closed marker.
    if (from > 1 && (await this.slots.findOne({ _id: slotId(subscription, minute, from - 1) }))?.closed)
      return 'closed';
    for (let slot = Math.max(1, from); ; slot++) {
      const document: SlotDocument = {
        _id: slotId(subscription, minute, slot),
        subscription,
        minute,
        slot,
        at: new Date(),
        delivery: claim.delivery,
        held: slot > claim.limit,
        limit: claim.limit,
        ...(claim.generation !== undefined ? { generation: claim.generation } : {}),
      };
      if (await this.insert(document)) return { slot, held: document.held === true };
      const existing = await this.slots.findOne({ _id: document._id });
      if (!existing) {
        slot--; // removed by hand in between: try it again
        continue;
      }
      if (existing.closed) return 'closed';
      if (existing.delivery === claim.delivery) return { slot, held: existing.held === true };
    }
  }

  /** Whether the slot before `slot` was held back (false for the first). */
  async heldBefore(subscription: string, minute: string, slot: number): Promise<boolean> {
    if (slot <= 1) return false;
    await this.mongo.connected();
    const before = await this.slots.findOne({ _id: slotId(subscription, minute, slot - 1) });
    return before?.held === true;
  }

  /**
   * Closes a window for its digest: puts the closed marker in its first free slot (or finds the one an earlier
   * attempt put), and counts the held-back notifications below it. Idempotent: a retry counts the same.
   */
  async close(subscription: string, minute: string, heartbeat?: () => void): Promise<ClosedWindow> {
    await this.mongo.connected();
    let held = 0;
    let limit: number | undefined;
    let generation: string | undefined;
    for (let slot = 1; ; slot++) {
      if (slot % 100 === 0) heartbeat?.();
      const id = slotId(subscription, minute, slot);
      let document = await this.slots.findOne({ _id: id });
      if (!document) {
        const marker: SlotDocument = { _id: id, subscription, minute, slot, at: new Date(), closed: true };
        if (await this.insert(marker)) break;
        // A notification took it first: it is counted, and the marker goes after it.
        document = await this.slots.findOne({ _id: id });
        if (!document) {
          slot--;
          continue;
        }
      }
      if (document.closed) break;
      if (document.held) {
        held++;
        limit = document.limit;
        generation = document.generation;
      }
    }
    return {
      held,
      ...(limit !== undefined ? { limit } : {}),
      ...(generation !== undefined ? { generation } : {}),
    };
  }

  private async taken(subscription: string, minute: string, slot: number): Promise<boolean> {
    return (await this.slots.findOne({ _id: slotId(subscription, minute, slot) }, { projection: { _id: 1 } })) !== null;
  }

  /** Inserts a slot; false when its `_id` is taken. */
  private async insert(document: SlotDocument): Promise<boolean> {
    try {
      await this.slots.insertOne(document);
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === 11000) return false;
      throw error;
    }
  }
}

function slotId(subscription: string, minute: string, slot: number): string {
  return `${subscription}/${minute}/${slot}`;
}

/** The digest workflow's input: the window, and when to send its digest (the window's end plus the grace). */
export interface DigestWorkflowInput {
  readonly subscription: string;
  readonly minute: string;
  readonly sendAt: string;
}

/** The digest activity's input: whose window, and which. */
export interface DigestInput {
  readonly subscription: string;
  readonly minute: string;
}

/** What the digest activity did: the count it sent (or would have), where, and what kept it from being sent. */
export interface DigestResult {
  /** The notifications held back in the window. */
  readonly held: number;
  /** The channels the digest went to (absent when nothing was sent). */
  readonly sent?: readonly ('slack' | 'email')[];
  /** Why nothing was sent: nothing held back, the subscription deleted or muted, sent by an earlier attempt. */
  readonly skipped?: string;
  /** A channel that failed for good, with why. */
  readonly failed?: string;
}

/** The workflow id of a window's digest: one per subscription and window, however many notifications start it. */
export function digestWorkflowId(subscription: string, minute: string): string {
  return `digest-${subscription}-${minute}`;
}

/** The `_id` of a digest's delivery record. */
export function digestDeliveryId(subscription: string, minute: string): string {
  return `digest/${subscription}/${minute}`;
}

/** `10:31` for a window that starts on a minute (UTC); `10:31:20` for a shorter one that does not. */
export function clockOf(minute: string): string {
  const time = minute.slice(11, 19);
  return time.endsWith(':00') ? time.slice(0, 5) : time;
}

/** Why a notification was not sent: held back for its window's digest. */
export function heldReason(decision: RateDecision): string {
  return `held back for the digest of the minute from ${clockOf(decision.minute)} UTC (limit ${decision.limit} a minute)`;
}

/** What {@link decideRate} needs. */
export interface RateDeps {
  readonly windows: Pick<SubscriptionWindows, 'firstFree' | 'take' | 'heldBefore'>;
  /** Writes the notification's delivery record. */
  readonly update: (id: string, fields: { window?: RateWindow; rate?: RateDecision; state?: 'held' }) => Promise<void>;
  /** Starts the window's digest workflow; starting it again is a no-op. */
  readonly startDigest: (input: DigestWorkflowInput) => Promise<void>;
  readonly settings?: RateSettings;
}

/**
 * Decides whether the notification of `record` (a delivery record in `sending`) is sent now or held back, once: the
 * record's decision when it has one; otherwise a slot in its window, the decision written to the record (and, for the
 * first held-back notification of the window, the digest started first). Undefined for a record without a window
 * (inserted before the rate limit): sent, as it was decided then.
 */
export async function decideRate(
  deps: RateDeps,
  subscription: { readonly id: string; readonly ratePerMinute: number; readonly generation?: string },
  record: { readonly _id: string; readonly window?: RateWindow; readonly rate?: RateDecision },
  now: Date,
): Promise<RateDecision | undefined> {
  if (record.rate) return record.rate;
  if (!record.window) return undefined;
  const windowMs = deps.settings?.windowMs ?? DEFAULT_WINDOW_MS;
  const graceMs = deps.settings?.graceMs ?? DEFAULT_DIGEST_GRACE_MS;
  const limit = subscription.ratePerMinute;
  let { minute, from } = record.window;
  let taken: { readonly slot: number; readonly held: boolean } | 'closed';
  for (;;) {
    if (from === undefined) {
      from = await deps.windows.firstFree(subscription.id, minute);
      // Before taking a slot: a retry searches from here, and finds the slot this attempt takes by its delivery id.
      await deps.update(record._id, { window: { minute, from } });
    }
    taken = await deps.windows.take(subscription.id, minute, from, {
      delivery: record._id,
      limit,
      ...(subscription.generation !== undefined ? { generation: subscription.generation } : {}),
    });
    if (taken !== 'closed') break;
    // Its digest was counted without it: it belongs to a later window.
    minute = laterWindow(minute, now, windowMs);
    from = undefined;
  }
  const first = taken.held && !(await deps.windows.heldBefore(subscription.id, minute, taken.slot));
  const decision: RateDecision = {
    held: taken.held,
    minute,
    slot: taken.slot,
    limit,
    ...(first ? { first: true } : {}),
  };
  if (first) {
    await deps.startDigest({
      subscription: subscription.id,
      minute,
      sendAt: new Date(Date.parse(minute) + windowMs + graceMs).toISOString(),
    });
  }
  await deps.update(record._id, { rate: decision, ...(decision.held ? { state: 'held' as const } : {}) });
  return decision;
}
