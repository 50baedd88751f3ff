import { ConfigError } from './config-error';

/** What a token may do: `read` may GET and plan; `write` may also save, delete, restore and post events. */
export type Scope = 'read' | 'write';

/** One accepted API token and its scope. */
export interface ScopedToken {
  readonly token: string;
  readonly scope: Scope;
  /** Who acts with this token, as recorded on what it changes: `token-1`, `token-2`, … in list order. */
  readonly name: string;
}

/**
 * Parses `FLOW_API_TOKENS`, a comma-separated list of `scope:token` entries (such as
 * `read:dashboard-token,write:ci-token`), for tokens besides `FLOW_API_TOKEN` (which has the write scope). The
 * error never repeats an entry, since it holds a credential.
 */
export function parseApiTokens(env: Readonly<Record<string, string | undefined>>): ScopedToken[] {
  return (env['FLOW_API_TOKENS'] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const match = /^(read|write):(\S{16,})$/.exec(entry);
      if (!match)
        throw new ConfigError(
          'FLOW_API_TOKENS',
          `FLOW_API_TOKENS entry ${index + 1} is not read:<token> or write:<token> with a token of 16 or more characters.`,
        );
      return { scope: match[1] as Scope, token: match[2]!, name: `token-${index + 1}` };
    });
}
