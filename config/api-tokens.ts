import { ConfigError } from './config-error';

/** What a token may do: `read` may GET and plan; `write` may also save, delete, restore and post events. */
export type Scope = 'read' | 'write';

/** One accepted API token and its scope. */
export interface ScopedToken {
  readonly token: string;
  readonly scope: Scope;
  /**
   * Who acts with this token, as recorded on what it changes: the entry's own name (`alice:write:<token>`), or
   * `token-1`, `token-2`, … by position for an entry without one.
   */
  readonly name: string;
}

/** The name of the main token, `FLOW_API_TOKEN` (given in gateway/app.ts); no entry of `FLOW_API_TOKENS` may take it. */
/** The name of `FLOW_API_TOKEN`, the actor of whatever it changes. */
export const MAIN_TOKEN_NAME = 'api-token';

/** A token's name: short, printable and free of separators, so an email address fits and a log line stays plain. */
const TOKEN_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const SCOPED = /^(read|write):(\S{16,})$/;

/**
 * Parses `FLOW_API_TOKENS`, a comma-separated list of `scope:token` or `name:scope:token` entries (such as
 * `read:dashboard-token,alice@example.com:write:alices-token`), for tokens besides `FLOW_API_TOKEN` (which has the
 * write scope and the name `api-token`). Names must be unique, ignoring case, because they are the actors recorded
 * on revisions, events and approvals. No error ever repeats any part of an entry, since an entry holds a credential.
 */
export function parseApiTokens(env: Readonly<Record<string, string | undefined>>): ScopedToken[] {
  const tokens = (env['FLOW_API_TOKENS'] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => parseEntry(entry, index + 1));
  const names = new Map<string, number>();
  const values = new Map<string, number>();
  tokens.forEach((token, index) => {
    const earlier = names.get(token.name.toLowerCase());
    if (earlier !== undefined)
      throw entryError(
        index + 1,
        `has the same name as entry ${earlier} (names are compared ignoring case); give each token a name of its own, since the name is recorded as the actor of what the token does.`,
      );
    names.set(token.name.toLowerCase(), index + 1);
    const same = values.get(token.token);
    if (same !== undefined)
      throw entryError(index + 1, `has the same token as entry ${same}; each token may be listed once.`);
    values.set(token.token, index + 1);
  });
  return tokens;
}

function parseEntry(entry: string, position: number): ScopedToken {
  const colon = entry.indexOf(':');
  const head = entry.slice(0, colon);
  const rest = entry.slice(colon + 1);
  if (colon > 0 && (head === 'read' || head === 'write')) {
    // `read:write:<token>` reads as a read token whose value starts with `write:`; it is far likelier a name mistaken
    // for a scope, so it is refused rather than guessed at.
    if (SCOPED.test(rest)) throw entryError(position, 'is named read or write, which are scopes and cannot be names.');
    const token = /^\S{16,}$/.test(rest) ? rest : undefined;
    if (token === undefined) throw malformed(position);
    return { scope: head, token, name: `token-${position}` };
  }
  const match = colon < 0 ? null : SCOPED.exec(rest);
  if (!match) throw malformed(position);
  if (!TOKEN_NAME.test(head))
    throw entryError(
      position,
      "has a name that is not 1-64 letters, digits, '.', '_', '-' or '@' (such as alice or alice@example.com).",
    );
  if (/^(read|write)$/i.test(head))
    throw entryError(position, 'is named read or write, which are scopes and cannot be names.');
  if (head.toLowerCase() === MAIN_TOKEN_NAME)
    throw entryError(position, `is named ${MAIN_TOKEN_NAME}, the name of FLOW_API_TOKEN; choose another name.`);
  return { scope: match[1] as Scope, token: match[2]!, name: head };
}

function malformed(position: number): ConfigError {
  return entryError(
    position,
    'is not read:<token> or write:<token>, optionally after a name (alice:write:<token>), with a token of 16 or more characters.',
  );
}

function entryError(position: number, problem: string): ConfigError {
  return new ConfigError('FLOW_API_TOKENS', `FLOW_API_TOKENS entry ${position} ${problem}`);
}
