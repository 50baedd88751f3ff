/**
 * Activities: the only place where actions touch the outside world. `createActivities(deps)` builds them from their
 * dependencies so tests can wire fakes of the same type (`ReturnType<typeof createActivities>`).
 */

/** Dependencies the activities need; grows as actions are added. */
export type ActivityDeps = Record<string, never>;

/** Builds the activity implementations the worker registers, keyed by activity type. */
export function createActivities(_deps: ActivityDeps = {}): Record<string, (...args: never[]) => Promise<unknown>> {
  return {};
}
