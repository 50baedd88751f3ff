/** Options of {@link mapLimit}. */
export interface MapLimitOptions {
  /**
   * Make at most this many calls in one turn of the event loop, then wait for the next turn: paced calls that build a
   * request and send it (a workflow start) go out a few at a time, each batch as soon as it is built, instead of all
   * together once the last one is built, so the server starts on the first while the rest are being built. Unset, the
   * first `limit` calls are made in the same turn.
   */
  readonly callsPerTurn?: number;
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping the order. The first failure is thrown. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: MapLimitOptions = {},
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const perTurn = options.callsPerTurn;
  if (perTurn !== undefined && !(Number.isInteger(perTurn) && perTurn >= 1))
    throw new RangeError(`callsPerTurn must be a whole number of at least 1, not ${perTurn}`);
  // Calls made in the current turn, and the turn the next batch waits for.
  let madeThisTurn = 0;
  let turn: Promise<void> | undefined;
  const callTurn = async (): Promise<void> => {
    while (madeThisTurn >= perTurn!) {
      turn ??= nextTurn().then(() => {
        madeThisTurn = 0;
        turn = undefined;
      });
      await turn;
    }
    madeThisTurn++;
  };
  const caller = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (perTurn !== undefined) await callTurn();
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, caller));
  return results;
}

/** Resolves in the event loop's next turn, after the I/O the current one queued (such as an HTTP/2 write). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
