import type { DefinitionSnapshot, StartRunsInput, StartRunsResult } from '../common/run-types';
import type { AcceptedEvent, EventSubmission } from '../intake';

/** What actions may use from the outside world; `workers/main.ts` wires the real ones, tests their own. */
export interface ActionDeps {
  /** The worker's environment: the only place credentials come from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
  /** Accepts an event through the same durable intake as the gateway. */
  readonly emitEvent: (submission: EventSubmission) => Promise<AcceptedEvent>;
}

/** What the dispatcher's internal activities need. */
export interface RegistryDeps {
  readonly findDefinitionsForEvent: (source: string, type: string) => Promise<DefinitionSnapshot[]>;
  /** Starts the matched runs on the worker's task queue (`startRuns` from `intake`). */
  readonly startRuns: (input: StartRunsInput) => Promise<StartRunsResult>;
}
