import { runWorkflowId, dispatchWorkflowId } from '../../common/run-types';
import { mapLimit } from '../../common/map-limit';
import { eventIdFor } from '../../intake';
import { HttpReceiver } from '../../test/support/http-receiver';
import { cpuMsByProcess } from '../cpu';
import { progress, timedPost, type BenchContext } from '../context';
import { eventsPerStep, historyFacts, timestampMs, type HistoryFacts } from '../histories';
import { nowMs, runLoad, waitUntil } from '../load';
import {
  BreakdownCollector,
  compared,
  goal,
  RepValues,
  type Goal,
  type Metric,
  type Scenario,
  type ScenarioResult,
} from '../scenario';
import { median, percentile, sum } from '../stats';

const SOURCE = 'bench-throughput';
const LEVELS = [1, 16, 64] as const;
/** The HTTP steps of every run: three POSTs in a row. */
const STEPS = 3;
/** Flow's completed runs a second on this scenario's load before issue 21 (3.4–3.8/s, medians of 3 repetitions). */
const RUNS_PER_SECOND_BEFORE = 3.6;

/**
 * The sides, in the order of the first repetition; each repetition starts with the next one. `flow` runs the
 * definition with `execution: local` on every step; `flowRemote` the same with `execution: remote` (what
 * `http.request` defaults to since the soak counted the repeats a killed worker causes with local steps); the baselines
 * are a hand-written receiver and workflow with activities (`baseline`) or local activities (`baselineLocal`).
 */
const SIDES = ['flow', 'baseline', 'flowRemote', 'baselineLocal'] as const;
type Side = (typeof SIDES)[number];
type Mode = 'local' | 'remote';

const SIDE_TITLES: Readonly<Record<Side, string>> = {
  flow: 'Flow, every step `execution: local`',
  flowRemote: 'Flow, every step `execution: remote`',
  baseline: 'hand-written, activities',
  baselineLocal: 'hand-written, local activities',
};

/** Events a side sends at one level: fewer at concurrency 1, where the loop's pace, not the load, bounds the time. */
function eventsAt(concurrency: number, quick: boolean): number {
  if (quick) return concurrency === 1 ? 10 : 30;
  return concurrency === 1 ? 100 : 500;
}

/** Events whose histories are read for the operation counts, per side and level. */
function sampleSize(quick: boolean): number {
  return quick ? 10 : 20;
}

/** What one phase (a side at one level) measured. */
interface PhaseResult {
  readonly runsPerSecond: number;
  /** POST sent → the run's WorkflowExecutionCompleted (server time), per event. */
  readonly endToEnd: number[];
  /** CPU ms per event of the side's own processes: its front door, its worker, Temporal and MongoDB. */
  readonly cpuMsPerEvent: Record<string, number>;
  /** The histories of the sampled events: the dispatcher's and the run's for Flow, the run's for the baselines. */
  readonly samples: readonly { readonly dispatcher?: HistoryFacts; readonly run: HistoryFacts }[];
}

/** Temporal's work per event, read from a sample of histories. */
interface Operations {
  readonly starts: number;
  readonly workflowTasks: number;
  readonly activityTasks: number;
  readonly markers: number;
  readonly events: number;
  /** The run's history alone: events per step, past the five every workflow has. */
  readonly runEventsPerStep: number;
}

/**
 * Scenario: webhook events that each start a run of three HTTP POSTs to a local receiver, sent by a closed loop of
 * senders at concurrency 1, 16 and 64 (issue 21, part 1): completed runs a second, end-to-end latency, CPU per event
 * by process, and Temporal's operations per event, against hand-written Temporal code with activities and with local
 * activities.
 */
export const throughput: Scenario = {
  name: 'throughput',
  title: 'Throughput: webhook events running three HTTP steps vs hand-written Temporal code',
  async run(ctx, { quick, reps }) {
    const sink = await HttpReceiver.start();
    try {
      return await measure(ctx, sink, quick, reps);
    } finally {
      await sink.stop();
    }
  },
};

