/**
 * The gateway's HTTP API as the console reads it: the shapes of the responses it uses (README "HTTP API",
 * docs/runs-api.md). Declared here, not imported from the server's code, because the console is a client like any
 * other and reads only what the API sends.
 */

/** What a token (and a session) may do. */
export type Scope = 'read' | 'write';

/** `GET /ui/session`. */
export interface SessionInfo {
  readonly actor: string;
  readonly scope: Scope;
  readonly csrf: string;
  readonly expiresAt: string;
}

/** The OpenID Connect identity provider, as the sign-in page shows it (`GET /ui/auth/provider`, console/oidc.ts). */
export type ProviderStatus =
  | { readonly name: string; readonly reachable: true; readonly endSession: boolean }
  | { readonly name: string; readonly reachable: false; readonly detail: string };

/** An RFC 9457 problem, as every error of the API is. */
export interface Problem {
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string; readonly line?: number }[];
  /** Where a YAML syntax error is (a 400 of a YAML save). */
  readonly line?: number;
  readonly column?: number;
}

/** A line of `GET /api/definitions`. */
export interface DefinitionSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly revision: number;
  /** Each binding with its condition (`if`), when it has one. */
  readonly on: readonly Binding[];
  readonly updatedAt: string;
}

/** `GET /api/definitions`. */
export interface DefinitionPage {
  readonly items: readonly DefinitionSummary[];
  readonly next: string | null;
}

/** A definition bound to an event, as `GET /api/events` lists it. */
export interface IndexedDefinition {
  readonly id: string;
  readonly name: string;
  readonly revision: number;
  readonly enabled: boolean;
  readonly if?: string;
}

/** `GET /api/events`: every source → its event types → the definitions bound to each. */
export interface EventIndex {
  readonly sources: readonly {
    readonly source: string;
    readonly types: readonly { readonly type: string; readonly definitions: readonly IndexedDefinition[] }[];
  }[];
  /** Definitions in the registry, bound or not. */
  readonly definitions: number;
  readonly builtAt: string;
}

/** One event binding of a definition. */
export interface Binding {
  readonly source: string;
  readonly type: string;
  readonly if?: string;
}

/** Retry options of a step or an action's defaults. */
export type RetryOptions = Readonly<Record<string, unknown>>;

/** One step of a definition. */
export interface Step {
  readonly id: string;
  readonly name?: string;
  readonly action: string;
  readonly with: Readonly<Record<string, unknown>>;
  readonly if?: string;
  readonly allow_event_data?: readonly string[];
  readonly continue_on_error?: boolean;
  readonly timeout?: string;
  readonly heartbeat?: string;
  readonly retry?: RetryOptions;
  readonly execution?: 'local' | 'remote';
  readonly task_queue?: string;
}

/** A definition as stored. */
export interface Definition {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly on: readonly Binding[];
  readonly concurrency?: { readonly group: string; readonly when_busy: string; readonly max_queue: number };
  readonly steps: readonly Step[];
  readonly on_failure?: readonly Step[];
}

/** `GET /api/definitions/:id`. */
export interface StoredDefinition {
  readonly id: string;
  readonly revision: number;
  readonly createdAt: string;
  readonly author: string | null;
  readonly message: string | null;
  readonly definition: Definition;
}

/** A line of `GET /api/definitions/:id/revisions`. */
export interface Revision {
  readonly revision: number;
  readonly createdAt: string;
  readonly current: boolean;
  readonly author: string | null;
  readonly message: string | null;
}

/** The part of JSON Schema the console shows. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly items?: JsonSchema;
  readonly description?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
}

/** Activity options an action declares as its defaults. */
export interface ActionDefaults {
  readonly timeout?: string;
  readonly heartbeat?: string;
  readonly retry?: RetryOptions;
  /** Where the action's steps run unless a step says otherwise; remote when absent. */
  readonly execution?: 'local' | 'remote';
}

/** One action of `GET /api/actions`. */
export interface ActionDescription {
  readonly id: string;
  readonly description: string;
  readonly kind: 'activity' | 'meta';
  readonly input: JsonSchema;
  readonly output: JsonSchema;
  readonly examples: readonly { readonly title: string; readonly with: Readonly<Record<string, unknown>> }[];
  readonly defaults?: ActionDefaults;
  readonly env: readonly string[];
  readonly guardedInputs: readonly { readonly input: string; readonly decides: string; readonly onlyWith?: string }[];
}

/** One run of `GET /api/runs`. */
export interface RunSummary {
  readonly workflowId: string;
  readonly runId: string;
  readonly definition: string | null;
  readonly revision: number | null;
  readonly eventId: string | null;
  readonly status: string;
  readonly startTime: string;
  readonly closeTime: string | null;
  readonly ui: string;
}
