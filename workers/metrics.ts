import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FlowSinks } from '../common/sinks';

/** The worker's Prometheus metrics: runs by definition and step attempts by action. */
export interface WorkerMetrics {
  readonly registry: Registry;
  readonly runsStarted: Counter<'definition'>;
  readonly runsCompleted: Counter<'definition'>;
  readonly runsFailed: Counter<'definition' | 'failure'>;
  /** Seconds from a run's start (of the first run, across continue-as-new) to its end. */
  readonly runSeconds: Histogram<'definition' | 'outcome'>;
  /** Seconds one activity attempt took, by action (activity type) and outcome. */
  readonly stepAttemptSeconds: Histogram<'action' | 'outcome'>;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;

/** Creates the worker's metrics in a registry of their own (tests build several workers in one process). */
export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'flow_worker_' });
  const registers = [registry];
  return {
    registry,
    runsStarted: new Counter({
      name: 'flow_runs_started_total',
      help: 'Definition runs started',
      labelNames: ['definition'],
      registers,
    }),
    runsCompleted: new Counter({
      name: 'flow_runs_completed_total',
      help: 'Definition runs that finished all their steps',
      labelNames: ['definition'],
      registers,
    }),
    runsFailed: new Counter({
      name: 'flow_runs_failed_total',
      help: 'Definition runs that failed or were cancelled, by failure type',
      labelNames: ['definition', 'failure'],
      registers,
    }),
    runSeconds: new Histogram({
      name: 'flow_run_duration_seconds',
      help: 'Time from a run starting to it completing or failing',
      labelNames: ['definition', 'outcome'],
      // Releases wait for builds and approvals, so the buckets reach a week.
      buckets: [1, 10, MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 24 * HOUR, 3 * 24 * HOUR, 7 * 24 * HOUR],
      registers,
    }),
    stepAttemptSeconds: new Histogram({
      name: 'flow_step_attempt_duration_seconds',
      help: 'Time one attempt of a step (one activity execution) took, by action and outcome',
      labelNames: ['action', 'outcome'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 2 * MINUTE, 10 * MINUTE, HOUR],
      registers,
    }),
  };
}

/** The worker options that feed {@link WorkerMetrics}: the workflow sinks and an activity interceptor. */
export function metricsWorkerOptions(metrics: WorkerMetrics): Pick<WorkerOptions, 'sinks' | 'interceptors'> {
  const finished = (start: Date, definition: string, outcome: string): void => {
    metrics.runSeconds.observe({ definition, outcome }, Math.max(0, (Date.now() - start.getTime()) / 1000));
  };
  const sinks: InjectedSinks<FlowSinks> = {
    runs: {
      started: { fn: (_info, definition) => metrics.runsStarted.inc({ definition }) },
      completed: {
        fn: (info, definition) => {
          metrics.runsCompleted.inc({ definition });
          finished(info.startTime, definition, 'completed');
        },
      },
      failed: {
        fn: (info, definition, failure) => {
          metrics.runsFailed.inc({ definition, failure });
          finished(info.startTime, definition, 'failed');
        },
      },
    },
  };
  return {
    sinks,
    interceptors: {
      activity: [
        (context) => ({
          inbound: {
            async execute(input, next) {
              const stop = metrics.stepAttemptSeconds.startTimer({ action: context.info.activityType });
              try {
                const result = await next(input);
                stop({ outcome: 'completed' });
                return result;
              } catch (error) {
                stop({ outcome: 'failed' });
                throw error;
              }
            },
          },
        }),
      ],
    },
  };
}

/** Serves `GET /metrics` from `registry` on `port` (0 picks a free one). Resolves once listening. */
export async function serveMetrics(registry: Registry, port: number, host = '0.0.0.0'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The port a server from {@link serveMetrics} listens on. */
export function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
