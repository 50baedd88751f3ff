import { dispatchStartOptions, startFlowWorkflow } from '../../intake';
import { dispatchWorkflowId, WORKFLOW_TYPES } from '../../common/run-types';
import { progress, type BenchContext, type GatewayAnswer } from '../context';
import { flowEvent } from '../definitions';
import { runLoad, waitUntil, type LoadResult } from '../load';
import { BreakdownCollector, compared, goal, RepValues, type Goal, type Metric, type Scenario } from '../scenario';
import { percentile, sum } from '../stats';

const SOURCE = 'bench-intake';
const TYPE = 'ping';
const LEVELS = [1, 16, 64] as const;

/**
 * Events sent per level and side: enough for a stable p99 at full size; a few per caller when quick. Concurrent
 * phases send at least 640, so each lasts several seconds: at 200, a phase at concurrency 16 took two seconds, and
 * one slow moment moved its ratio between 0.67x and 1.02x.
 */
function eventsAt(concurrency: number, quick: boolean): number {
  if (quick) return Math.max(10, concurrency);
  return concurrency === 1 ? 200 : Math.max(640, concurrency * 10);
}

/**
 * Scenario 1: events accepted per second through the gateway (HTTP, auth, rate limit, request log, durable start of
 * the dispatcher) against `client.workflow.start` of the same dispatcher workflow from the load generator itself, and
 * against the hand-written receiver a user would write instead (`bench/baseline/receiver.ts`, in its own process).
 */
