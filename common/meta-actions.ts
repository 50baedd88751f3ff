/**
 * Meta-actions: actions that only compute a value from their input, so the interpreter evaluates them inside the
 * workflow instead of scheduling an activity. They add no events to the run's history. Everything here is pure and
 * sandbox-safe; the catalog (`activities/actions/*`) declares their schemas and documentation.
 */

/** A meta-action's input was invalid at run time (after expressions were rendered). */
export class MetaActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetaActionError';
  }
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/** The bumps `version.next` understands. */
export type VersionBump = 'major' | 'minor' | 'patch' | 'prerelease';

/**
 * The next semantic version after `version`. `prerelease` turns 1.2.3 into 1.2.4-rc.0 and 1.2.4-rc.0 into
 * 1.2.4-rc.1; the other bumps drop any prerelease (1.2.4-rc.1 → patch → 1.2.4).
 */
export function nextVersion(version: string, bump: VersionBump, preid = 'rc'): string {
  const match = SEMVER.exec(version.trim());
  if (!match) throw new MetaActionError(`"${version}" is not a semantic version such as 1.4.2`);
  let major = Number(match[1]);
  let minor = Number(match[2]);
  let patch = Number(match[3]);
  const pre = match[4];
  switch (bump) {
    case 'major':
      if (!(pre && minor === 0 && patch === 0)) major += 1;
      return `${major}.0.0`;
    case 'minor':
      if (!(pre && patch === 0)) minor += 1;
      return `${major}.${minor}.0`;
    case 'patch':
      if (!pre) patch += 1;
      return `${major}.${minor}.${patch}`;
    case 'prerelease': {
      if (!/^[0-9A-Za-z-]+$/.test(preid))
        throw new MetaActionError(`prerelease id "${preid}" may hold only letters, digits and "-"`);
      if (!pre) return `${major}.${minor}.${patch + 1}-${preid}.0`;
      const parts = pre.split('.');
      const last = parts.at(-1) ?? '';
      if (parts[0] === preid && /^\d+$/.test(last))
        return `${major}.${minor}.${patch}-${[...parts.slice(0, -1), Number(last) + 1].join('.')}`;
      return `${major}.${minor}.${patch}-${preid}.0`;
    }
  }
}

/** Ids of the meta-actions the interpreter runs itself. */
export const META_ACTIONS = ['flow.set', 'version.next'] as const;

/** True for actions the interpreter evaluates without an activity. */
export function isMetaAction(action: string): action is (typeof META_ACTIONS)[number] {
  return (META_ACTIONS as readonly string[]).includes(action);
}

/** Runs a meta-action on its rendered input; throws {@link MetaActionError} on invalid input. */
export function runMetaAction(action: (typeof META_ACTIONS)[number], input: unknown): Record<string, unknown> {
  const fields =
    typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  switch (action) {
    case 'flow.set':
      return fields;
    case 'version.next': {
      const { version, bump = 'patch', preid = 'rc' } = fields;
      if (typeof version !== 'string')
        throw new MetaActionError('version.next needs `version`, a string such as 1.4.2');
      if (bump !== 'major' && bump !== 'minor' && bump !== 'patch' && bump !== 'prerelease') {
        throw new MetaActionError('version.next `bump` must be major, minor, patch or prerelease');
      }
      if (typeof preid !== 'string') throw new MetaActionError('version.next `preid` must be a string');
      const next = nextVersion(version, bump, preid);
      return { previous: version.trim().replace(/^v/, ''), version: next };
    }
  }
}

/** Durations `flow.sleep` takes: a whole number and a unit, such as 90s, 30m, 4h or 2d. */
export const SLEEP_DURATION = /^([1-9]\d{0,5})(s|m|h|d)$/;
/** The longest sleep: runs that wait longer should wait for an event instead. */
export const MAX_SLEEP_MS = 90 * 24 * 3600 * 1000;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Milliseconds `flow.sleep` waits for its rendered input. The interpreter turns them into a durable Temporal timer:
 * the only meta-action that adds history events (one timer), because waiting is its purpose.
 */
export function sleepMillis(input: unknown): { duration: string; ms: number } {
  const duration = (input as { duration?: unknown } | null)?.duration;
  const match = typeof duration === 'string' ? SLEEP_DURATION.exec(duration) : null;
  if (typeof duration !== 'string' || !match) {
    throw new MetaActionError('flow.sleep needs `duration`, a whole number and a unit: s, m, h or d (such as 30m)');
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms > MAX_SLEEP_MS) throw new MetaActionError(`flow.sleep waits at most 90d; "${duration}" is longer`);
  return { duration, ms };
}
