/**
 * A minute's digest (docs/subscriptions.md, "A noisy event does not flood anyone"): the first notification a
 * subscription's rate limit holds back in a window starts the `subscriptionDigest` workflow
 * ({@link startSubscriptionDigest}, once per window by its workflow id), which sleeps to the window's end and calls
 * {@link sendSubscriptionDigest}: it closes the window (`rate.ts`), counts what was held back, and sends one message
 * to the subscription's targets, exactly once through the delivery record `digest/<subscription>/<minute>`.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  DEFAULT_RATE_PER_MINUTE,
  isOutcomeTrigger,
  type Subscription,
  type SubscriptionDelivery,
} from '../../common/subscriptions';
import type { SubscriptionStore } from '../../registry/subscriptions-store';
import type { ActionDeps } from '../deps';
import type { SubscriptionDeliveries } from './deliveries';
import { notificationLinks } from './links';
import { asFailure, sendChannels, settled, type Outcome, type NotifyControl } from './notify';
import {
  clockOf,
  digestDeliveryId,
  digestWorkflowId,
  type DigestInput,
  type DigestResult,
  type DigestWorkflowInput,
} from './rate';

/** The digest workflow's type name (`workflows/subscription-digest.ts`). */
export const DIGEST_WORKFLOW_TYPE = 'subscriptionDigest';

/**
 * Starts a window's digest workflow on the worker's task queue; a no-op when it was started before (running or
 * closed: `REJECT_DUPLICATE` never starts a second one for the same window).
 */
export async function startSubscriptionDigest(
  intake: { readonly client: Client; readonly taskQueue: string },
  input: DigestWorkflowInput,
): Promise<void> {
  try {
    await intake.client.workflow.start(DIGEST_WORKFLOW_TYPE, {
      workflowId: digestWorkflowId(input.subscription, input.minute),
      taskQueue: intake.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/** What the digest activity needs. */
export interface DigestDeps extends Pick<ActionDeps, 'env' | 'fetch'> {
  /** The subscription as it is now: a deleted or muted one gets no digest. */
  readonly store: Pick<SubscriptionStore, 'get'>;
  readonly deliveries: Pick<SubscriptionDeliveries, 'claim' | 'update' | 'windows'>;
  readonly now?: () => Date;
  readonly warn?: (message: string) => void;
}

/** `7 more notifications of jira/issue_transitioned in the minute from 10:31 UTC were held back (limit 10 a minute)`. */
export function digestText(subscription: Subscription, minute: string, held: number, limit: number): string {
  const on = subscription.on;
  const trigger = isOutcomeTrigger(on)
    ? `${on.definition} runs (${on.outcomes.join(', ')})`
    : `${on.source}/${on.type}`;
  return (
    `${held} more notification${held === 1 ? '' : 's'} of ${trigger} in the minute from ${clockOf(minute)} UTC ` +
    `${held === 1 ? 'was' : 'were'} held back (limit ${limit} a minute)`
  );
}

/** Closes the window, counts what was held back and sends one digest of it, once (see the module's comment). */
export async function sendSubscriptionDigest(
  deps: DigestDeps,
  input: DigestInput,
  control: NotifyControl = {},
): Promise<DigestResult> {
  const now = deps.now?.() ?? new Date();
  control.heartbeat?.();
  const closed = await deps.deliveries.windows.close(input.subscription, input.minute, control.heartbeat);
  if (closed.held === 0) return { held: 0, skipped: 'nothing was held back' };
  const held = closed.held;
  const stored = await deps.store.get(input.subscription);
  if (!stored) return { held, skipped: 'the subscription was deleted' };
  if (closed.generation !== undefined && closed.generation !== stored.generation)
    return { held, skipped: 'the subscription was deleted (and created again since)' };
  const subscription = stored.subscription;
  const mutedUntil = subscription.muted_until ? Date.parse(subscription.muted_until) : NaN;
  if (mutedUntil > now.getTime()) return { held, skipped: `muted until ${new Date(mutedUntil).toISOString()}` };

  const id = digestDeliveryId(input.subscription, input.minute);
  const { record, fresh } = await deps.deliveries.claim({
    id,
    subscription: input.subscription,
    revision: stored.revision,
    eventId: `digest-${input.minute}`,
  });
  let outcome: Outcome;
  if (record.state !== 'sending') outcome = settled(record);
  else {
    const limit = closed.limit ?? subscription.rate_per_minute ?? DEFAULT_RATE_PER_MINUTE;
    const text = digestText(subscription, input.minute, held, limit);
    const deliver: SubscriptionDelivery = subscription.deliver;
    outcome = await sendChannels(deps, {
      record,
      fresh,
      deliver,
      subject: text,
      text,
      // The links name the digest as their notification: `<subscription>/digest-<minute>`.
      ...notificationLinks(
        { id: input.subscription, generation: stored.generation },
        `${input.subscription}/digest-${input.minute}`,
        deps.env,
        deps.warn,
      ),
      signal: control.signal ?? new AbortController().signal,
    }).catch((error: unknown) => asFailure(error));
  }
  switch (outcome.kind) {
    case 'sent':
      return { held, sent: outcome.channels, ...(outcome.failed ? { failed: outcome.failed } : {}) };
    case 'skipped':
      return { held, skipped: outcome.reason };
    case 'failed':
      return { held, failed: outcome.reason };
    case 'retry': {
      const cause = outcome.error instanceof ApplicationFailure ? outcome.error : undefined;
      throw ApplicationFailure.create({
        message: `digest of ${input.subscription} for ${input.minute}: ${outcome.error.message}; a retry sends only what is not sent`,
        type: cause?.type ?? 'DigestFailed',
        cause: outcome.error,
      });
    }
  }
}
