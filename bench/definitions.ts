import { randomUUID } from 'node:crypto';
import type { AnyAction } from '../activities';
import type { DefinitionSnapshot, FlowEvent } from '../common/run-types';
import { validateDefinition } from '../registry';
import { progress, type BenchContext } from './context';
import { mapLimit } from '../common/map-limit';

/** A definition of `steps` `bench.noop` steps bound to one event. */
export function noopDefinition(id: string, on: { source: string; type: string }, steps = 1): Record<string, unknown> {
  return {
    id,
    name: `Benchmark ${id}`,
    on: [on],
    steps: Array.from({ length: steps }, (_, index) => ({ id: `s${index + 1}`, action: 'bench.noop' })),
  };
}

/**
 * A definition whose one step waits (`flow.wait_for_event`) for an event of `waitFor` whose `key` equals the `key` of
 * the event that started the run; with `on_timeout: continue`, so a run left over ends quietly.
 */
export function waitDefinition(
  id: string,
  on: { source: string; type: string },
  waitFor: { source: string; type: string },
  timeout: string,
): Record<string, unknown> {
  return {
    id,
    name: `Benchmark ${id}`,
    on: [on],
    steps: [
      {
        id: 'wait',
        action: 'flow.wait_for_event',
        with: { ...waitFor, where: { key: '${{ event.key }}' }, timeout, on_timeout: 'continue' },
      },
    ],
  };
}

/** A validated definition as a run's snapshot (revision 1), for starting the interpreter directly. */
export function snapshotOf(raw: unknown, catalog: ReadonlyMap<string, AnyAction>): DefinitionSnapshot {
  const checked = validateDefinition(raw, catalog);
  if (!checked.ok) throw new Error(`invalid benchmark definition: ${JSON.stringify(checked.errors)}`);
  return { definition: checked.definition, revision: 1, actionDefaults: {} };
}

/** An accepted event as the intake builds it, for starting workflows without the gateway. */
export function flowEvent(
  source: string,
  type: string,
  body: Record<string, unknown>,
  id = `${source}-${randomUUID()}`,
): FlowEvent {
  return { id, source, type, body, receivedAt: new Date().toISOString(), causation: { rootEventId: id, depth: 0 } };
}

/** Saves definitions through the store at `concurrency`, printing progress every ten seconds. */
export async function seedDefinitions(
  ctx: BenchContext,
  definitions: readonly unknown[],
  concurrency: number,
  what: string,
): Promise<void> {
  await seedWithProgress(definitions, concurrency, what, (definition) => ctx.saveDefinition(definition));
}

/** Saves `items` with `save` at `concurrency`, printing progress (and the current rate) every ten seconds. */
export async function seedWithProgress<T>(
  items: readonly T[],
  concurrency: number,
  what: string,
  save: (item: T) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  let saved = 0;
  let last = { at: started, saved: 0 };
  await mapLimit(items, concurrency, async (item) => {
    await save(item);
    saved++;
    const now = Date.now();
    if (now - last.at >= 10_000 && saved < items.length) {
      // The rate of the last interval: saves may slow down as the registry grows.
      const rate = (saved - last.saved) / ((now - last.at) / 1000);
      last = { at: now, saved };
      const left = Math.round((items.length - saved) / rate);
      progress(
        `${what}: saved ${saved.toLocaleString('en')}/${items.length.toLocaleString('en')} (${rate.toFixed(1)}/s now, ~${left} s left)`,
      );
    }
  });
  progress(`${what}: saved ${items.length.toLocaleString('en')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
