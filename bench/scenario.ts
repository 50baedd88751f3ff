import type { BenchContext } from './context';
import { median, summarize, type Summary } from './stats';

/** One measured quantity: Flow's value and, when there is one, the baseline's, each over the repetitions. */
export interface Metric {
  /** Stable key, such as `c16.throughput`; goals refer to it. */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly flow: Summary;
  readonly baseline?: Summary;
  /** Flow divided by the baseline, computed per repetition and then summarised. */
  readonly ratio?: Summary;
}

/** A target on a metric's median ratio. */
export interface GoalTarget {
  readonly atMost?: number;
  readonly atLeast?: number;
  readonly equals?: number;
}

/** A goal from the issue, checked against the median ratio of one metric. */
export interface Goal {
  readonly text: string;
  readonly metric: string;
  readonly target: GoalTarget;
  /** The median ratio the goal was checked against. */
  readonly ratio: number;
  readonly met: boolean;
}

/** Where the time of a Flow run goes, phase by phase (milliseconds, median per repetition). */
export interface Breakdown {
  readonly title: string;
  readonly phases: readonly { readonly name: string; readonly description: string; readonly ms: Summary }[];
}

/** Everything one scenario reports. */
export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  /** What is measured, in a sentence or two. */
  readonly measures: string;
  /** What the baseline is, when there is one. */
  readonly baseline?: string;
  readonly metrics: readonly Metric[];
  readonly goals: readonly Goal[];
  readonly breakdowns: readonly Breakdown[];
  readonly notes: readonly string[];
}

/** How a scenario should run. */
export interface ScenarioOptions {
  /** The small version: fewer events, runs and definitions. */
  readonly quick: boolean;
  readonly reps: number;
}

/** A benchmark scenario. */
export interface Scenario {
  /** The name `--only` takes. */
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext, options: ScenarioOptions): Promise<ScenarioResult>;
}

/** Collects one value per repetition under a key, such as `c16.flow.throughput`. */
export class RepValues {
  private readonly values = new Map<string, number[]>();

  add(key: string, value: number): void {
    if (!Number.isFinite(value)) throw new Error(`${key}: measured ${value}`);
    const list = this.values.get(key) ?? [];
    list.push(value);
    this.values.set(key, list);
  }

  get(key: string): number[] {
    const list = this.values.get(key);
    if (!list || list.length === 0) throw new Error(`nothing was measured for ${key}`);
    return list;
  }
}

/** A metric with a baseline; the ratio is taken repetition by repetition, so slow moments hit both sides. */
export function compared(id: string, label: string, unit: string, flow: number[], baseline: number[]): Metric {
  if (flow.length !== baseline.length)
    throw new Error(`${id}: ${flow.length} Flow values, ${baseline.length} baseline`);
  const ratios = flow.map((value, index) => ratioOf(value, baseline[index]!));
  return { id, label, unit, flow: summarize(flow), baseline: summarize(baseline), ratio: summarize(ratios) };
}

/** A metric of Flow alone. */
export function flowOnly(id: string, label: string, unit: string, flow: number[]): Metric {
  return { id, label, unit, flow: summarize(flow) };
}

/** Checks a goal against a metric's median ratio. */
export function goal(metric: Metric, text: string, target: GoalTarget): Goal {
  if (!metric.ratio) throw new Error(`goal "${text}" needs a metric with a baseline; ${metric.id} has none`);
  const ratio = metric.ratio.median;
  const met =
    (target.atMost === undefined || ratio <= target.atMost) &&
    (target.atLeast === undefined || ratio >= target.atLeast) &&
    (target.equals === undefined || ratio === target.equals);
  return { text, metric: metric.id, target, ratio, met };
}

/** Collects the phases of many runs and summarises them as the median per repetition. */
export class BreakdownCollector {
  private readonly current = new Map<string, number[]>();
  private readonly perRep = new RepValues();
  private readonly order: string[] = [];

  constructor(
    private readonly title: string,
    private readonly descriptions: Readonly<Record<string, string>>,
  ) {}

  /** Records one run's phases, in milliseconds. */
  add(phases: Readonly<Record<string, number>>): void {
    for (const [name, ms] of Object.entries(phases)) {
      if (!this.order.includes(name)) this.order.push(name);
      const list = this.current.get(name) ?? [];
      list.push(ms);
      this.current.set(name, list);
    }
  }

  /** Ends a repetition: each phase's median over its runs becomes that repetition's value. */
  endRep(): void {
    for (const [name, list] of this.current) this.perRep.add(name, median(list));
    this.current.clear();
  }

  result(): Breakdown {
    return {
      title: this.title,
      phases: this.order.map((name) => ({
        name,
        description: this.descriptions[name] ?? '',
        ms: summarize(this.perRep.get(name)),
      })),
    };
  }
}

function ratioOf(flow: number, baseline: number): number {
  if (baseline === 0) return flow === 0 ? 1 : Number.MAX_VALUE;
  return flow / baseline;
}
