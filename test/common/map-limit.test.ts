import assert from 'node:assert/strict';
import { mapLimit } from '../../common/map-limit';

/** Counts turns of the event loop while `during` runs: each call of `fn` can then say in which turn it was made. */
async function countingTurns<T>(during: (turn: () => number) => Promise<T>): Promise<T> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return await during(() => turns);
  } finally {
    running = false;
  }
}

describe('common: mapLimit', () => {
  it('keeps the order of the items and never has more than `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (value, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, value));
      inFlight--;
      return `${index}:${value}`;
    });
    assert.deepEqual(results, ['0:5', '1:1', '2:4', '3:2', '4:3']);
    assert.equal(most, 2);
  });

  it('throws the first failure', async () => {
    await assert.rejects(
      mapLimit([1, 2, 3], 3, async (value) => {
        if (value === 2) throw new Error('two failed');
        return value;
      }),
      /two failed/,
    );
  });

  it('makes every call in the same turn when not paced', async () => {
    const turns = await countingTurns((turn) => mapLimit([1, 2, 3, 4], 4, async () => turn()));
    assert.equal(new Set(turns).size, 1, `calls were made in turns ${turns.join(', ')}`);
  });

  /** Runs 8 calls, each in flight long enough for all of them to have been made; returns each call's turn. */
  async function turnsOf(callsPerTurn: number): Promise<{ turns: number[]; made: number[]; most: number }> {
    let inFlight = 0;
    let most = 0;
    const made: number[] = [];
    const turns = await countingTurns((turn) =>
      mapLimit(
        Array.from({ length: 8 }, (_, index) => index),
        8,
        async (index) => {
          made.push(index);
          const at = turn();
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 30));
          inFlight--;
          return at;
        },
        { callsPerTurn },
      ),
    );
    return { turns, made, most };
  }

  it('paced one call a turn: each call in a turn of its own, in order, the first at once, still all in flight', async () => {
    const { turns, made, most } = await turnsOf(1);
    assert.deepEqual(made, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(turns[0], 0, 'the first call waits for no turn');
    for (let index = 1; index < turns.length; index++)
      assert.ok(turns[index]! > turns[index - 1]!, `call ${index} shared a turn: ${turns.join(', ')}`);
    assert.equal(most, 8, 'pacing spreads the calls over turns, it does not lower the limit');
  });

  it('paced three calls a turn: the calls in batches of three, in order, the first batch at once', async () => {
    const { turns, made, most } = await turnsOf(3);
    assert.deepEqual(made, [0, 1, 2, 3, 4, 5, 6, 7]);
    const batches = [turns.slice(0, 3), turns.slice(3, 6), turns.slice(6)];
    assert.deepEqual(batches[0], [0, 0, 0], `turns ${turns.join(', ')}`);
    for (const batch of batches) assert.equal(new Set(batch).size, 1, `a batch spans turns: ${turns.join(', ')}`);
    assert.ok(batches[0][0]! < batches[1]![0]! && batches[1]![0]! < batches[2]![0]!, `turns ${turns.join(', ')}`);
    assert.equal(most, 8);
  });
  it('refuses a pace that would never make a call (0, a fraction, negative), before calling anything', async () => {
    for (const callsPerTurn of [0, 0.5, -1, Number.NaN]) {
      let called = 0;
      await assert.rejects(
        mapLimit([1, 2], 2, () => Promise.resolve(called++), { callsPerTurn }),
        (error: unknown) => error instanceof RangeError && /callsPerTurn/.test(error.message),
        String(callsPerTurn),
      );
      assert.equal(called, 0);
    }
  });
});
