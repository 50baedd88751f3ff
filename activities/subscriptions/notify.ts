/**
 * The `notifySubscribers` activity (docs/subscriptions.md, "Delivered by the dispatcher, once"): for one dispatched
 * event, each subscription the dispatcher decided to notify is muted (skipped), held back for its minute's digest by
 * its rate limit (`rate.ts`), or sent to its Slack target and email address with its unsubscribe and mute links
 * (`links.ts`), exactly once per subscription and event through its delivery record (`deliveries.ts`):
 *
 * - the record is inserted (`sending`) before anything is sent; a record that exists says an earlier attempt (a retry
 *   of this activity, or one that a killed worker left) got there first;
 * - the rate limit decides once, in the record: `held` is reported as skipped and never sent;
 * - `sent` (or `failed`): nothing is sent again; the notification is reported as it was;
 * - `sending`: an earlier attempt died between inserting and finishing. Each channel it settled is kept; for Slack the
 *   target's recent history is searched for the message by the delivery id in its metadata, and it is posted only
 *   when it is not there; email is sent again with the same `Message-ID` (at least once: a receiver that does not
 *   deduplicate by `Message-ID` may show two).
 *
 * A channel that fails for good (Slack's `channel_not_found`, an SMTP refusal, a worker without SLACK_TOKEN or
 * SMTP_URL) is recorded as failed and reported in `failed`, never retried; a failure worth retrying (an outage, a
 * rate limit) fails the activity after the other subscriptions are done, and its retry sends only what is left.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { FlowEvent } from '../../common/run-types';
import { deliveryId, type NotifyInput, type NotifyResult, type SubscriptionSnapshot } from '../../common/subscriptions';
import { slackClient } from '../actions/slack-post-message';
import type { ActionDeps } from '../deps';
import type { ChannelOutcome, DeliveryRecord, SubscriptionDeliveries } from './deliveries';
import { sendNotificationMail } from './email';
import { notificationLinks, withLinks, type NotificationLink } from './links';
import { notificationText } from './message';
import { decideRate, heldReason, windowOf, type DigestWorkflowInput, type RateSettings } from './rate';
import { directConversation, findNotification, postNotification } from './slack';

/** The name failures carry. */
export const NOTIFY_ACTION = 'notifySubscribers';

/** How many subscriptions are notified at once. */
const CONCURRENCY = 8;
/** How often the activity heartbeats while it works (the dispatcher gives it a heartbeat timeout of 15 s). */
const HEARTBEAT_MS = 3_000;

/** What the activity needs: the worker's environment and fetch (Slack, SMTP) and the delivery records. */
export interface NotifyDeps extends Pick<ActionDeps, 'env' | 'fetch'> {
  /** The delivery records, and the rate windows beside them. */
  readonly deliveries: Pick<SubscriptionDeliveries, 'claim' | 'update' | 'windows'>;
  /** Starts a window's digest workflow (`digest-<subscription>-<minute>`); starting it again is a no-op. */
  readonly startDigest: (input: DigestWorkflowInput) => Promise<void>;
  /** The rate windows' length and the digest's grace (tests: shorter; production: a minute and 5 s). */
  readonly rate?: RateSettings;
  /** The activity's clock, which muting and the rate window are decided by (tests). */
  readonly now?: () => Date;
  /** Where the worker says once that notifications go out without links (default `console.warn`). */
  readonly warn?: (message: string) => void;
}

/** The activity's context: heartbeats and cancellation. */
export interface NotifyControl {
  readonly heartbeat?: () => void;
  readonly signal?: AbortSignal;
}

export type Channel = 'slack' | 'email';

/** What became of one subscription. */
export type Outcome =
  | { readonly kind: 'sent'; readonly channels: Channel[]; readonly failed?: string }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'retry'; readonly error: Error; readonly channels: Channel[] };

