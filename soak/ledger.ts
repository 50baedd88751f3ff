import { WorkflowFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { mapLimit } from '../common/map-limit';
import { WORKFLOW_TYPES, type DispatchResult } from '../common/run-types';
import { NO_ANSWER, type Answer } from './gateway-client';
import { progress } from './stack';

/** An event the gateway accepted (202), however often it was posted. */
export interface AcceptedEvent {
  readonly eventId: string;
  readonly workflowId: string;
  /** When the first 202 for it arrived (ms since the epoch). */
  readonly acceptedAt: number;
  /** 202 answers for it: more than one when the sender posted it again with the same key. */
  answers: number;
  /** How many of those answers said `duplicate: true`. */
  duplicates: number;
}

/** What was sent and what the gateway answered, per scenario. */
export class Ledger {
  posts = 0;
  readonly statuses = new Map<number, number>();
  readonly accepted = new Map<string, AcceptedEvent>();
  /** Answers that were neither 202 nor 503/no answer: anything else is a bug in the soak or in Flow. */
  readonly unexpected: string[] = [];

  record(answer: Answer, at = Date.now()): void {
    this.posts++;
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    if (answer.status === 202 && answer.eventId && answer.workflowId) {
      const known = this.accepted.get(answer.eventId);
      if (known) {
        known.answers++;
        if (answer.duplicate) known.duplicates++;
      } else {
        this.accepted.set(answer.eventId, {
          eventId: answer.eventId,
          workflowId: answer.workflowId,
          acceptedAt: at,
          answers: 1,
          duplicates: answer.duplicate ? 1 : 0,
        });
      }
    } else if (answer.status !== 503 && answer.status !== NO_ANSWER) {
      if (this.unexpected.length < 20) this.unexpected.push(`${answer.status}: ${answer.detail ?? ''}`);
    }
  }

  /** Requests the gateway refused (503) or did not answer; the sender knows to send them again. */
  get refused(): number {
    return (this.statuses.get(503) ?? 0) + (this.statuses.get(NO_ANSWER) ?? 0);
  }
}

/** How the accepted events of a scenario ended. */
export interface Settlement {
  /** Accepted events whose dispatcher and run completed and whose side effect arrived. */
  readonly completed: number;
  /** Accepted events that did not complete: no dispatcher, no run, a failed run, or no side effect. */
  readonly lost: readonly { readonly eventId: string; readonly why: string }[];
  /** Accepted events with more than one run of the definition. */
  readonly runTwice: readonly string[];
  /** Accepted events whose side effect arrived more than once (an activity repeated: at least once). */
  readonly repeated: readonly string[];
}

/** The first few lost events with why, for a scenario's broken promises. */
export function lostExamples(settled: Settlement): string[] {
  return settled.lost.slice(0, 5).map(({ eventId, why }) => `lost ${eventId}: ${why}`);
}

/** Reads each event's outcome from Temporal and its side effects from the receiver's counts. */
export async function settle(
  client: Client,
  ledger: Ledger,
  definitionId: string,
  /** Side effects per event id, read once every run has ended. */
  readHits: () => ReadonlyMap<string, number>,
  deadline: number,
): Promise<Settlement> {
  const events = [...ledger.accepted.values()];
  const lost: { eventId: string; why: string }[] = [];
  const runTwice: string[] = [];
  const repeated: string[] = [];
  const outcomes = new Map<string, Awaited<ReturnType<typeof outcomeOf>>>();
  let done = 0;
  let lastReport = Date.now();
  await mapLimit(events, 64, async (event) => {
    const outcome = await outcomeOf(client, event, definitionId, deadline);
    done++;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      progress(`  settled ${done.toLocaleString('en')}/${events.length.toLocaleString('en')} events`);
    }
    outcomes.set(event.eventId, outcome);
  });
  const hits = readHits();
  for (const [eventId, outcome] of outcomes) {
    if (outcome.runs > 1) runTwice.push(eventId);
    const count = hits.get(eventId) ?? 0;
    if (!outcome.completed || count === 0) lost.push({ eventId, why: outcome.why ?? 'no side effect arrived' });
    if (count > 1) repeated.push(eventId);
  }
  return { completed: events.length - lost.length, lost, runTwice, repeated };
}

async function outcomeOf(
  client: Client,
  event: AcceptedEvent,
  definitionId: string,
  deadline: number,
): Promise<{ completed: boolean; runs: number; why?: string }> {
  for (;;) {
    try {
      const dispatch = await untilDeadline<DispatchResult>(
        client.workflow.getHandle(event.workflowId).result() as Promise<DispatchResult>,
        deadline,
      );
      const runs = dispatch.matched.filter((run) => run.definition === definitionId);
      if (runs.length === 0) return { completed: false, runs: 0, why: 'the dispatcher started no run' };
      for (const run of runs) await untilDeadline(client.workflow.getHandle(run.workflowId).result(), deadline);
      return { completed: true, runs: runs.length };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return { completed: false, runs: 0, why: 'no such workflow' };
      if (error instanceof WorkflowFailedError) return { completed: false, runs: 1, why: `failed: ${error.message}` };
      // The soak's own client lost Temporal for a moment (a restart scenario just ran): ask again.
      if (Date.now() >= deadline)
        return { completed: false, runs: 0, why: error instanceof Error ? error.message : String(error) };
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

function untilDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('did not finish before the soak gave up')),
      Math.max(0, deadline - Date.now()),
    );
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The dispatchers Temporal has for events of `type` from the soak (visibility is eventually consistent: waits until
 * the count reaches `expected` or stops changing for ten seconds).
 */
export async function dispatcherCount(client: Client, type: string, expected: number): Promise<number> {
  const query = `WorkflowType = "${WORKFLOW_TYPES.dispatchEvent}" AND FlowSource = "soak" AND FlowEventType = "${type}"`;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count === expected) return count;
    if (count !== last) {
      last = count;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 10_000) return count;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Counts requests at the receiver under `path` by the event id in their JSON body. */
export function hitsByEvent(requests: readonly { path: string; json: unknown }[], path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of requests) {
    if (request.path !== path) continue;
    const id = (request.json as { event?: unknown } | undefined)?.event;
    if (typeof id === 'string') counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
