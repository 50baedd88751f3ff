/**
 * Delivery records (`subscription_deliveries`): one document per notification, `_id` `<subscription>/<event id>`,
 * inserted before anything is sent. Inserting a document with a unique `_id` is the one atomic step FerretDB v1 has,
 * so whichever attempt inserts it first owns the notification, and every later attempt finds it and learns what was
 * done. Every read and write is by `_id`.
 */
import { MongoServerError, type Collection } from 'mongodb';
import type { MongoHandle } from '../../registry/mongo';
import { SubscriptionWindows, type RateDecision, type RateWindow } from './rate';

/** What became of one channel of a notification. */
export type ChannelOutcome =
  | {
      readonly state: 'sent';
      readonly at: Date;
      readonly channel?: string;
      readonly ts?: string;
      readonly messageId?: string;
    }
  | { readonly state: 'failed'; readonly at: Date; readonly reason: string };

/** One notification: a subscription's, of one event. */
export interface DeliveryRecord {
  readonly _id: string;
  readonly subscription: string;
  /** The subscription's revision the notification was sent for. */
  readonly revision: number;
  readonly eventId: string;
  /**
   * `sending` from the insert until every channel is settled; then `sent` (at least one channel was) or `failed`;
   * `held` when the rate limit held it back for its window's digest (nothing is sent for it).
   */
  readonly state: 'sending' | 'sent' | 'failed' | 'held';
  readonly startedAt: Date;
  readonly updatedAt: Date;
  /** The Slack conversation id, once known (a DM's before posting; a channel's from the post's answer). */
  readonly slackChannel?: string;
  readonly slack?: ChannelOutcome;
  readonly email?: ChannelOutcome;
  /**
   * The rate window the notification is counted in (`rate.ts`), set when the record is inserted; absent in records
   * of notifications and digests that are not rate limited (and in those from before the rate limit).
   */
  readonly window?: RateWindow;
  /** The rate limit's decision, once made: every retry reuses it. */
  readonly rate?: RateDecision;
}

/** The answer of {@link SubscriptionDeliveries.claim}: the record, and whether this call inserted it. */
export interface Claim {
  readonly record: DeliveryRecord;
  /** True when this call inserted the record: nothing was sent for it before. */
  readonly fresh: boolean;
}

/** The `subscription_deliveries` collection. */
export class SubscriptionDeliveries {
  private readonly records: Collection<DeliveryRecord>;
  /** The rate windows (`subscription_windows`) the notifications are counted in, in the same database. */
  readonly windows: SubscriptionWindows;

  constructor(
    private readonly mongo: MongoHandle,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.records = mongo.db.collection<DeliveryRecord>('subscription_deliveries');
    this.windows = new SubscriptionWindows(mongo);
  }

  /** Inserts the record of a notification in state `sending`, or, when it exists, returns it as it is. */
  async claim(init: {
    id: string;
    subscription: string;
    revision: number;
    eventId: string;
    window?: RateWindow;
  }): Promise<Claim> {
    await this.mongo.connected();
    const at = this.now();
    const record: DeliveryRecord = {
      _id: init.id,
      subscription: init.subscription,
      revision: init.revision,
      eventId: init.eventId,
      state: 'sending',
      startedAt: at,
      updatedAt: at,
      ...(init.window ? { window: init.window } : {}),
    };
    try {
      await this.records.insertOne(record);
      return { record, fresh: true };
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
    const existing = await this.records.findOne({ _id: init.id });
    // Inserted by someone else a moment ago and gone since (a hand-deleted record): claim it again.
    if (!existing) return this.claim(init);
    return { record: existing, fresh: false };
  }

  /** Sets fields of a record (by `_id`; one attempt writes a record at a time). */
  async update(
    id: string,
    fields: Partial<Pick<DeliveryRecord, 'state' | 'slackChannel' | 'slack' | 'email' | 'window' | 'rate'>>,
  ): Promise<void> {
    await this.mongo.connected();
    await this.records.updateOne({ _id: id }, { $set: { ...fields, updatedAt: this.now() } });
  }

  /** The record of a notification, or null (tests and operators). */
  async get(id: string): Promise<DeliveryRecord | null> {
    await this.mongo.connected();
    return this.records.findOne({ _id: id });
  }
}
