/**
 * `npm run soak`: Flow's promises under load and faults, on the real stack. See docs/reliability.md.
 *
 *   npm run soak                  the full soak; writes its figures into docs/reliability.md
 *   npm run soak -- --quick       every scenario, small; writes nothing into docs (a test runs it)
 *   --only burst,chaos            some scenarios (burst, mongo-outage, temporal-restart, chaos)
 *   --out <file>                  also write the report as JSON there
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';
import { onShutdownSignal } from '../devstack/signals';
import { pingDefinition, releaseDefinition } from './definitions';
import { GatewayClient } from './gateway-client';
import { kept, machine, toMarkdown, writeSection, type SoakReport } from './report';
import type { ScenarioReport, SoakScenario } from './scenario';
import { burst } from './scenarios/burst';
import { chaos } from './scenarios/chaos';
import { mongoOutage } from './scenarios/mongo-outage';
import { temporalRestart } from './scenarios/temporal-restart';
import { progress, SoakStack } from './stack';

/** In the order they run: the faults that restart services before the one that kills workers for minutes. */
const SCENARIOS: readonly SoakScenario[] = [burst, mongoOutage, temporalRestart, chaos];

const USAGE = 'usage: npm run soak -- [--quick] [--only <scenario,…>] [--out <report.json>]';

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly out?: string;
}

function parseArgs(args: readonly string[]): Options {
  let quick = false;
  let only: string[] = SCENARIOS.map((s) => s.name);
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg === '--out') {
      const value = args[++i];
      if (!value) throw new UsageError(`${arg} needs a value`);
      if (arg === '--out') out = path.resolve(value);
      else {
        only = value.split(',').map((name) => name.trim());
        const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name));
        if (unknown.length > 0)
          throw new UsageError(
            `unknown scenario ${unknown.join(', ')}; there are ${SCENARIOS.map((s) => s.name).join(', ')}`,
          );
      }
    } else throw new UsageError(`unknown option ${arg}`);
  }
  return { quick, only, ...(out ? { out } : {}) };
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const tag = randomUUID().slice(0, 8);
  const started = Date.now();
  const stack = await SoakStack.start();
  // Ctrl-C (or a test's timeout) stops every process the soak started instead of orphaning them.
  onShutdownSignal(async (signal) => {
    progress(`${signal}: stopping the soak's processes`);
    await stack.stop();
  }, 130);
  // So does a crash: a soak that dies must not leave servers and workers running.
  const crash = (error: unknown): void => {
    progress(`crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void stack.stop().finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash).on('unhandledRejection', crash);
  const reports: ScenarioReport[] = [];
  try {
    await Promise.all([stack.startGateway(), stack.startGateway(), stack.startWorker(), stack.startWorker()]);
    const api = new GatewayClient(stack.token);
    const gateway = stack.gateways[0]!.url!;
    await api.saveDefinition(gateway, pingDefinition(stack.receiver.url));
    await api.saveDefinition(gateway, releaseDefinition(stack.receiver.url));
    for (const scenario of SCENARIOS.filter((s) => options.only.includes(s.name))) {
      const scenarioStarted = Date.now();
      for (const report of await scenario.run(stack, api, { quick: options.quick, tag })) {
        reports.push(report);
        progress(
          `${report.title}: ${kept(report) ? 'kept every promise' : `lost ${report.lost}, ran twice ${report.twice}, ${report.problems.join('; ')}`}`,
        );
      }
      progress(`${scenario.name} took ${((Date.now() - scenarioStarted) / 1000).toFixed(0)} s`);
    }
  } finally {
    await stack.stop();
  }
  const report: SoakReport = {
    date: new Date().toISOString().slice(0, 10),
    quick: options.quick,
    minutes: (Date.now() - started) / 60_000,
    machine: machine(),
    scenarios: reports,
  };
  const markdown = toMarkdown(report);
  console.log(markdown);
  if (options.out) fs.writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  // Only a full run of every scenario describes Flow; a quick or partial one would put small numbers in the docs.
  if (!options.quick && options.only.length === SCENARIOS.length) {
    writeSection(path.join(projectRoot, 'docs', 'reliability.md'), markdown);
    progress('wrote the figures into docs/reliability.md');
  }
  const broken = reports.filter((r) => !kept(r));
  progress(broken.length === 0 ? 'every scenario kept every promise' : `${broken.length} scenario(s) broke a promise`);
  return broken.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
