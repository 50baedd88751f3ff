import assert from 'node:assert/strict';
import type { SweepResult } from '../../activities/git';
import { startWorkspaceSweeper } from '../../workers/workspace-sweeper';

describe('workers: the workspace sweeper', () => {
  it('sweeps on its interval, reports what it removed and keeps going after a failed sweep', async () => {
    const lines: string[] = [];
    const answers: (SweepResult | Error)[] = [
      { removed: ['/ws/worktrees/a', '/ws/worktrees/b'], kept: 3 },
      new Error('Temporal is unreachable'),
      { removed: [], kept: 1 },
    ];
    let calls = 0;
    const done = new Promise<void>((resolve) => {
      const sweeper = startWorkspaceSweeper({
        sweep: async () => {
          const answer = answers[calls++];
          if (calls === answers.length) void sweeper.stop().then(resolve);
          if (answer instanceof Error) throw answer;
          return answer ?? { removed: [], kept: 0 };
        },
        intervalMs: 20,
        firstDelayMs: 5,
        log: (line) => lines.push(line),
      });
    });
    await done;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(calls, 3, 'no sweep after stop()');
    assert.deepEqual(lines, [
      '[worker] workspace: removed the worktrees of 2 ended run(s); kept 3 of open or new runs',
      '[worker] workspace sweep failed, trying again in 1 s: Temporal is unreachable',
    ]);
  });

  it('stop() waits for a sweep in progress', async () => {
    let finished = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const sweeper = startWorkspaceSweeper({
      sweep: async () => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished = true;
        return { removed: [], kept: 0 };
      },
      intervalMs: 60_000,
      firstDelayMs: 0,
      log: () => undefined,
    });
    await running;
    await sweeper.stop();
    assert.equal(finished, true);
  });
});
