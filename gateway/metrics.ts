import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { acceptEvent, type AcceptedEvent, type EventSubmission, type IntakeDeps } from '../intake';

/** The gateway's Prometheus metrics, in a registry of their own (so tests can build many apps in one process). */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly accepted: Counter<'source' | 'type'>;
  readonly deduplicated: Counter<'source' | 'type'>;
  readonly rejected: Counter<'source' | 'status'>;
  /** Seconds from an event's arrival to its dispatcher being started in Temporal. */
  readonly dispatchSeconds: Histogram<'source'>;
}

/** Creates the metrics served at `/metrics`. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'flow_gateway_' });
  return {
    registry,
    accepted: new Counter({
      name: 'flow_events_accepted_total',
      help: 'Events accepted and dispatched',
      labelNames: ['source', 'type'],
      registers: [registry],
    }),
    deduplicated: new Counter({
      name: 'flow_events_deduplicated_total',
      help: 'Events recognised as redeliveries and not dispatched again',
      labelNames: ['source', 'type'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'flow_events_rejected_total',
      help: 'Event and webhook requests refused, by HTTP status',
      labelNames: ['source', 'status'],
      registers: [registry],
    }),
    dispatchSeconds: new Histogram({
      name: 'flow_dispatch_latency_seconds',
      help: 'Time from receiving an event to its dispatcher workflow being started',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

/** Accepts an event; what the intake routes call. */
export type AcceptFn = (submission: EventSubmission) => Promise<AcceptedEvent>;

/** The durable intake, counting accepted and deduplicated events and timing each dispatch. */
export function measuredIntake(intake: IntakeDeps, metrics: GatewayMetrics): AcceptFn {
  return async (submission) => {
    const stop = metrics.dispatchSeconds.startTimer({ source: submission.source });
    const accepted = await acceptEvent(intake, submission);
    stop();
    (accepted.duplicate ? metrics.deduplicated : metrics.accepted).inc({
      source: submission.source,
      type: submission.type,
    });
    return accepted;
  };
}
