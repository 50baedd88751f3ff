import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { childPidsNamed, cpuMsByProcess } from '../../bench/cpu';

describe('bench: CPU time by process', () => {
  it('reads the CPU time a child has used, and finds children by command name', async function () {
    if (process.platform !== 'linux') this.skip();
    // A child that burns CPU for about 300 ms, then waits to be read.
    const child = spawn(process.execPath, [
      '-e',
      'const end = Date.now() + 300; while (Date.now() < end); process.stdout.write("done"); setInterval(() => {}, 1000);',
    ]);
    try {
      await once(child.stdout, 'data');
      assert.ok(childPidsNamed('node').includes(child.pid!), 'the child is found by its command name');
      assert.deepEqual(childPidsNamed('no-such-command'), []);
      const cpu = cpuMsByProcess({ busy: child.pid, gone: 999_999_999 });
      assert.ok(cpu['busy']! >= 200 && cpu['busy']! < 5_000, `the child used ${cpu['busy']} ms`);
      assert.ok(cpu['runner']! > 0, 'the runner itself is always read');
      assert.equal(cpu['gone'], undefined, 'a process that does not exist is left out');
    } finally {
      child.kill();
    }
  });
});
