/**
 * The benchmark scenarios of issues 6, 14 (trains and waits), 15 (approvals and lifecycle events), 16 (console
 * pages), 17 (routing), 18 (subscriptions) and 21 (throughput), in the order they run. Each compares Flow with
 * hand-written Temporal code (or with itself at a small size, or with and without a feature) on the same server in
 * the same run, and reports ratios.
 */
import type { Scenario } from '../scenario';
import { ageing } from './ageing';
import { approvals } from './approvals';
import { consolePages } from './console';
import { endToEnd } from './end-to-end';
import { fanOut } from './fan-out';
import { intake } from './intake';
import { interpreter } from './interpreter';
import { lifecycle } from './lifecycle';
import { registryScale } from './registry-scale';
import { routing } from './routing';
import { subscriptions } from './subscriptions';
import { throughput } from './throughput';
import { trains } from './trains';
import { waitCorrelation, waitingMemory } from './waits';
import { workerMemory } from './worker-memory';

/** Every scenario, by the name `--only` takes. */
export const scenarios: readonly Scenario[] = [
  intake,
  interpreter,
  registryScale,
  fanOut,
  workerMemory,
  endToEnd,
  trains,
  waitCorrelation,
  waitingMemory,
  approvals,
  consolePages,
  routing,
  subscriptions,
  throughput,
  // It binds a definition to flow/run_started and flow/run_completed for its duration.
  lifecycle,
  // After every other: its 10,000 runs age the Temporal server, which would slow whatever came next.
  ageing,
];
