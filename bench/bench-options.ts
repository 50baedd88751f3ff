import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../config';

/** What `npm run bench -- …` asked for. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly reps: number;
  /** Scenario names to run; every scenario when empty. */
  readonly only: readonly string[];
  readonly outDir: string;
  /** Write CPU profiles of the gateway and worker processes into `<outDir>/profiles`. */
  readonly profile: boolean;
  readonly help: boolean;
}

/** Usage text for `--help`. */
export const USAGE = `Usage: npm run bench -- [options]

  --quick             a small version of every scenario (a few events and runs, one repetition)
  --only <names>      run only these scenarios, comma-separated: intake, interpreter, registry, fanout, memory, e2e, trains,
                      waits, wait-memory, approvals, console, routing, subscriptions, throughput,
                      lifecycle, ageing
  --reps <n>          repetitions per scenario (default 5; 1 with --quick)
  --out <dir>         where latest.json and latest.md go (default bench/results)
  --profile           write CPU profiles of the gateway and worker processes into <out>/profiles
  --help              this text

Uses TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) and MONGODB_URI when set; otherwise starts a local Temporal dev
server and MongoDB-wire server for the run. See bench/README.md.`;

/** A command line that cannot be run; the message says what to change. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/** Parses the bench command line against the known scenario names. */
export function parseBenchArgs(args: readonly string[], scenarioNames: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        reps: { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
  const only = (parsed.only ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = only.filter((name) => !scenarioNames.includes(name));
  if (unknown.length > 0)
    throw new BenchUsageError(`unknown scenario ${unknown.join(', ')}; choose from ${scenarioNames.join(', ')}`);
  const quick = parsed.quick === true;
  let reps = quick ? 1 : 5;
  if (parsed.reps !== undefined) {
    if (!/^[1-9]\d{0,2}$/.test(parsed.reps))
      throw new BenchUsageError(`--reps must be a whole number from 1 to 999, not "${parsed.reps}"`);
    reps = Number(parsed.reps);
  }
  return {
    quick,
    reps,
    only,
    outDir: parsed.out === undefined ? path.join(projectRoot, 'bench', 'results') : path.resolve(parsed.out),
    profile: parsed.profile === true,
    help: parsed.help === true,
  };
}
