/**
 * Workflow code, bundled into Temporal's deterministic sandbox. Nothing here does I/O, imports Node builtins or
 * keeps module-level state; activities are reached only through `proxyActivities` and `proxyLocalActivities`.
 *
 * - `dispatchEvent`: one per accepted event; matches definitions and starts their runs.
 * - `interpret`: one per (definition revision, event); runs the steps.
 * - `train`: one per busy concurrency group; lets its runs go one at a time.
 * - `dispatch`: the dispatcher of events accepted by earlier versions; kept until none is open.
 * - `subscriptionDigest`: one per subscription and minute its rate limit held notifications back; sends their digest.
 */
export { dispatchEvent } from './dispatcher';
export { interpret } from './interpreter';
export { dispatch } from './legacy-dispatcher';
export { subscriptionDigest } from './subscription-digest';
export { train } from './train';
