import { createHash } from 'node:crypto';
import type { DefinitionStore, DefinitionSummary } from './definitions-store';

/** A definition bound to one event, as the events index lists it. */
export interface IndexedDefinition {
  readonly id: string;
  readonly name: string;
  readonly revision: number;
  readonly enabled: boolean;
  /** The binding's condition, when it has one. */
  readonly if?: string;
}

/** One event type of a source and the definitions bound to it, by id. */
export interface IndexedEventType {
  readonly type: string;
  readonly definitions: readonly IndexedDefinition[];
}

/** One source and its event types, by name. */
export interface IndexedSource {
  readonly source: string;
  readonly types: readonly IndexedEventType[];
}

/** Every event some definition reacts to, by source and type: the body of `GET /api/events`. */
export interface EventIndexBody {
  readonly sources: readonly IndexedSource[];
  /** How many definitions (not deleted) the index was built from, bound or not. */
  readonly definitions: number;
  /** When the index was built from the registry. */
  readonly builtAt: string;
}

/** The index as served: its body, already serialised, and an entity tag of that text. */
export interface EventIndexSnapshot {
  readonly body: EventIndexBody;
  readonly json: string;
  readonly etag: string;
}

/**
 * Every source → event type → bound definitions, kept in memory and rebuilt only when the registry changed: each
 * request reads the registry's change stamp (one read by `_id`), and rebuilds from all definitions when it differs
 * from the one the index was built at, or when the index is older than `maxAgeMs` (a change whose stamp was never
 * written, because its writer crashed in between, shows within that time). Concurrent requests share one rebuild.
 */
export class EventIndex {
  private built: { stamp: string | null; at: number; snapshot: EventIndexSnapshot } | undefined;
  private rebuilding: Promise<EventIndexSnapshot> | undefined;

  constructor(
    private readonly store: Pick<DefinitionStore, 'changeStamp' | 'summaries'>,
    private readonly options: { readonly maxAgeMs?: number; readonly now?: () => number } = {},
  ) {}

  async current(): Promise<EventIndexSnapshot> {
    const stamp = await this.store.changeStamp();
    const now = this.options.now?.() ?? Date.now();
    const built = this.built;
    if (built && built.stamp === stamp && now - built.at < (this.options.maxAgeMs ?? 60_000)) return built.snapshot;
    this.rebuilding ??= this.rebuild(stamp, now).finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async rebuild(stamp: string | null, at: number): Promise<EventIndexSnapshot> {
    // The stamp is read before the definitions: a change committed while they are read moves the stamp on again, so
    // the next request rebuilds rather than keeping an index that missed it.
    const summaries = await this.store.summaries();
    const body = indexOf(summaries, new Date(at));
    const json = JSON.stringify(body);
    const snapshot = { body, json, etag: `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"` };
    this.built = { stamp, at, snapshot };
    return snapshot;
  }
}

/** Groups definitions by the events they are bound to, sources, types and definitions each in order. */
export function indexOf(summaries: readonly DefinitionSummary[], builtAt: Date): EventIndexBody {
  const bySource = new Map<string, Map<string, IndexedDefinition[]>>();
  for (const summary of [...summaries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    for (const binding of summary.on) {
      let types = bySource.get(binding.source);
      if (!types) bySource.set(binding.source, (types = new Map<string, IndexedDefinition[]>()));
      let bound = types.get(binding.type);
      if (!bound) types.set(binding.type, (bound = []));
      bound.push({
        id: summary.id,
        name: summary.name,
        revision: summary.revision,
        enabled: summary.enabled,
        ...(binding.if === undefined ? {} : { if: binding.if }),
      });
    }
  }
  const sorted = <T>(map: Map<string, T>): [string, T][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    sources: sorted(bySource).map(([source, types]) => ({
      source,
      types: sorted(types).map(([type, definitions]) => ({ type, definitions })),
    })),
    definitions: summaries.length,
    builtAt: builtAt.toISOString(),
  };
}
