/** Median, min and max of one measurement over the repetitions of a run. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every repetition's value, in the order they were measured. */
  readonly values: readonly number[];
}

/** The value below which `p` percent of the samples fall (nearest rank, so p99 of 50 samples is the largest). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle value; the mean of the two middle values for an even count. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Summarises the repetitions of one measurement. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('no repetitions to summarise');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values: [...values] };
}

/** Sum of the samples. */
export function sum(samples: readonly number[]): number {
  return samples.reduce((total, value) => total + value, 0);
}