/** Runs every side at every level `reps` times, with `sink` as the steps' HTTP receiver, and reports. */
async function measure(ctx: BenchContext, sink: HttpReceiver, quick: boolean, reps: number): Promise<ScenarioResult> {
  const receiver = await ctx.receiver();
  const target = `${sink.url}/calls`;
  const definitions = {
    flow: callsDefinition('bench-throughput', 'calls', target, 'local'),
    flowRemote: callsDefinition('bench-throughput-remote', 'calls-remote', target, 'remote'),
  };
  await ctx.saveDefinition(definitions.flow);
  await ctx.saveDefinition(definitions.flowRemote);

  /** Sends one event of `side` with `key` and returns when it was sent and its run's workflow id. */
  const send = async (side: Side, key: string, n: number): Promise<{ sentAt: number; runId: string }> => {
    if (side === 'flow' || side === 'flowRemote') {
      const definition = definitions[side];
      const { sentAt } = await timedPost(ctx, SOURCE, definition.on[0]!.type, { n }, key);
      return { sentAt, runId: runWorkflowId(definition.id, eventIdFor(SOURCE, key)) };
    }
    const sentAt = nowMs();
    const answer = await receiver.postRun(side === 'baseline' ? 'remote' : 'local', { n, target }, key);
    if (answer.status !== 202 || !answer.body.workflowId)
      throw new Error(`the hand-written receiver answered ${answer.status}: ${answer.body.detail ?? ''}`);
    return { sentAt, runId: answer.body.workflowId };
  };
  /** The id each run sends as `event` in its POSTs: Flow's event id, or the baseline's Idempotency-Key. */
  const postedEventId = (side: Side, key: string): string =>
    side === 'flow' || side === 'flowRemote' ? eventIdFor(SOURCE, key) : key;
  /** Runs of `side` that have closed, as visibility counts them. */
  const closedRuns = async (side: Side): Promise<number> => {
    const which =
      side === 'flow' || side === 'flowRemote'
        ? `WorkflowType = "interpret" AND FlowDefinition = "${definitions[side].id}"`
        : `WorkflowType = "${side === 'baseline' ? 'postThrice' : 'postThriceLocal'}" AND TaskQueue = "${ctx.baselineTaskQueue}"`;
    return (await ctx.client.workflow.count(`${which} AND ExecutionStatus != "Running"`)).count;
  };
  const cpuNow = (): Record<string, number> => ({
    ...ctx.cpuMs(),
    ...cpuMsByProcess({ 'baseline worker': ctx.baselineWorkerPid }),
  });

  const phase = async (side: Side, label: string, total: number, concurrency: number): Promise<PhaseResult> => {
    const keys = Array.from({ length: total }, (_, index) => `${ctx.tag}-${label}-${index}`);
    const sent = new Array<{ sentAt: number; runId: string }>(total);
    const closedBefore = await closedRuns(side);
    sink.requests.length = 0;
    const cpuBefore = cpuNow();
    await runLoad(total, concurrency, async (index) => {
      sent[index] = await send(side, keys[index]!, index);
    });
    // Each run's POSTs can take minutes to drain at the pace Flow ran at before issue 21 (3.4–3.8 runs a second).
    await waitUntil(
      `the ${total} runs of ${label} to close`,
      async () => (await closedRuns(side)) >= closedBefore + total,
      120_000 + total * 2_000,
      250,
    );
    const cpuAfter = cpuNow();
    // Services on another machine (TEMPORAL_ADDRESS, MONGODB_URI) have no CPU time to read, so no row.
    const cpuMsPerEvent = Object.fromEntries(
      cpuProcesses(side)
        .filter(([, processName]) => cpuAfter[processName] !== undefined && cpuBefore[processName] !== undefined)
        .map(([phaseName, processName]) => [phaseName, (cpuAfter[processName]! - cpuBefore[processName]!) / total]),
    );
    const wrong = postsOtherThanThree(
      sink,
      keys.map((key) => postedEventId(side, key)),
    );
    if (wrong.length > 0) {
      // What Temporal recorded for the first few: a repeated POST is a retried step or a workflow task run again.
      const described = await mapLimit(wrong.slice(0, 3), 3, async ({ index, steps }) => {
        const facts = await historyFacts(ctx.client, sent[index]!.runId);
        const events = Object.entries(facts.byType).map(([type, count]) => `${type} ${count}`);
        return `${sent[index]!.runId} got steps [${steps.join(', ')}]; its history: ${events.join(', ')}`;
      });
      throw new Error(
        `${label}: ${wrong.length} of ${total} events did not make exactly ${STEPS} POSTs (${sink.requests.length} ` +
          `in all), such as ${described.join('; ')}`,
      );
    }
    sink.requests.length = 0;
    const closedAt = await mapLimit(sent, 16, async ({ runId }) => {
      const description = await ctx.client.workflow.getHandle(runId).describe();
      if (description.status.name !== 'COMPLETED') throw new Error(`run ${runId} ended ${description.status.name}`);
      return timestampMs(description.raw.workflowExecutionInfo?.closeTime);
    });
    const firstSent = Math.min(...sent.map((one) => one.sentAt));
    const lastClosed = Math.max(...closedAt);
    const sampled = sampleIndexes(total, sampleSize(quick));
    const samples = await mapLimit(sampled, 4, async (index) => {
      const run = await historyFacts(ctx.client, sent[index]!.runId);
      if (side !== 'flow' && side !== 'flowRemote') return { run };
      const dispatcher = await historyFacts(ctx.client, dispatchWorkflowId(eventIdFor(SOURCE, keys[index])));
      return { dispatcher, run };
    });
    return {
      runsPerSecond: (total / (lastClosed - firstSent)) * 1000,
      endToEnd: closedAt.map((at, index) => at - sent[index]!.sentAt),
      cpuMsPerEvent,
      samples,
    };
  };

  const values = new RepValues();
  const cpuBreakdowns = new Map(
    LEVELS.flatMap((c) =>
      SIDES.map((side) => [
        `${c}.${side}`,
        new BreakdownCollector(`CPU time per event at concurrency ${c}, ${SIDE_TITLES[side]} (CPU ms)`, CPU_PHASES),
      ]),
    ),
  );
  const modes = new Map<Side, Set<Mode | 'none'>>();

  progress('throughput: warming up every side');
  for (const side of SIDES) await phase(side, `warm-${side}`, quick ? 3 : 16, 4);

  for (let rep = 0; rep < reps; rep++) {
    const samples = new Map<Side, PhaseResult['samples'][number][]>(SIDES.map((side) => [side, []]));
    for (const concurrency of LEVELS) {
      const total = eventsAt(concurrency, quick);
      const order = SIDES.map((_, index) => SIDES[(index + rep) % SIDES.length]!);
      for (const side of order) {
        const result = await phase(side, `${side}${rep}c${concurrency}`, total, concurrency);
        const key = `c${concurrency}.${side}`;
        values.add(`${key}.runs`, result.runsPerSecond);
        values.add(`${key}.p50`, percentile(result.endToEnd, 50));
        values.add(`${key}.p99`, percentile(result.endToEnd, 99));
        values.add(`${key}.cpu`, sum(Object.values(result.cpuMsPerEvent)));
        const collector = cpuBreakdowns.get(`${concurrency}.${side}`)!;
        collector.add(result.cpuMsPerEvent);
        collector.endRep();
        samples.get(side)!.push(...result.samples);
        for (const sample of result.samples) {
          const seen = modes.get(side) ?? new Set();
          seen.add(stepMode(sample.run));
          modes.set(side, seen);
        }
        progress(
          `throughput rep ${rep + 1}/${reps}, concurrency ${concurrency}, ${SIDE_TITLES[side]}: ` +
            `${result.runsPerSecond.toFixed(1)} runs/s, p50 ${percentile(result.endToEnd, 50).toFixed(0)} ms, ` +
            `${sum(Object.values(result.cpuMsPerEvent)).toFixed(0)} CPU ms/event`,
        );
      }
    }
    for (const side of SIDES) {
      const ops = operations(samples.get(side)!);
      for (const [name, value] of Object.entries(ops) as [string, number][]) values.add(`${side}.ops.${name}`, value);
    }
  }

  // Flow's local side is compared with the hand-written code of the mode its steps ran in (from the histories).
  const flowModes = [...(modes.get('flow') ?? [])];
  const flowMode: Mode = flowModes.length === 1 && flowModes[0] === 'local' ? 'local' : 'remote';
  const sameMode: Side = flowMode === 'local' ? 'baselineLocal' : 'baseline';
  const metrics: Metric[] = [];
  const goals: Goal[] = [];
  const vs = (id: string, label: string, unit: string, flow: string, baseline: string): Metric =>
    compared(id, label, unit, values.get(flow), values.get(baseline));
  const against = SIDE_TITLES[sameMode];
  for (const c of LEVELS) {
    const at = `at concurrency ${c}`;
    const rows = (suffix: string, flowSide: Side, baseSide: Side, title: string): Metric[] =>
      MEASURES.map(([what, label, unit]) =>
        vs(
          `c${c}.${what}${suffix}`,
          `${label} ${at}, ${title}`,
          unit,
          `c${c}.${flowSide}.${what}`,
          `c${c}.${baseSide}.${what}`,
        ),
      );
    const local = rows('', 'flow', sameMode, `Flow's local steps vs ${against}`);
    const remote = rows('.remote', 'flowRemote', 'baseline', `Flow every step remote vs ${SIDE_TITLES.baseline}`);
    metrics.push(...local, ...remote);
    if (flowMode === 'local')
      metrics.push(
        vs(
          `c${c}.runs.local`,
          `Completed runs/s ${at}, Flow's local steps vs every step remote`,
          'runs/s',
          `c${c}.flow.runs`,
          `c${c}.flowRemote.runs`,
        ),
      );
    metrics.push(
      vs(
        `c${c}.runs.handLocal`,
        `Completed runs/s ${at}, hand-written: local activities vs activities`,
        'runs/s',
        `c${c}.baselineLocal.runs`,
        `c${c}.baseline.runs`,
      ),
    );
    goals.push(
      goal(local.at(-1)!, `Flow's CPU per event at most 1.2x ${against} at concurrency ${c}`, { atMost: 1.2 }),
      goal(
        remote.at(-1)!,
        `Flow's CPU per event, every step remote, at most 1.2x hand-written activities at concurrency ${c}`,
        {
          atMost: 1.2,
        },
      ),
    );
  }
  const ops = (name: keyof Operations, label: string, unit: string): Metric[] => [
    vs(
      `ops.${name}`,
      `${label}, Flow's local steps vs ${against}`,
      unit,
      `flow.ops.${name}`,
      `${sameMode}.ops.${name}`,
    ),
    vs(
      `ops.${name}.remote`,
      `${label}, Flow every step remote vs ${SIDE_TITLES.baseline}`,
      unit,
      `flowRemote.ops.${name}`,
      `baseline.ops.${name}`,
    ),
  ];
  metrics.push(
    ...ops('starts', 'Workflow starts per event', 'starts'),
    ...ops('workflowTasks', 'Workflow tasks per event', 'tasks'),
    ...ops('events', 'History events per event (dispatcher and run for Flow)', 'events'),
  );
  const perStep = vs(
    'ops.runEventsPerStep',
    "History events per step, the run's history alone: Flow's local steps vs hand-written local activities",
    'events',
    'flow.ops.runEventsPerStep',
    'baselineLocal.ops.runEventsPerStep',
  );
  metrics.push(perStep);
  goals.push(
    goal(perStep, 'History events per local step at most those of a hand-written local activity', { atMost: 1 }),
  );

  /** A Flow side's median runs/s at each level, and its multiple of the runs/s before issue 21. */
  const againstBefore = (side: Side): string =>
    LEVELS.map((c) => {
      const runs = median(values.get(`c${c}.${side}.runs`));
      return `${runs.toFixed(1)}/s at ${c} (${(runs / RUNS_PER_SECOND_BEFORE).toFixed(2)}x)`;
    }).join(', ');
  return {
    name: throughput.name,
    title: throughput.title,
    measures:
      `Webhook events (${LEVELS.map((c) => eventsAt(c, quick)).join(', ')} a side at concurrency ${LEVELS.join(', ')}) ` +
      `POSTed by a closed loop of senders; each starts a run of ${STEPS} sequential HTTP POSTs to a receiver in the ` +
      'runner, which must get exactly three per event. Completed runs/s: events over the time from the first POST to ' +
      "the last run's close; end to end: POST sent → the run's WorkflowExecutionCompleted (server time). CPU per event: " +
      "the side's front door (gateway or hand-written receiver), its worker, and the Temporal and MongoDB-wire servers, " +
      `from /proc. Operations per event: from the histories of ${sampleSize(quick)} events per side and level.`,
    baseline:
      'The hand-written receiver (`bench/baseline/receiver.ts`, its own process): `POST /runs/:mode` checks the bearer ' +
      'token and starts `postThrice` (three activities) or `postThriceLocal` (three local activities), each POSTing with ' +
      '`fetch`, with the timeout and retry policy of a Flow step, on the baseline worker.',
    metrics,
    goals,
    breakdowns: LEVELS.flatMap((c) => SIDES.map((side) => cpuBreakdowns.get(`${c}.${side}`)!.result())),
    notes: [
      `Flow's definition: three \`http.request\` POST steps with a fixed loopback URL and \`execution: local\`, which ` +
        `ran as ${flowModes.join(' and ') || 'nothing'} steps here (from the run histories); so its goals compare ` +
        `it with ${against}.`,
      "The every-remote side runs the same definition with `execution: remote` on each step: http.request's default.",
      `Completed runs/s (median) against the ${RUNS_PER_SECOND_BEFORE}/s Flow ran at before issue 21 (goals: at least 4x ` +
        `with local steps, the built-in defaults when they were set, 2x with every step remote, http.request's default ` +
        `now; absolute, so comparable only on the same, equally quiet machine): local ${againstBefore('flow')}; ` +
        `every step remote ${againstBefore('flowRemote')}.`,
      ...SIDES.map((side) => operationsNote(side, values)),
      `At concurrency 1 each side sends ${eventsAt(1, quick)} events, to bound the run's time; the senders wait for ` +
        "each POST's answer, not for its run, so at every level the runs queue up while the POSTs are answered.",
      'CPU per event leaves out the runner (load generator, Temporal client and the HTTP receiver the steps call), ' +
        "the other side's idle processes, and services this run did not start (then it is the Node processes' alone).",
    ],
  };
}

