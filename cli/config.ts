import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usageError } from './errors';

/** Where the gateway is when nothing says otherwise: `npm start`'s address. */
export const DEFAULT_URL = 'http://localhost:3000';

/** What `flowctl login` stores. */
export interface StoredConfig {
  readonly url?: string;
  readonly token?: string;
}

/** The gateway and token a command uses, and where each came from (for messages; never the token itself). */
export interface Settings {
  readonly url: string;
  readonly token: string | undefined;
  readonly urlFrom: 'flag' | 'env' | 'config' | 'default';
  readonly tokenFrom: 'flag' | 'env' | 'config' | 'none';
  readonly configFile: string;
}

/** `$XDG_CONFIG_HOME/flowctl/config.json`, else `~/.config/flowctl/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env['HOME'] ?? os.homedir(), '.config');
  return path.join(base, 'flowctl', 'config.json');
}

/** The stored configuration; empty when there is none. A file that is not JSON is a usage error naming it. */
export function readConfig(file: string): StoredConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const record = parsed as Record<string, unknown>;
    return {
      ...(typeof record['url'] === 'string' ? { url: record['url'] } : {}),
      ...(typeof record['token'] === 'string' ? { token: record['token'] } : {}),
    };
  } catch {
    throw usageError(`${file} is not a flowctl configuration (JSON with url and token).`, 'Run flowctl login again.');
  }
}

/**
 * Writes the configuration readable by its owner only (0600, in a 0700 directory), through a temporary file, so a
 * token is never on disk with wider permissions, not even for a moment.
 */
export function writeConfig(file: string, config: StoredConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

/** The settings: `--url`/`--token` win over FLOW_URL/FLOW_TOKEN, which win over `flowctl login`'s file. */
export function resolveSettings(
  flags: { readonly url?: string | undefined; readonly token?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  const configFile = configPath(env);
  const stored = readConfig(configFile);
  const envUrl = nonEmpty(env['FLOW_URL']);
  const envToken = nonEmpty(env['FLOW_TOKEN']);
  const [url, urlFrom] =
    flags.url !== undefined
      ? ([flags.url, 'flag'] as const)
      : envUrl !== undefined
        ? ([envUrl, 'env'] as const)
        : stored.url !== undefined
          ? ([stored.url, 'config'] as const)
          : ([DEFAULT_URL, 'default'] as const);
  const [token, tokenFrom] =
    flags.token !== undefined
      ? ([flags.token, 'flag'] as const)
      : envToken !== undefined
        ? ([envToken, 'env'] as const)
        : stored.token !== undefined
          ? ([stored.token, 'config'] as const)
          : ([undefined, 'none'] as const);
  return { url: checkedUrl(url), token, urlFrom, tokenFrom, configFile };
}

/** An http(s) base URL without credentials, query or fragment, with no trailing slash. */
export function checkedUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`${JSON.stringify(value)} is not a URL.`, 'Give the gateway as --url http://host:3000.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`The gateway URL must be http or https, not ${url.protocol}`, 'Give it as --url https://host.');
  if (url.username || url.password)
    throw usageError('The gateway URL must not hold a user name or password.', 'Pass the token with FLOW_TOKEN.');
  if (url.search || url.hash)
    throw usageError('The gateway URL must not have a query or fragment.', 'Give only its origin and path.');
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
