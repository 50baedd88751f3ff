import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Breakdown, Goal, Metric, ScenarioResult } from './scenario';
import type { Summary } from './stats';

/** Where the benchmarks ran. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd?: readonly number[];
  readonly temporal: { readonly address: string; readonly namespace: string; readonly origin: string };
  readonly mongodb: { readonly origin: string };
}

/** The whole run, as written to `latest.json`. */
export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly options: { readonly quick: boolean; readonly reps: number; readonly only: readonly string[] };
  readonly machine: MachineInfo;
  readonly goals: { readonly met: number; readonly missed: number };
  readonly scenarios: readonly ScenarioResult[];
  /** Scenarios that failed with an error instead of a result. */
  readonly failures?: readonly { readonly scenario: string; readonly error: string }[];
}

/** What `os` says about this machine now. */
export function machineBasics(): Pick<
  MachineInfo,
  'cpus' | 'cpuModel' | 'memoryGB' | 'node' | 'platform' | 'loadAverageAtStart'
> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: os.loadavg().map(round2),
  };
}

/** Writes `latest.json` and `latest.md` into `dir`; returns their paths. */
export function writeReport(dir: string, report: BenchReport): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const markdown = path.join(dir, 'latest.md');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(markdown, renderMarkdown(report));
  return { json, markdown };
}

/** The report as markdown: the goals first, then one table per scenario with its breakdown. */
export function renderMarkdown(report: BenchReport): string {
  const { machine, options } = report;
  const lines: string[] = [
    '# Flow benchmarks',
    '',
    `${report.startedAt} · ${options.quick ? 'quick' : 'full'} run, ${options.reps} repetition${options.reps === 1 ? '' : 's'} · ` +
      `${Math.round(report.durationSeconds)} s`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB, Node ${machine.node}, ${machine.platform}; ` +
      `load average ${machine.loadAverageAtStart.join(' ')} at the start${machine.loadAverageAtEnd ? `, ${machine.loadAverageAtEnd.join(' ')} at the end` : ''}.`,
    `Temporal ${machine.temporal.address} (${machine.temporal.origin}, namespace ${machine.temporal.namespace}); MongoDB: ${machine.mongodb.origin}.`,
    '',
    'Each cell is the median over the repetitions, with the minimum and maximum in brackets. A ratio is Flow divided by ' +
      'its baseline, taken within each repetition; a goal is checked against the median ratio.',
    '',
  ];
  const goals = report.scenarios.flatMap((scenario) => scenario.goals.map((g) => ({ scenario, goal: g })));
  if (goals.length > 0) {
    lines.push(
      `## Goals: ${report.goals.met} met, ${report.goals.missed} missed`,
      '',
      '| | Goal | Ratio | Target |',
      '|---|---|---|---|',
    );
    for (const { goal } of goals)
      lines.push(`| ${goal.met ? 'met' : '**missed**'} | ${goal.text} | ${ratio(goal.ratio)} | ${target(goal)} |`);
    lines.push('');
  }
  for (const failure of report.failures ?? []) {
    lines.push(`## Failed: ${failure.scenario}`, '', '```', failure.error, '```', '');
  }
  report.scenarios.forEach((scenario, index) => {
    lines.push(`## ${index + 1}. ${scenario.title}`, '', scenario.measures, '');
    if (scenario.baseline) lines.push(`Baseline: ${scenario.baseline}`, '');
    lines.push(...metricsTable(scenario.metrics), '');
    for (const breakdown of scenario.breakdowns) lines.push(...breakdownTable(breakdown), '');
    for (const note of scenario.notes) lines.push(`- ${note}`);
    if (scenario.notes.length > 0) lines.push('');
  });
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A scenario's metrics as a markdown table. */
export function metricsTable(metrics: readonly Metric[]): string[] {
  const rows = ['| Measurement | Flow | Baseline | Ratio |', '|---|---:|---:|---:|'];
  for (const metric of metrics) {
    rows.push(
      `| ${metric.label} (${metric.unit}) | ${cell(metric.flow, number)} | ${metric.baseline ? cell(metric.baseline, number) : '—'} | ${metric.ratio ? cell(metric.ratio, ratio) : '—'} |`,
    );
  }
  return rows;
}

/** Where the time of a Flow run goes, as a markdown table. */
export function breakdownTable(breakdown: Breakdown): string[] {
  const total = breakdown.phases.reduce((sum, phase) => sum + Math.max(0, phase.ms.median), 0);
  const rows = [`Where time goes: ${breakdown.title}`, '', '| Phase | ms | Share | What |', '|---|---:|---:|---|'];
  for (const phase of breakdown.phases) {
    const share = total > 0 ? `${Math.round((Math.max(0, phase.ms.median) / total) * 100)}%` : '—';
    rows.push(`| ${phase.name} | ${cell(phase.ms, number)} | ${share} | ${phase.description} |`);
  }
  return rows;
}

/** A compact text table for the terminal. */
export function renderText(result: ScenarioResult): string {
  const lines = [`\n${result.title}`];
  const width = Math.max(...result.metrics.map((metric) => metric.label.length + metric.unit.length + 3), 20);
  for (const metric of result.metrics) {
    const label = `${metric.label} (${metric.unit})`.padEnd(width);
    const base = metric.baseline ? `  baseline ${number(metric.baseline.median).padStart(8)}` : '';
    const r = metric.ratio ? `  ratio ${ratio(metric.ratio.median)}` : '';
    lines.push(`  ${label} flow ${number(metric.flow.median).padStart(8)}${base}${r}`);
  }
  for (const breakdown of result.breakdowns) {
    lines.push(`  where time goes (${breakdown.title}):`);
    for (const phase of breakdown.phases)
      lines.push(`    ${phase.name.padEnd(12)} ${number(phase.ms.median).padStart(8)} ms`);
  }
  for (const goal of result.goals)
    lines.push(`  ${goal.met ? 'met   ' : 'MISSED'} ${goal.text}: ${ratio(goal.ratio)} (${target(goal)})`);
  return lines.join('\n');
}

function cell(summary: Summary, format: (value: number) => string): string {
  if (summary.values.length === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

function number(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratio(value: number): string {
  // A ratio that is close to, but not exactly, 1 keeps enough digits to show that it is not equal.
  const short = value.toFixed(2);
  return `${short === '1.00' && value !== 1 ? value.toFixed(4) : short}x`;
}

function target(goal: Goal): string {
  const parts: string[] = [];
  if (goal.target.atLeast !== undefined) parts.push(`≥ ${goal.target.atLeast}x`);
  if (goal.target.atMost !== undefined) parts.push(`≤ ${goal.target.atMost}x`);
  if (goal.target.equals !== undefined) parts.push(`= ${goal.target.equals}x`);
  return parts.join(', ');
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