/** What is compared at each level, in this order: the key in the collected values, the label and the unit. */
const MEASURES = [
  ['runs', 'Completed runs/s', 'runs/s'],
  ['p50', 'End-to-end p50', 'ms'],
  ['p99', 'End-to-end p99', 'ms'],
  ['cpu', 'CPU per event (front door, worker, Temporal, MongoDB)', 'ms'],
] as const;

/** The processes whose CPU a side pays for, as breakdown phase → `cpuMs()` name. */
function cpuProcesses(side: Side): readonly (readonly [string, string])[] {
  const flow = side === 'flow' || side === 'flowRemote';
  return [
    ['front door', flow ? 'gateway' : 'receiver'],
    ['worker', flow ? 'flow worker' : 'baseline worker'],
    ['Temporal server', 'Temporal server'],
    ['MongoDB server', 'MongoDB server'],
  ];
}

const CPU_PHASES = {
  'front door': "the gateway (Flow) or the hand-written receiver's process",
  worker: 'the Flow worker (dispatchers and runs) or the baseline worker',
  'Temporal server': 'the Temporal dev server, when this run started it',
  'MongoDB server': 'the MongoDB-wire server, when this run started it',
};

/** A definition of three `http.request` POSTs to `url`, each sending `{event, step}`, bound to `SOURCE/type`. */
function callsDefinition(id: string, type: string, url: string, execution?: Mode) {
  return {
    id,
    name: `Benchmark ${id}`,
    on: [{ source: SOURCE, type }],
    steps: Array.from({ length: STEPS }, (_, index) => ({
      id: `post${index + 1}`,
      action: 'http.request',
      with: { method: 'POST', url, json: { event: '${{ run.eventId }}', step: index + 1 } },
      ...(execution === undefined ? {} : { execution }),
    })),
  };
}

