import os from 'node:os';
import path from 'node:path';
import { onShutdownSignal } from '../devstack/signals';
import type { BenchOptions } from './bench-options';
import { openContext, progress } from './context';
import { machineBasics, renderText, writeReport, type BenchReport } from './report';
import type { ScenarioResult } from './scenario';
import { scenarios } from './scenarios';

/** A scenario that failed; the others still run and are reported. */
export interface ScenarioFailure {
  readonly scenario: string;
  readonly error: string;
}

/**
 * Runs the selected scenarios on one stack, prints each result as it finishes, and writes `latest.json` and
 * `latest.md`. Resolves with the report and any scenario that failed.
 */
export async function runBench(
  options: BenchOptions,
): Promise<{ report: BenchReport; failures: ScenarioFailure[]; files: { json: string; markdown: string } }> {
  const selected =
    options.only.length > 0 ? scenarios.filter((scenario) => options.only.includes(scenario.name)) : scenarios;
  const startedAt = new Date();
  const basics = machineBasics();
  progress(
    `${options.quick ? 'quick' : 'full'} run of ${selected.map((scenario) => scenario.name).join(', ')}, ${options.reps} repetition${options.reps === 1 ? '' : 's'}; ` +
      `${basics.cpus} CPUs, load average ${basics.loadAverageAtStart.join(' ')}`,
  );
  const { ctx, close } = await openContext({
    releaseWorld: selected.some((scenario) => scenario.name === 'e2e'),
    logDir: path.join(options.outDir, 'logs'),
    ...(options.profile ? { profileDir: path.join(options.outDir, 'profiles') } : {}),
  });
  onShutdownSignal(async () => {
    progress('interrupted; stopping the gateway and workers and dropping the benchmark database');
    await close();
  }, 130);

  const results: ScenarioResult[] = [];
  const failures: ScenarioFailure[] = [];
  try {
    for (const scenario of selected) {
      progress(`── ${scenario.title}`);
      const started = Date.now();
      try {
        const result = await scenario.run(ctx, { quick: options.quick, reps: options.reps });
        results.push(result);
        process.stdout.write(`${renderText(result)}\n`);
        progress(`${scenario.name} finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push({ scenario: scenario.name, error: message });
        progress(`${scenario.name} FAILED: ${message}`);
      }
    }
  } finally {
    await close();
  }

  const finishedAt = new Date();
  const goals = results.flatMap((result) => result.goals);
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    options: { quick: options.quick, reps: options.reps, only: selected.map((scenario) => scenario.name) },
    machine: {
      ...basics,
      loadAverageAtEnd: os.loadavg().map((value) => Math.round(value * 100) / 100),
      temporal: ctx.env.temporal,
      mongodb: { origin: ctx.env.mongodb.origin },
    },
    goals: { met: goals.filter((goal) => goal.met).length, missed: goals.filter((goal) => !goal.met).length },
    scenarios: results,
    ...(failures.length > 0 ? { failures } : {}),
  };
  const files = writeReport(options.outDir, report);
  return { report, failures, files };
}