/** Notifies every subscription of `input` (see the module's comment). */
export async function notifySubscribers(
  deps: NotifyDeps,
  input: NotifyInput,
  control: NotifyControl = {},
): Promise<NotifyResult> {
  const now = deps.now?.() ?? new Date();
  const signal = control.signal ?? new AbortController().signal;
  const beat = control.heartbeat ? setInterval(control.heartbeat, HEARTBEAT_MS) : undefined;
  control.heartbeat?.();
  try {
    const outcomes = new Array<Outcome>(input.subscriptions.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < input.subscriptions.length; index = next++) {
        const subscription = input.subscriptions[index]!;
        outcomes[index] = await notifyOne(deps, input.event, subscription, now, signal).catch(
          (error: unknown): Outcome => asFailure(error),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, input.subscriptions.length) }, worker));

    const sent: { id: string; channels: Channel[] }[] = [];
    const skipped: { id: string; reason: string }[] = [];
    const failed: { id: string; reason: string }[] = [];
    const retries: { id: string; error: Error }[] = [];
    input.subscriptions.forEach((subscription, index) => {
      const outcome = outcomes[index]!;
      const id = subscription.id;
      if (outcome.kind === 'sent') {
        sent.push({ id, channels: outcome.channels });
        if (outcome.failed) failed.push({ id, reason: outcome.failed });
      } else if (outcome.kind === 'skipped') skipped.push({ id, reason: outcome.reason });
      else if (outcome.kind === 'failed') failed.push({ id, reason: outcome.reason });
      else retries.push({ id, error: outcome.error });
    });
    if (retries.length > 0) {
      // Everything else is recorded; the retry sends only what is left.
      const { id, error } = retries[0]!;
      const others = retries.length > 1 ? ` (and ${retries.length - 1} more subscription(s))` : '';
      const cause = error instanceof ApplicationFailure ? error : undefined;
      throw ApplicationFailure.create({
        message: `subscription ${id}: ${error.message}${others}; a retry sends only what is not sent`,
        type: cause?.type ?? 'NotifyFailed',
        cause: error,
        details: [{ retrying: retries.map((retry) => retry.id), sent: sent.map((entry) => entry.id) }],
      });
    }
    return { sent, skipped, ...(failed.length > 0 ? { failed } : {}) };
  } finally {
    if (beat) clearInterval(beat);
  }
}

/** One subscription: muted, held back, already done, or sent now (as far as it goes). */
async function notifyOne(
  deps: NotifyDeps,
  event: FlowEvent,
  subscription: SubscriptionSnapshot,
  now: Date,
  signal: AbortSignal,
): Promise<Outcome> {
  const mutedUntil = subscription.mutedUntil === undefined ? NaN : Date.parse(subscription.mutedUntil);
  if (mutedUntil > now.getTime())
    return { kind: 'skipped', reason: `muted until ${new Date(mutedUntil).toISOString()}` };

  const id = deliveryId(subscription.id, event.id);
  const { record, fresh } = await deps.deliveries.claim({
    id,
    subscription: subscription.id,
    revision: subscription.revision,
    eventId: event.id,
    window: { minute: windowOf(now, deps.rate?.windowMs) },
  });
  if (record.state !== 'sending') return settled(record);
  const rate = await decideRate(
    {
      windows: deps.deliveries.windows,
      update: (recordId, fields) => deps.deliveries.update(recordId, fields),
      startDigest: deps.startDigest,
      ...(deps.rate ? { settings: deps.rate } : {}),
    },
    subscription,
    record,
    now,
  );
  if (rate?.held) return { kind: 'skipped', reason: heldReason(rate) };

  const { subject, text } = notificationText(subscription, event);
  return sendChannels(deps, {
    record,
    fresh,
    deliver: subscription.deliver,
    subject,
    text,
    ...notificationLinks(subscription, id, deps.env, deps.warn),
    signal,
  });
}

/** One message to be sent to a subscription's targets, once, through its delivery record. */
export interface ChannelMessage {
  /** The delivery record, as claimed (`sending`). */
  readonly record: DeliveryRecord;
  /** True when this attempt inserted the record: nothing was sent for it before. */
  readonly fresh: boolean;
  readonly deliver: SubscriptionSnapshot['deliver'];
  readonly subject: string;
  readonly text: string;
  readonly links: readonly NotificationLink[];
  readonly listUnsubscribe?: { readonly url: string };
  readonly signal: AbortSignal;
}

/**
 * Sends a message to each target its record does not show as settled, settling each in the record at once, then the
 * record (`sent` or `failed`). Shared by notifications and digests.
 */
