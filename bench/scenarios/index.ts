/**
 * The benchmark scenarios of issues 6 and 14 (trains and waits), in the order they run. Each compares Flow with hand-written
 * Temporal code (or with itself at a small size) on the same server in the same run, and reports ratios.
 */
import type { Scenario } from '../scenario';
import { endToEnd } from './end-to-end';
import { fanOut } from './fan-out';
import { intake } from './intake';
import { interpreter } from './interpreter';
import { registryScale } from './registry-scale';
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
];
