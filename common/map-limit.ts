/** Options of {@link mapLimit}. */
export interface MapLimitOptions {
  /**
   * Make each call in a turn of the event loop of its own, one after another, rather than all the first `limit` in
   * the same turn. Calls that build a request and send it (a workflow start) then go out one by one, each as soon as
   * it is built, instead of all together once the last one is built: the server starts on the first while the rest
   * are being built.
   */
  readonly paced?: boolean;
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
  // The turn the last call was made in: the next call waits for it and then for one more turn.
  let lastCall: Promise<void> | undefined;
  const nextCallTurn = (): Promise<void> => {
    const turn = lastCall ? lastCall.then(nextTurn) : Promise.resolve();
    lastCall = turn;
    return turn;
  };
  const caller = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (options.paced) await nextCallTurn();
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