export const intake: Scenario = {
  name: 'intake',
  title: 'Intake: events accepted through the gateway vs raw workflow starts and a hand-written receiver',
  async run(ctx, { quick, reps }) {
    const values = new RepValues();
    const receiver = await ctx.receiver();
    const send = {
      gateway: async (key: string, index: number): Promise<void> => {
        expectAccepted('the gateway', key, await ctx.postEvent(SOURCE, TYPE, { n: index }, key));
      },
      // What a user would write instead of Flow: Express, a bearer token, one start of the same dispatcher.
      receiver: async (key: string, index: number): Promise<void> => {
        expectAccepted('the hand-written receiver', key, await receiver.postEvent(SOURCE, TYPE, { n: index }, key));
      },
      raw: async (key: string, index: number): Promise<void> => {
        const event = flowEvent(SOURCE, TYPE, { n: index }, `${SOURCE}-${key}`);
        await startFlowWorkflow(ctx.client, 'dispatchEvent', {
          taskQueue: ctx.flowTaskQueue,
          workflowId: dispatchWorkflowId(event.id),
          args: [event],
        });
      },
      // Not a goal's baseline: raw starts with exactly the gateway's start options, to split the gap in two.
      options: async (key: string, index: number): Promise<void> => {
        const event = flowEvent(SOURCE, TYPE, { n: index }, `${SOURCE}-${key}`);
        await startFlowWorkflow(ctx.client, 'dispatchEvent', dispatchStartOptions(event, ctx.flowTaskQueue));
      },
    };
    const phase = async (
      side: keyof typeof send,
      label: string,
      total: number,
      concurrency: number,
    ): Promise<LoadResult & { startCallMs?: number; cpuMsPerEvent: Record<string, number> }> => {
      // Quick runs only check that everything works, so they skip the waits that make the sides comparable.
      if (!quick) await drained(ctx);
      const cpuBefore = ctx.cpuMs();
      const before = side === 'gateway' ? await ctx.gatewayStartCalls(SOURCE) : undefined;
      const result = await runLoad(total, concurrency, (index) => send[side](`${ctx.tag}-${label}-${index}`, index));
      const after = before && (await ctx.gatewayStartCalls(SOURCE));
      // The phase's CPU includes running its dispatchers, so it waits for them before reading the counters.
      if (!quick) await drained(ctx);
      const cpuAfter = ctx.cpuMs();
      const cpuMsPerEvent = Object.fromEntries(
        Object.entries(cpuAfter).map(([name, ms]) => [name, (ms - (cpuBefore[name] ?? 0)) / total]),
      );
      if (!before || !after) return { ...result, cpuMsPerEvent };
      const startCallMs = ((after.seconds - before.seconds) / (after.count - before.count)) * 1000;
      return { ...result, startCallMs, cpuMsPerEvent };
    };

    const phases = {
      http: 'in the gateway process and on the wire, outside the start call: HTTP, auth, rate limit, body parsing, request log',
      start: "the gateway's `client.workflow.start` of the dispatcher (its `flow_dispatch_latency_seconds`)",
    };
    const breakdowns = new Map(
      LEVELS.map((c) => [c, new BreakdownCollector(`Mean request through the gateway at concurrency ${c}`, phases)]),
    );
    // CPU time per event by process (`ms` in these tables is CPU milliseconds), dispatchers included.
    const cpuPhases = {
      runner: 'the load generator: HTTP client, or Temporal client for raw starts',
      gateway: 'the gateway process',
      'flow worker': 'the Flow worker, running the dispatchers',
      'Temporal server': 'the Temporal dev server, when this run started it',
      'MongoDB server': 'the MongoDB-wire server, when this run started it',
      receiver: 'the hand-written receiver process',
    };
    const sideTitles = {
      gateway: 'through the gateway',
      receiver: 'through the hand-written receiver',
      raw: 'raw starts',
      options: "raw starts with Flow's start options",
    } as const;
    const cpuBreakdowns = new Map(
      LEVELS.flatMap((c) =>
        (Object.keys(sideTitles) as (keyof typeof sideTitles)[]).map((side) => [
          `${c}.${side}`,
          new BreakdownCollector(`CPU time per event at concurrency ${c}, ${sideTitles[side]} (CPU ms)`, cpuPhases),
        ]),
      ),
    );
    progress('intake: warming up every side');
    const warmUp = quick ? 8 : 32;
    await phase('gateway', 'warm-g', warmUp, 8);
    await phase('receiver', 'warm-h', warmUp, 8);
    await phase('raw', 'warm-r', warmUp, 8);
    await phase('options', 'warm-o', warmUp, 8);

    for (let rep = 0; rep < reps; rep++) {
      for (const concurrency of LEVELS) {
        const total = eventsAt(concurrency, quick);
        // Each side goes first, second and last in turn.
        const sides = ['gateway', 'receiver', 'raw', 'options'] as const;
        const order = sides.map((_, i) => sides[(i + rep) % sides.length]!);
        for (const side of order) {
          const result = await phase(side, `${side}${rep}c${concurrency}`, total, concurrency);
          values.add(`c${concurrency}.${side}.throughput`, result.throughput);
          values.add(`c${concurrency}.${side}.p50`, percentile(result.latencies, 50));
          values.add(`c${concurrency}.${side}.p99`, percentile(result.latencies, 99));
          values.add(`c${concurrency}.${side}.cpu`, sum(Object.values(result.cpuMsPerEvent)));
          const collector = cpuBreakdowns.get(`${concurrency}.${side}`)!;
          collector.add(result.cpuMsPerEvent);
          collector.endRep();
          const mean = sum(result.latencies) / result.latencies.length;
          if (result.startCallMs !== undefined) {
            breakdowns.get(concurrency)!.add({ http: mean - result.startCallMs, start: result.startCallMs });
            values.add(`c${concurrency}.gateway.start`, result.startCallMs);
          } else if (side === 'raw') {
            values.add(`c${concurrency}.raw.start`, mean);
          }
        }
        breakdowns.get(concurrency)!.endRep();
        progress(
          `intake rep ${rep + 1}/${reps}, concurrency ${concurrency}: ` +
            order
              .map((side) => `${sideTitles[side]} ${last(values, `c${concurrency}.${side}.throughput`).toFixed(0)}/s`)
              .join(', '),
        );
      }
    }
    await drained(ctx);

    const metrics: Metric[] = [];
    const goals: Goal[] = [];
    for (const concurrency of LEVELS) {
      const of = (side: string, what: string): number[] => values.get(`c${concurrency}.${side}.${what}`);
      const vs = (key: string, title: string, unit: string, what: string, side: string, base: string): Metric =>
        compared(`c${concurrency}.${key}`, title, unit, of(side, what), of(base, what));
      const at = `at concurrency ${concurrency}`;
      const throughput = vs('throughput', `Throughput ${at}`, 'events/s', 'throughput', 'gateway', 'raw');
      const p50 = vs('p50', `p50 latency ${at}`, 'ms', 'p50', 'gateway', 'raw');
      const p99 = vs('p99', `p99 latency ${at}`, 'ms', 'p99', 'gateway', 'raw');
      const start = vs('start', `Mean start call ${at}, in the gateway vs raw`, 'ms', 'start', 'gateway', 'raw');
      // Where the throughput gap comes from: Temporal's cost of Flow's start options, and then everything else.
      const optionsCost = vs(
        'optionsCost',
        `Throughput ${at}: raw with Flow's start options vs plain raw`,
        'events/s',
        'throughput',
        'options',
        'raw',
      );
      const gatewayCost = vs(
        'gatewayCost',
        `Throughput ${at}: gateway vs raw with Flow's start options`,
        'events/s',
        'throughput',
        'gateway',
        'options',
      );
      metrics.push(throughput, p50, p99, start, optionsCost, gatewayCost);
      // Where a gap comes from when the services share the benchmark's cores: CPU spent per event, in total.
      metrics.push(vs('cpu', `CPU time per event ${at}, all processes read`, 'ms', 'cpu', 'gateway', 'raw'));
      // Against what a user would write instead: both sides pay for an HTTP hop and a process of their own.
      const byHand = (what: string, title: string, unit: string): Metric =>
        vs(`receiver.${what}`, `${title} ${at}, gateway vs hand-written receiver`, unit, what, 'gateway', 'receiver');
      const receiverThroughput = byHand('throughput', 'Throughput', 'events/s');
      const receiverP99 = byHand('p99', 'p99 latency', 'ms');
      metrics.push(
        receiverThroughput,
        byHand('p50', 'p50 latency', 'ms'),
        receiverP99,
        byHand('cpu', 'CPU time per event (all processes read)', 'ms'),
        vs(
          'receiverHop',
          `Throughput ${at}: hand-written receiver vs raw`,
          'events/s',
          'throughput',
          'receiver',
          'raw',
        ),
      );
      goals.push(
        goal(throughput, `Gateway throughput at least 0.9x raw at concurrency ${concurrency}`, { atLeast: 0.9 }),
        goal(p99, `Gateway p99 latency at most 1.5x raw at concurrency ${concurrency}`, { atMost: 1.5 }),
        goal(
          receiverThroughput,
          `Gateway throughput at least 0.9x the hand-written receiver at concurrency ${concurrency}`,
          { atLeast: 0.9 },
        ),
        goal(receiverP99, `Gateway p99 latency at most 1.2x the hand-written receiver at concurrency ${concurrency}`, {
          atMost: 1.2,
        }),
      );
    }
    return {
      name: intake.name,
      title: intake.title,
      measures:
        `A closed loop of senders at concurrency 1, 16 and 64 (${LEVELS.map((c) => eventsAt(c, quick)).join(', ')} events a side) ` +
        'POSTs events with an Idempotency-Key to the real gateway process (`gateway/main.ts`: bearer token, rate limit, ' +
        'request log, one durable `dispatchEvent` start). Throughput is events over the wall time; latency is per request.',
      baseline:
        '`client.workflow.start` of the same `dispatchEvent` workflow with the same event, from the load generator; and ' +
        'a hand-written receiver (`bench/baseline/receiver.ts`) in its own process: one Express route, `express.json()`, ' +
        'a constant-time bearer token check, `client.workflow.start` with the workflow id from the Idempotency-Key, 202.',
      metrics,
      goals,
      breakdowns: [
        ...LEVELS.map((c) => breakdowns.get(c)!.result()),
        ...LEVELS.flatMap((c) => Object.keys(sideTitles).map((side) => cpuBreakdowns.get(`${c}.${side}`)!.result())),
      ],
      notes: [
        'Both sides start the same dispatcher on the same task queue; the Flow worker runs them (they match nothing). ' +
          (quick
            ? "Quick runs do not wait for one phase's dispatchers to finish before the next phase."
            : 'Each phase waits until the dispatchers of the previous one have finished.'),
        "The gateway also sets three search attributes, a static summary and the dedupe policies on each start, and logs every request at info level to a file, as it does by default; the raw start sets none of them. A third side, raw starts with exactly the gateway's start options (`dispatchStartOptions`), splits the throughput gap into what those options cost Temporal and what the gateway process costs.",
        'The hand-written receiver sets no search attributes, summary or dedupe policies (Temporal refuses a second start of a running workflow id anyway), logs nothing, has no rate limit and answers errors with bare JSON.',
      ],
    };
  },
};

/** Throws unless `who` accepted new event `key`: 202, and not a duplicate. */
function expectAccepted(who: string, key: string, answer: GatewayAnswer): void {
  if (answer.status !== 202) throw new Error(`${who} answered ${answer.status}: ${answer.body.detail ?? ''}`);
  // Every key is new: a duplicate would mean a start was retried after it had succeeded.
  if (answer.body.duplicate !== false) throw new Error(`${who} called new event ${key} a duplicate`);
}

/** Waits until no dispatcher of an earlier phase is still running, so one phase's backlog does not slow the next. */
async function drained(ctx: BenchContext): Promise<void> {
  const query = `TaskQueue = "${ctx.flowTaskQueue}" AND WorkflowType = "${WORKFLOW_TYPES.dispatchEvent}" AND ExecutionStatus = "Running"`;
  await waitUntil(
    'the intake dispatchers to finish',
    async () => (await ctx.client.workflow.count(query)).count === 0,
    300_000,
    250,
  );
}

function last(values: RepValues, key: string): number {
  return values.get(key).at(-1)!;
}
