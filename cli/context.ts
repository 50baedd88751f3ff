import type { Command } from 'commander';
import { FlowClient } from './client';
import { resolveSettings, type Settings } from './config';
import { type Output } from './output';

/** What every command gets: the output, and the gateway settings and client (resolved when first asked for). */
export interface CliContext {
  readonly output: Output;
  settings(): Settings;
  client(): FlowClient;
}

/** The context of one flowctl invocation; `program`'s global `--url` and `--token` are read when first needed. */
export function createContext(program: Command, output: Output, env: NodeJS.ProcessEnv = process.env): CliContext {
  let settings: Settings | undefined;
  let client: FlowClient | undefined;
  const resolve = (): Settings => {
    if (!settings) {
      const flags = program.opts<{ url?: string; token?: string }>();
      settings = resolveSettings(flags, env);
      output.addSecret(settings.token);
    }
    return settings;
  };
  return {
    output,
    settings: resolve,
    client() {
      client ??= new FlowClient(resolve().url, resolve().token);
      return client;
    },
  };
}

/** `/api/...` path segment, encoded. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
