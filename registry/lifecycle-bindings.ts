import { LIFECYCLE_SOURCE, LIFECYCLE_TYPES, type LifecycleType } from '../common/run-control';
import type { DefinitionSnapshot } from '../common/run-types';
import type { SubscriptionSnapshot } from '../common/subscriptions';

/** How long a process trusts its last reading: a binding saved now applies to runs dispatched up to this much later. */
export const LIFECYCLE_BINDINGS_TTL_MS = 5_000;

/** The registry's lookup of the definitions bound to one (source, type): `DefinitionStore.findForEvent`. */
export type BindingLookup = (source: string, type: string) => Promise<readonly DefinitionSnapshot[]>;

/** The registry's lookup of the subscriptions bound to one (source, type): `SubscriptionStore.findForEvent`. */
export type SubscriptionLookup = (source: string, type: string) => Promise<readonly SubscriptionSnapshot[]>;

/** Tuning of a {@link LifecycleBindings}; the defaults suit production. */
export interface LifecycleBindingsOptions {
  /** How long a reading is reused (default {@link LIFECYCLE_BINDINGS_TTL_MS}). */
  readonly ttlMs?: number;
  /** The clock, in milliseconds (tests). */
  readonly now?: () => number;
  /**
   * The subscriptions bound to a key: a subscription to an outcome (`flow/<type>`) makes its type bound, as an
   * enabled definition does (docs/subscriptions.md). Without it only definitions count.
   */
  readonly subscriptions?: SubscriptionLookup;
}

/**
 * Which run lifecycle types (source `flow`) at least one enabled definition or one subscription is bound to: the
 * dispatcher asks it for
 * every event, so that runs emit only what someone listens to, and a Flow where nothing is bound to `flow` pays
 * nothing per run.
 *
 * It reads through the store's own event lookup, one `(flow, type)` per lifecycle type, in parallel: each is a read of
 * one binding document by `_id` (the one filter FerretDB v1 pushes down), which holds the committed revisions of the
 * definitions bound there (plus the head of any whose save is under way), so a binding counts as the dispatcher's
 * lookup counts it. With a subscription lookup, the subscription bindings of each type are read too (one more `_id` read per type,
 * plus the subscriptions bound there), and a type counts when a subscription is bound to it, muted or not (muting is
 * decided when a notification is sent). The answer is cached per process for a few seconds, and concurrent callers share one reading, so a busy
 * dispatcher costs the registry eight `_id` reads per {@link LIFECYCLE_BINDINGS_TTL_MS}, whatever the event rate. A
 * failed reading is not cached: the caller's lookup fails and is retried like any registry lookup.
 */
export class LifecycleBindings {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly subscriptions: SubscriptionLookup | undefined;
  private cached: { readonly at: number; readonly reading: Promise<LifecycleType[]> } | undefined;

  constructor(
    private readonly lookUp: BindingLookup,
    options: LifecycleBindingsOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? LIFECYCLE_BINDINGS_TTL_MS;
    this.now = options.now ?? Date.now;
    this.subscriptions = options.subscriptions;
  }

  /** The bound lifecycle types, in the order of `LIFECYCLE_TYPES`; empty when none is. */
  bound(): Promise<LifecycleType[]> {
    const at = this.now();
    if (this.cached && at - this.cached.at < this.ttlMs) return this.cached.reading.then((types) => [...types]);
    const reading = this.read();
    const entry = { at, reading };
    this.cached = entry;
    reading.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return reading.then((types) => [...types]);
  }

  private async read(): Promise<LifecycleType[]> {
    const found = await Promise.all(
      LIFECYCLE_TYPES.map(async (type) => {
        const [snapshots, subscriptions] = await Promise.all([
          this.lookUp(LIFECYCLE_SOURCE, type),
          this.subscriptions?.(LIFECYCLE_SOURCE, type) ?? [],
        ]);
        return snapshots.some((snapshot) => snapshot.definition.enabled) || subscriptions.length > 0 ? type : undefined;
      }),
    );
    return found.filter((type): type is LifecycleType => type !== undefined);
  }
}
