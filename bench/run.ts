/**
 * `npm run bench`: Flow against hand-written Temporal code on the same server, in the same run. See bench/README.md.
 */
import { BenchUsageError, parseBenchArgs, USAGE } from './bench-options';
import { progress } from './context';
import { runBench } from './run-bench';
import { scenarios } from './scenarios';

async function main(): Promise<number> {
  const options = parseBenchArgs(
    process.argv.slice(2),
    scenarios.map((scenario) => scenario.name),
  );
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const { report, failures, files } = await runBench(options);
  progress(`goals: ${report.goals.met} met, ${report.goals.missed} missed`);
  progress(`wrote ${files.json} and ${files.markdown}`);
  for (const failure of failures) progress(`scenario ${failure.scenario} failed; see above`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof BenchUsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
