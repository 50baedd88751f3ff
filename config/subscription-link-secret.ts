import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The link secret in force and where it came from. */
export interface SubscriptionLinkSecret {
  readonly secret: string;
  readonly source: 'env' | 'file' | 'generated';
  readonly file?: string;
}

/**
 * For the local stack (`npm start`): returns `FLOW_SUBSCRIPTION_LINK_SECRET` when set; otherwise reads the secret kept
 * in `<dataDir>/subscription-link-secret`, generating and storing one (mode 0600) the first time, so links in
 * notifications keep working across restarts. The launcher hands it to the worker and the gateway alike.
 */
export function resolveSubscriptionLinkSecret(env: NodeJS.ProcessEnv, dataDirectory: string): SubscriptionLinkSecret {
  const fromEnv = env['FLOW_SUBSCRIPTION_LINK_SECRET']?.trim();
  if (fromEnv) return { secret: fromEnv, source: 'env' };
  const file = path.join(dataDirectory, 'subscription-link-secret');
  try {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (stored) return { secret: stored, source: 'file', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDirectory, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails when another process created the file first; then that process's secret wins.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return resolveSubscriptionLinkSecret(env, dataDirectory);
    throw error;
  }
  return { secret, source: 'generated', file };
}
