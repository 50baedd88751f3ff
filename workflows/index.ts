/**
 * Workflow code, bundled into Temporal's deterministic sandbox. Nothing here does I/O, imports Node builtins or
 * keeps module-level state; activities are reached only through `proxyActivities`.
 *
 * - `dispatch`: one per accepted event; matches definitions and starts their runs.
 * - `interpret`: one per (definition revision, event); runs the steps.
 */
export { dispatch } from './dispatcher';
export { interpret } from './interpreter';
