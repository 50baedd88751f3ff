import type { GatewayClient } from './gateway-client';
import type { Ledger } from './ledger';
import type { SoakStack } from './stack';

/** How big a soak is. */
export interface SoakOptions {
  /** The small version, run by a test so the soak never rots: every scenario, few events, short faults. */
  readonly quick: boolean;
  /** A short tag unique to this soak, in every idempotency key. */
  readonly tag: string;
}

/** What a scenario reports: figures for the table, and the promises it checks. */
export interface ScenarioReport {
  readonly name: string;
  readonly title: string;
  /** What the scenario does, in a sentence or two. */
  readonly what: string;
  /** Label and value, in the order the table shows them. */
  readonly figures: readonly (readonly [string, string | number])[];
  /** Accepted events that never ran or did not complete: must be 0. */
  readonly lost: number;
  /** Accepted events that ran twice (two runs of a definition for one event): must be 0. */
  readonly twice: number;
  /** Other promises broken (say which), such as two dispatchers for one event: must be empty. */
  readonly problems: readonly string[];
  readonly notes: readonly string[];
}

/** A soak scenario. */
export interface SoakScenario {
  readonly name: string;
  run(stack: SoakStack, api: GatewayClient, options: SoakOptions): Promise<ScenarioReport[]>;
}

/** One event to post: its type, body and key (none: a sender without idempotency keys). */
export interface Send {
  readonly event: { readonly source: string; readonly type: string };
  readonly body: object;
  readonly key?: string;
}

/**
 * Posts `sends` with `concurrency` senders, each waiting for its answer, spreading them over the running gateways in
 * turn. A send with a key is sent again after a 503 or no answer, as a sender that follows the docs does (up to
 * `retries` times, a second apart); one without a key is not, since that would be a second event.
 */
export async function postAll(
  stack: SoakStack,
  api: GatewayClient,
  ledger: Ledger,
  sends: readonly Send[],
  concurrency: number,
  retries = 60,
): Promise<void> {
  let next = 0;
  let turn = 0;
  const sender = async (): Promise<void> => {
    while (next < sends.length) {
      const send = sends[next++]!;
      for (let attempt = 0; ; attempt++) {
        const gateways = stack.gateways;
        const gateway = gateways[turn++ % Math.max(1, gateways.length)];
        if (!gateway?.url) throw new Error('no gateway is running');
        const answer = await api.postEvent(gateway.url, send.event, send.body, send.key);
        ledger.record(answer);
        if (answer.status === 202 || send.key === undefined || attempt >= retries) break;
        if (answer.status !== 503 && answer.status !== 0) break;
        await sleep(1_000);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, sends.length) }, sender));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `n` as `12,345`. */
export function count(n: number): string {
  return n.toLocaleString('en');
}

/** Seconds with one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
