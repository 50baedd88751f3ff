import { proxyActivities, sleep } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import type { DigestResult, DigestWorkflowInput } from '../activities/subscriptions/rate';

/** Retries without a limit, backing off to every 30 s while MongoDB, Slack or the SMTP server is down. */
const DURABLE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/**
 * One per subscription and rate window that held a notification back (workflow id `digest-<subscription>-<minute>`,
 * started once by the first held-back notification: docs/subscriptions.md, "A noisy event does not flood anyone").
 * Sleeps until `sendAt` (the window's end plus a grace, so notifications decided at its last moment are counted),
 * then sends one message counting what the window held back through the `sendSubscriptionDigest` activity, which
 * does it once. Deterministic: the workflow's clock and a timer, no I/O.
 */
export async function subscriptionDigest(input: DigestWorkflowInput): Promise<DigestResult> {
  const wait = Date.parse(input.sendAt) - Date.now();
  if (wait > 0) await sleep(wait);
  const { sendSubscriptionDigest } = proxyActivities<InternalActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: '15s',
    retry: DURABLE_RETRY,
  });
  return sendSubscriptionDigest({ subscription: input.subscription, minute: input.minute });
}