/** The events (by index) for which the receiver did not get exactly one POST of each step, with the steps it got. */
function postsOtherThanThree(
  sink: HttpReceiver,
  eventIds: readonly string[],
): { readonly index: number; readonly steps: readonly number[] }[] {
  const steps = new Map<string, number[]>();
  for (const request of sink.requests) {
    const { event, step } = (request.json ?? {}) as { event?: unknown; step?: unknown };
    const list = steps.get(String(event)) ?? [];
    list.push(Number(step));
    steps.set(String(event), list);
  }
  const expected = new Set(eventIds);
  const strays = [...steps.keys()].filter((id) => !expected.has(id));
  if (strays.length > 0)
    throw new Error(`the receiver got POSTs for events it was not sent: ${strays.slice(0, 3).join(', ')}`);
  return eventIds.flatMap((id, index) => {
    const got = steps.get(id) ?? [];
    return got.length === STEPS ? [] : [{ index, steps: got }];
  });
}

/** `count` indexes spread evenly over `0…total-1` (all of them when there are fewer). */
function sampleIndexes(total: number, count: number): number[] {
  if (total <= count) return Array.from({ length: total }, (_, index) => index);
  return Array.from({ length: count }, (_, index) => Math.floor((index * total) / count));
}

/** How a run's HTTP steps ran: as activities, as local activities, or neither (no step found). */
function stepMode(run: HistoryFacts): Mode | 'none' {
  const types = ['http.request', 'bench.post'];
  if (types.some((type) => run.activityMsByType[type] !== undefined)) return 'remote';
  if (types.some((type) => run.localActivityMsByType[type] !== undefined)) return 'local';
  return 'none';
}

