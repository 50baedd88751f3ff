import { z } from 'zod';
import { actionsById, defineAction, type AnyAction } from '../activities';

/** The benchmarks' action: takes `{}`, does nothing, returns `{}`. It exists only in the benchmark's worker. */
export const benchNoop = defineAction({
  id: 'bench.noop',
  description: 'Does nothing and returns {}; the benchmarks use it to measure what Flow adds around an activity.',
  input: z.strictObject({}),
  output: z.strictObject({}),
  examples: [{ title: 'Do nothing', with: {} }],
  async run() {
    return {};
  },
});

/** Flow's catalog plus `bench.noop`, so benchmark definitions validate and their runs find the activity. */
export function benchCatalog(): ReadonlyMap<string, AnyAction> {
  return new Map([...actionsById(), [benchNoop.id, benchNoop]]);
}
