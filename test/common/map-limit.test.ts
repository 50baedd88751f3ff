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

  it('paced: makes each call in a turn of its own, in order, the first at once, still up to `limit` in flight', async () => {
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
          // Each call stays in flight long enough for all of them to have been made.
          await new Promise((resolve) => setTimeout(resolve, 30));
          inFlight--;
          return at;
        },
        { paced: true },
      ),
    );
    assert.deepEqual(made, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(turns[0], 0, 'the first call waits for no turn');
    for (let index = 1; index < turns.length; index++)
      assert.ok(turns[index]! > turns[index - 1]!, `call ${index} shared a turn: ${turns.join(', ')}`);
    assert.equal(most, 8, 'pacing spreads the calls over turns, it does not lower the limit');
  });
});