export async function sendChannels(
  deps: Pick<NotifyDeps, 'env' | 'fetch'> & { readonly deliveries: Pick<SubscriptionDeliveries, 'update'> },
  message: ChannelMessage,
): Promise<Outcome> {
  const { record, fresh, deliver, subject, text, links, signal } = message;
  const id = record._id;
  const wanted: Channel[] = [];
  if (deliver.slack !== undefined) wanted.push('slack');
  if (deliver.email !== undefined) wanted.push('email');
  const outcomes: Partial<Record<Channel, ChannelOutcome>> = { ...pick(record, 'slack'), ...pick(record, 'email') };
  let retry: Error | undefined;

  for (const channel of wanted) {
    if (outcomes[channel]) continue;
    try {
      if (channel === 'slack') {
        const target = deliver.slack!;
        const client = slackClient(deps, NOTIFY_ACTION, signal);
        const conversation = record.slackChannel ?? (await directConversation(client, NOTIFY_ACTION, target));
        // Not inserted by this attempt: an earlier one may have posted before it died.
        const found = fresh
          ? undefined
          : await findNotification(client, NOTIFY_ACTION, conversation ?? target, id, record.startedAt);
        const place =
          found ??
          (await postNotification(client, NOTIFY_ACTION, {
            channel: conversation ?? target,
            // The links as plain text lines (Slack's markup is off; a URL is linked by the client).
            text: withLinks(text, links),
            delivery: id,
          }));
        outcomes.slack = { state: 'sent', at: new Date(), channel: place.channel, ts: place.ts };
      } else {
        const sent = await sendNotificationMail(deps.env, NOTIFY_ACTION, {
          to: deliver.email!,
          subject,
          text,
          delivery: id,
          links,
          ...(message.listUnsubscribe ? { listUnsubscribe: message.listUnsubscribe } : {}),
          signal,
        });
        outcomes.email = { state: 'sent', at: new Date(), messageId: sent.messageId };
      }
      await deps.deliveries.update(id, { [channel]: outcomes[channel] });
    } catch (error) {
      if (error instanceof ApplicationFailure && error.nonRetryable) {
        outcomes[channel] = { state: 'failed', at: new Date(), reason: error.message };
        await deps.deliveries.update(id, { [channel]: outcomes[channel] });
      } else {
        retry ??= error instanceof Error ? error : new Error(String(error));
      }
    }
  }
  const done = wanted.filter((channel) => outcomes[channel]?.state === 'sent');
  if (retry) return { kind: 'retry', error: retry, channels: done };
  const state = done.length > 0 ? 'sent' : 'failed';
  await deps.deliveries.update(id, { state });
  return outcomeOf({ ...record, ...outcomes, state });
}

/** A record an earlier attempt finished: reported, not sent again. */
export function settled(record: DeliveryRecord): Outcome {
  if (record.state === 'held') {
    return { kind: 'skipped', reason: record.rate ? heldReason(record.rate) : 'held back for its minute’s digest' };
  }
  const outcome = outcomeOf(record);
  if (outcome.kind !== 'sent') return outcome;
  return {
    kind: 'skipped',
    reason: `already sent by an earlier attempt (${outcome.channels.join(', ')})${outcome.failed ? `; ${outcome.failed}` : ''}`,
  };
}

function outcomeOf(record: DeliveryRecord): Outcome {
  const channels = (['slack', 'email'] as const).filter((channel) => record[channel]?.state === 'sent');
  const failures = (['slack', 'email'] as const).flatMap((channel) => {
    const outcome = record[channel];
    return outcome?.state === 'failed' ? [`${channel}: ${outcome.reason}`] : [];
  });
  if (channels.length === 0) return { kind: 'failed', reason: failures.join('; ') || 'nothing was sent' };
  return { kind: 'sent', channels, ...(failures.length > 0 ? { failed: failures.join('; ') } : {}) };
}

function pick(record: DeliveryRecord, channel: Channel): Partial<Record<Channel, ChannelOutcome>> {
  const outcome = record[channel];
  return outcome ? { [channel]: outcome } : {};
}

/** A subscription that threw outside its channels (the record could not be read or written). */
export function asFailure(error: unknown): Outcome {
  if (error instanceof ApplicationFailure && error.nonRetryable) return { kind: 'failed', reason: error.message };
  return { kind: 'retry', error: error instanceof Error ? error : new Error(String(error)), channels: [] };
}
