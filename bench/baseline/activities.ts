/**
 * The hand-written baseline's activities: what a Temporal user writes without Flow. `bench.noop` has the same
 * activity type as Flow's benchmark action, so both sides schedule the same thing.
 */
export const baselineActivities = {
  /** Does nothing, as a plain function: no input validation, no secret scrubbing. */
  async 'bench.noop'(_input: Record<string, never>): Promise<Record<string, never>> {
    return {};
  },
};

/** The baseline activities' types, for `proxyActivities` in the baseline workflows. */
export type BaselineActivities = typeof baselineActivities;
