/**
 * "Is anyone there?": whether a worker polls a task queue for activities now, from Temporal's task-queue description
 * (`DescribeTaskQueue`, activity type, legacy mode: its `pollers` and each one's `lastAccessTime`).
 *
 * Temporal lists a poller for minutes after it stopped (it forgets one about five minutes after its last poll), so a
 * listed poller is not proof of a worker. Each poll refreshes the poller's `lastAccessTime` when it starts, and an
 * idle worker's poll is held by the server for its long-poll interval (`matching.longPollExpirationInterval`, one
 * minute by default) before it polls again: a live worker's `lastAccessTime` is at most about a minute old. A queue
 * counts as polled when one of its pollers polled within {@link QueueLivenessOptions.staleAfterMs} (two long-poll
 * intervals by default), so a worker that died is reported gone one to two minutes after its last poll. A worker
 * whose every activity slot is busy stops polling too, and reads as gone until a slot frees: its queue's next step
 * waits either way.
 */
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { google } from '@temporalio/proto';

/** Whether a worker polls one task queue for activities, as `/api/actions`, `/api/plan` and the runs API show it. */
export interface QueueWorker {
  /** The task queue. */
  readonly queue: string;
  /**
   * `true` when a worker polled the queue within the staleness window, `false` when none did (none is listed, or the
   * newest poll is older), `null` when Temporal could not say (see `unknown`).
   */
  readonly polled: boolean | null;
  /** The newest poll Temporal lists for the queue (ISO 8601); absent when it lists none, or could not say. */
  readonly lastSeen?: string;
  /** When Temporal was asked (ISO 8601); answers are reused for a few seconds. */
  readonly checkedAt: string;
  /** Why `polled` is `null`: Temporal's error. */
  readonly unknown?: string;
}

/** Tuning of a {@link QueueLiveness}; the defaults suit a Temporal server with its default long-poll interval. */
export interface QueueLivenessOptions {
  /** How long one queue's answer is reused (default 5 s): a burst of requests asks Temporal once per queue. */
  readonly cacheMs?: number;
  /**
   * A poller whose last poll is older than this is gone (default 120 s: two of Temporal's default one-minute long
   * polls). Set it to about twice `matching.longPollExpirationInterval` when the server's differs.
   */
  readonly staleAfterMs?: number;
  /** How long to wait for Temporal's answer (default 3 s); no answer in time is `polled: null`. */
  readonly timeoutMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** Queues whose answers are kept at most; beyond this the oldest are dropped (queue names come from definitions). */
const MAX_CACHED_QUEUES = 1_000;

const ACTIVITY = proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
const NORMAL = proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL;

/**
 * Asks Temporal whether workers poll task queues, caching each queue's answer for `cacheMs`. Concurrent callers for
 * one queue share one describe; a Temporal that errs or is slow gives `polled: null` with the reason, never a throw.
 */
export class QueueLiveness {
  private readonly cache = new Map<string, { readonly at: number; readonly answer: Promise<QueueWorker> }>();
  private readonly cacheMs: number;
  private readonly staleAfterMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  /** The Temporal client, taken when first needed (a gateway is built before it is used). */
  private readonly clientOf: () => Client;

  constructor(client: Client | (() => Client), options: QueueLivenessOptions = {}) {
    this.clientOf = typeof client === 'function' ? client : () => client;
    this.cacheMs = options.cacheMs ?? 5_000;
    this.staleAfterMs = options.staleAfterMs ?? 120_000;
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether a worker polls `queue` now (or within the last `cacheMs`). */
  check(queue: string): Promise<QueueWorker> {
    const now = this.now();
    const cached = this.cache.get(queue);
    if (cached && now - cached.at < this.cacheMs) return cached.answer;
    const answer = this.describe(queue, now);
    // Deleted first, so the map's order is the order of the answers: the oldest go first when it is full.
    this.cache.delete(queue);
    this.cache.set(queue, { at: now, answer });
    for (const name of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHED_QUEUES) break;
      this.cache.delete(name);
    }
    return answer;
  }

  /** {@link check} for several queues at once, by queue. */
  async checkAll(queues: Iterable<string>): Promise<ReadonlyMap<string, QueueWorker>> {
    const unique = [...new Set(queues)];
    const answers = await Promise.all(unique.map((queue) => this.check(queue)));
    return new Map(unique.map((queue, index) => [queue, answers[index]!]));
  }

  private async describe(queue: string, now: number): Promise<QueueWorker> {
    const checkedAt = new Date(now).toISOString();
    try {
      const client = this.clientOf();
      const response = await client.withDeadline(now + this.timeoutMs, () =>
        client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: queue, kind: NORMAL },
          taskQueueType: ACTIVITY,
        }),
      );
      const newest = Math.max(
        Number.NEGATIVE_INFINITY,
        ...response.pollers.map((poller) => millis(poller.lastAccessTime)).filter((at) => at !== undefined),
      );
      if (newest === Number.NEGATIVE_INFINITY) return { queue, polled: false, checkedAt };
      return {
        queue,
        polled: now - newest <= this.staleAfterMs,
        lastSeen: new Date(newest).toISOString(),
        checkedAt,
      };
    } catch (error) {
      return {
        queue,
        polled: null,
        checkedAt,
        unknown: `Temporal did not describe task queue "${queue}": ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}`,
      };
    }
  }
}

/** A protobuf timestamp in milliseconds since the epoch. */
function millis(timestamp: google.protobuf.ITimestamp | null | undefined): number | undefined {
  if (!timestamp?.seconds) return undefined;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6);
}
