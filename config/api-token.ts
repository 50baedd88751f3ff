import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The API token in force and where it came from, so launchers can tell the user how to find it. */
export interface ApiToken {
  readonly token: string;
  readonly source: 'env' | 'file' | 'generated';
  readonly file?: string;
}

/**
 * Returns `FLOW_API_TOKEN` when set. Otherwise reads the token kept in `<dataDir>/api-token`, generating and storing
 * one (mode 0600) the first time, so the gateway is never open without authentication.
 */
export function resolveApiToken(env: NodeJS.ProcessEnv, dataDirectory: string): ApiToken {
  const fromEnv = env['FLOW_API_TOKEN']?.trim();
  if (fromEnv) return { token: fromEnv, source: 'env' };
  const file = path.join(dataDirectory, 'api-token');
  try {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (stored) return { token: stored, source: 'file', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDirectory, { recursive: true });
  const token = `flow_${randomBytes(24).toString('base64url')}`;
  try {
    // 'wx' fails when another process created the file first; then that process's token wins.
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return resolveApiToken(env, dataDirectory);
    throw error;
  }
  return { token, source: 'generated', file };
}
