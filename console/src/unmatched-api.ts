/**
 * The events that matched nothing, as the console reads them (`GET /api/events/unmatched`, docs/runs-api.md): the
 * shape of the answer, declared here as a client reads it, and the call.
 */
import { call } from './api';

/** One event that started and woke no run (`UnmatchedEvent` in gateway/unmatched-events-router.ts). */
export interface UnmatchedEvent {
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  /** When Temporal accepted it (ISO 8601). */
  readonly receivedAt: string | null;
  /** Its dispatcher, `event-<eventId>`. */
  readonly workflowId: string;
  /** Why nothing ran, one line each. */
  readonly why: readonly string[];
  /** The dispatcher's page in the Temporal UI. */
  readonly ui: string;
}

/** The answer of `GET /api/events/unmatched`. */
export interface UnmatchedEvents {
  /** Newest first. */
  readonly items: readonly UnmatchedEvent[];
  readonly limit: number;
  /** How many events Temporal still holds, matched or not. */
  readonly dispatched: number;
}

/** The most recent events that matched nothing, optionally of one source or event type. */
export function unmatchedEvents(
  options: { readonly limit?: number; readonly source?: string; readonly type?: string } = {},
): Promise<UnmatchedEvents> {
  const query = new URLSearchParams({ limit: String(options.limit ?? 20) });
  if (options.source !== undefined) query.set('source', options.source);
  if (options.type !== undefined) query.set('type', options.type);
  return call<UnmatchedEvents>('GET', `/api/events/unmatched?${query.toString()}`);
}
