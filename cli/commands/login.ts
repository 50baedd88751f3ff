import fs from 'node:fs';
import type { Command } from 'commander';
import { FlowClient } from '../client';
import { checkedUrl, configPath, readConfig, resolveSettings, writeConfig } from '../config';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../errors';

/** `flowctl login` and `flowctl logout`: the gateway and token kept in the user's config file (0600). */
export function registerLogin(program: Command, context: CliContext): void {
  const { output } = context;
  program
    .command('login')
    .description('Check a gateway URL and token, and save them for later commands (mode 0600)')
    .option('--token-stdin', 'read the token from stdin (for scripts: never put a token on a command line)')
    .option('--no-verify', 'save without asking the gateway whether it takes the token')
    .addHelpText(
      'after',
      `
The token comes from --token-stdin, --token, FLOW_TOKEN, or a prompt on a terminal; it is never printed.
The file is $XDG_CONFIG_HOME/flowctl/config.json, or ~/.config/flowctl/config.json. FLOW_URL/FLOW_TOKEN and
--url/--token win over it.

Examples:
  flowctl --url https://flow.example.com login            # prompts for the token
  cat token.txt | flowctl --url https://flow.example.com login --token-stdin`,
    )
    .action(async (options: { tokenStdin?: boolean; verify: boolean }) => {
      const flags = program.opts<{ url?: string; token?: string }>();
      const settings = resolveSettings(flags);
      const url = checkedUrl(settings.url);
      let token: string | undefined;
      if (options.tokenStdin) token = fs.readFileSync(0, 'utf8').trim();
      else if (settings.tokenFrom === 'flag' || settings.tokenFrom === 'env') token = settings.token;
      else if (process.stdin.isTTY) token = await promptHidden(`Token for ${url}: `);
      if (!token)
        throw new CliError(
          'No token given.',
          EXIT.usage,
          'Pipe it in with --token-stdin, set FLOW_TOKEN, or run flowctl login on a terminal to be asked.',
        );
      output.addSecret(token);
      if (options.verify) {
        // Any read needs a valid token: a refused one is a 401 (exit 5), and nothing is saved.
        await new FlowClient(url, token).get('/api/definitions', { limit: 1 });
      }
      const file = configPath();
      writeConfig(file, { ...readConfig(file), url, token });
      output.line(`Saved ${url} and its token to ${file} (readable by you only).`);
    });

  program
    .command('logout')
    .description('Forget the token saved by flowctl login (the URL stays)')
    .action(() => {
      const file = configPath();
      const { url } = readConfig(file);
      if (fs.existsSync(file)) writeConfig(file, url === undefined ? {} : { url });
      output.line(`Removed the saved token from ${file}.`);
    });

  program
    .command('whoami')
    .description('Show which gateway this flowctl talks to, and the name and scope of its token')
    .option('--json', 'print {url, actor, scope, via} as JSON')
    .action(async (options: { json?: boolean }) => {
      const url = checkedUrl(context.settings().url);
      const caller = await context.client().get<{ actor: string; scope: string; via: string }>('/api/whoami');
      if (options.json) return output.json({ url, ...caller });
      output.line(`${caller.actor} (${caller.scope} scope) at ${url}`);
    });
}

/** Asks for a secret on the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          done();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          done();
          reject(new CliError('Cancelled.', EXIT.failed));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
