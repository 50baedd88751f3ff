import { ConfigError } from './config-error';

const VARIABLE = 'FLOW_ACTION_PACKS';
const EXAMPLE = 'such as @acme/flow-payments,./packs/deploy';

/**
 * `FLOW_ACTION_PACKS`: the action packs a worker loads besides the built-in one, as module specifiers (an installed
 * package) or paths (starting with `./`, `../` or `/`; relative ones are resolved against the worker's working
 * directory), separated by commas. Only the syntax is checked here; whether each entry loads and is a pack is checked
 * when the worker starts (`workers/action-packs.ts`).
 */
export function parseActionPacks(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  const raw = env[VARIABLE]?.trim();
  if (!raw) return [];
  const entries = raw.split(',').map((entry) => entry.trim());
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry === '') {
      throw new ConfigError(
        VARIABLE,
        `${VARIABLE} has an empty entry (two commas in a row, or one at an end); list module specifiers or paths separated by commas, ${EXAMPLE}.`,
      );
    }
    if (/\s/.test(entry)) {
      throw new ConfigError(
        VARIABLE,
        `${VARIABLE} entry ${JSON.stringify(entry)} contains a space; separate entries with commas, ${EXAMPLE} (paths with spaces are not supported).`,
      );
    }
    if (/^[a-z][a-z0-9+.-]+:/i.test(entry)) {
      throw new ConfigError(
        VARIABLE,
        `${VARIABLE} entry ${JSON.stringify(entry)} is a URL; name an installed package or a path on the worker's disk, ${EXAMPLE}.`,
      );
    }
    if (seen.has(entry)) {
      throw new ConfigError(VARIABLE, `${VARIABLE} lists ${JSON.stringify(entry)} twice; list each pack once.`);
    }
    seen.add(entry);
  }
  return entries;
}

/** The `actionPacks` setting of the worker's configuration: absent when `FLOW_ACTION_PACKS` names none. */
export function actionPacksSetting(env: Readonly<Record<string, string | undefined>>): {
  actionPacks?: readonly string[];
} {
  const packs = parseActionPacks(env);
  return packs.length > 0 ? { actionPacks: packs } : {};
}