/** Temporal's work per event, as the median over the sampled events. */
function operations(
  samples: readonly { readonly dispatcher?: HistoryFacts; readonly run: HistoryFacts }[],
): Operations {
  const per = (of: (facts: HistoryFacts) => number): number =>
    median(samples.map((sample) => of(sample.run) + (sample.dispatcher ? of(sample.dispatcher) : 0)));
  return {
    starts: per(() => 1),
    workflowTasks: per((facts) => facts.workflowTasks),
    activityTasks: per((facts) => facts.byType['ActivityTaskScheduled'] ?? 0),
    markers: per((facts) => facts.markers),
    events: per((facts) => facts.events),
    runEventsPerStep: median(samples.map((sample) => eventsPerStep(sample.run, STEPS))),
  };
}

/** One line of a side's operations per event (medians over the repetitions). */
function operationsNote(side: Side, values: RepValues): string {
  const of = (name: keyof Operations): string => String(median(values.get(`${side}.ops.${name}`)));
  return (
    `Temporal operations per event, ${SIDE_TITLES[side]}: ${of('starts')} workflow starts, ${of('workflowTasks')} ` +
    `workflow tasks, ${of('activityTasks')} activity tasks, ${of('markers')} markers (local activities, patches), ` +
    `${of('events')} history events; the run's history ${of('runEventsPerStep')} events per step.`
  );
}
