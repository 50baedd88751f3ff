import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchReport } from '../../bench/report';
import { scenarios } from '../../bench/scenarios';
import { projectRoot } from '../../config';

/** Goals the issue sets, by scenario: every one must be reported with a ratio. */
const GOALS_PER_SCENARIO: Readonly<Record<string, number>> = {
  intake: 12,
  interpreter: 6,
  registry: 1,
  fanout: 1,
  trains: 2,
  memory: 1,
  e2e: 0,
  waits: 1,
  'wait-memory': 1,
  approvals: 1,
  console: 3,
  routing: 2,
  subscriptions: 1,
  throughput: 7,
  lifecycle: 0,
  ageing: 1,
};

/**
 * `npm run bench -- --quick` runs every scenario against the test services, so the benchmarks never rot. Nothing here
 * is timed: only that the run succeeds and reports what a reader needs.
 */
describe('bench: the quick benchmark run', () => {
  let out: string;
  let bench: ChildProcess | undefined;

  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-bench-test-'));
  });

  after(async () => {
    // A timed-out run is interrupted, so it stops its processes and drops its database.
    if (bench && bench.exitCode === null && bench.signalCode === null) {
      const exited = new Promise((resolve) => bench?.once('exit', resolve));
      bench.kill('SIGINT');
      await exited;
    }
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('measures every scenario for Flow and its baseline and writes latest.json and latest.md', async function () {
    // Sixteen scenarios: about four minutes on 2 busy cores, so the limit leaves room for a loaded machine.
    this.timeout(480_000);
    const run = runQuickBench(out);
    bench = run.child;
    const { code, output } = await run.done;
    assert.equal(code, 0, `npm run bench -- --quick exited with ${code}:\n${output.slice(-4_000)}`);

    const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')) as BenchReport;
    assert.deepEqual(
      report.scenarios.map((scenario) => scenario.name),
      scenarios.map((scenario) => scenario.name),
    );
    assert.equal(report.options.quick, true);
    assert.ok(report.machine.cpus > 0 && report.machine.node.startsWith('v'));
    assert.ok(report.machine.temporal.address.length > 0);

    for (const scenario of report.scenarios) {
      assert.ok(scenario.metrics.length > 0, `${scenario.name} has measurements`);
      for (const metric of scenario.metrics) {
        const where = `${scenario.name}: ${metric.label}`;
        assertPositive(where, metric.flow.values);
        if (metric.baseline) {
          assertPositive(`${where} (baseline)`, metric.baseline.values);
          assertPositive(`${where} (ratio)`, metric.ratio?.values ?? []);
        }
      }
      if (scenario.name !== 'e2e') {
        assert.ok(
          scenario.metrics.some((metric) => metric.baseline !== undefined),
          `${scenario.name} compares Flow with a baseline`,
        );
      }
      assert.equal(scenario.goals.length, GOALS_PER_SCENARIO[scenario.name], `${scenario.name}: goals`);
      for (const goal of scenario.goals) {
        assert.ok(Number.isFinite(goal.ratio) && goal.ratio > 0, `${scenario.name}: "${goal.text}" has a ratio`);
        assert.equal(typeof goal.met, 'boolean');
        assert.ok(scenario.metrics.some((metric) => metric.id === goal.metric && metric.ratio));
      }
      assert.ok(
        scenario.breakdowns.every((breakdown) => breakdown.phases.length > 0),
        `${scenario.name}: breakdowns have phases`,
      );
    }
    const goals = report.scenarios.flatMap((scenario) => scenario.goals);
    assert.equal(report.goals.met + report.goals.missed, goals.length);

    const markdown = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
    assert.match(markdown, /^# Flow benchmarks/);
    assert.match(markdown, /\| Measurement \| Flow \| Baseline \| Ratio \|/);
    assert.match(markdown, /## Goals: \d+ met, \d+ missed/);
    assert.match(markdown, /Where time goes/);
    for (const scenario of report.scenarios)
      assert.ok(markdown.includes(scenario.title), `latest.md has ${scenario.name}`);
  });
});

function assertPositive(where: string, values: readonly number[]): void {
  assert.ok(values.length > 0, `${where}: no values`);
  for (const value of values) assert.ok(Number.isFinite(value) && value > 0, `${where}: ${value} is not positive`);
}

/** Runs `npm run bench -- --quick --out <dir>` as a user would, on the fixture's services (from the environment). */
function runQuickBench(outDir: string): {
  child: ChildProcess;
  done: Promise<{ code: number | null; output: string }>;
} {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'bench/run.ts', '--quick', '--out', outDir], {
    cwd: projectRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
  return { child, done };
}
