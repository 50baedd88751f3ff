import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** The marker name under which the SDK's Core records a local activity's outcome. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** What a local activity's marker says: which activity, which attempt completed (or failed), and the step's name. */
export interface LocalActivityMarker {
  readonly eventId: number;
  readonly activityType: string;
  readonly attempt: number;
  /** The `summary` the interpreter gave it (the step's name or id), as the Temporal UI shows it. */
  readonly summary: string | undefined;
  /** Whether the marker records a failure (a local step that failed, or an attempt before a backoff timer). */
  readonly failed: boolean;
}

function json(payload: Payload | null | undefined): unknown {
  return payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined;
}

/** The local activities a history records, in order, read from their markers. */
export function localActivityMarkers(events: readonly HistoryEvent[]): LocalActivityMarker[] {
  return events.flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) return [];
    const data = json(marker.details?.['data']?.payloads?.[0]) as
      { activity_type?: string; activityType?: string; attempt?: number } | undefined;
    const summary = json(event.userMetadata?.summary);
    return [
      {
        eventId: Number(event.eventId),
        activityType: data?.activity_type ?? data?.activityType ?? '?',
        attempt: data?.attempt ?? 0,
        summary: typeof summary === 'string' ? summary : undefined,
        failed: Boolean(marker.failure),
      },
    ];
  });
}
