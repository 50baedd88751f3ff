/**
 * The hand-written baseline's activities: what a Temporal user writes without Flow. `bench.noop` has the same
 * activity type as Flow's benchmark action, so both sides schedule the same thing.
 */
export const baselineActivities = {
  /** Does nothing, as a plain function: no input validation, no secret scrubbing. */
  async 'bench.noop'(_input: Record<string, never>): Promise<Record<string, never>> {
    return {};
  },

  /**
   * POSTs JSON with `fetch` and returns the status and the parsed answer, as a user's HTTP step would; 5xx and 429
   * are thrown, so Temporal retries them, as Flow's `http.request` does.
   */
  async 'bench.post'(url: string, json: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
    const body: unknown = await response.json();
    if (response.status >= 500 || response.status === 429) throw new Error(`POST ${url} answered ${response.status}`);
    return { status: response.status, body };
  },
};

/** The baseline activities' types, for `proxyActivities` in the baseline workflows. */
export type BaselineActivities = typeof baselineActivities;

/** What the hand-written receiver's `/runs/:mode` gives its workflow: the event's id and body, and where to POST. */
export interface PostEvent {
  readonly eventId: string;
  readonly target: string;
  readonly body: Record<string, unknown>;
}
