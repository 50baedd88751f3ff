/**
 * flowctl, Flow's command-line client (issue 19; docs/flowctl.md): definitions kept in git (validate, apply, export,
 * diff, rollback), events and runs (emit, plan, events unmatched, runs, approve, reject, trains) and subscriptions
 * (subscribe, subscriptions …) for scripts, CI jobs and release managers at a terminal. It talks to the gateway's HTTP API like any client; `validate` runs the gateway's own
 * validator offline. `bin/flowctl` runs this file.
 */
import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply';
import { registerCompletion } from './commands/completion';
import { registerDefinitions } from './commands/definitions';
import { registerEvents } from './commands/events';
import { registerExport } from './commands/export';
import { registerLogin } from './commands/login';
import { registerRuns } from './commands/runs';
import { registerSubscriptions } from './commands/subscriptions';
import { registerTrains } from './commands/trains';
import { registerValidate } from './commands/validate';
import { createContext } from './context';
import { CliError, EXIT } from './errors';
import { Output } from './output';

/** The commands, wired to `output`; separate from {@link runFlowctl} so the completion script can walk them. */
export function buildProgram(output: Output, env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('flowctl');
  program
    .description(
      'Flow from the command line: definitions as files in git, events, runs, approvals, trains and subscriptions',
    )
    .version(packageVersion(), '-V, --version')
    .option('--url <url>', 'the gateway (default: FLOW_URL, then flowctl login, then http://localhost:3000)')
    .option('--token <token>', 'the API token (default: FLOW_TOKEN, then flowctl login); prefer FLOW_TOKEN')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => process.stdout.write(output.redact(text)),
      writeErr: (text) => process.stderr.write(output.redact(text)),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failed, 2 usage, 3 invalid, 4 not found, 5 unauthorized or forbidden, 6 gateway unreachable.
Every command has --help with examples; read commands take --json. See docs/flowctl.md.`,
    );
  const context = createContext(program, output, env);
  const get = program.command('get').description('List definitions, actions, runs, trains or subscriptions');
  const describe = program.command('describe').description('Show one definition or subscription in detail');
  registerValidate(program, context);
  registerApply(program, context);
  registerExport(program, context);
  registerDefinitions(program, { get, describe }, context);
  registerEvents(program, context);
  registerRuns(program, { get }, context);
  registerTrains(program, { get }, context);
  registerSubscriptions(program, { get, describe }, context);
  registerLogin(program, context);
  registerCompletion(program, context);
  return program;
}

/** Runs flowctl with `argv` (as `process.argv`) and resolves with its exit code. */
export async function runFlowctl(argv: readonly string[]): Promise<number> {
  const output = new Output();
  const program = buildProgram(output);
  try {
    await program.parseAsync(argv, { from: 'node' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its message already (through the redacting writers).
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      output.error(error.message, undefined);
      for (const problem of error.problems)
        output.note(
          `  ${problem.line === undefined ? '' : `line ${problem.line}: `}${problem.path} ${problem.message}`,
        );
      if (error.hint) output.note(error.hint);
      return error.exitCode;
    }
    output.error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'This is a bug in flowctl.');
    return EXIT.failed;
  }
}

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

if (require.main === module) {
  void runFlowctl(process.argv).then((code) => process.exit(code));
}
