/**
 * Workflow code, bundled into Temporal's deterministic sandbox. Nothing here does I/O, imports Node builtins or
 * keeps module-level state; activities are reached only through `proxyActivities`. The generic interpreter
 * workflow arrives with the engine (issue 3).
 */
export {};
