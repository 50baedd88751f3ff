import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpuMsByProcess } from '../../bench/cpu';

describe('bench: CPU time by process', () => {
  it('reads the CPU time a child has used, and leaves out processes it cannot read', async function () {
    if (process.platform !== 'linux') this.skip();
    // A child that burns 300 ms of CPU (by its own CPU clock, so a busy machine only makes it take longer), then
    // waits to be read.
    const child = spawn(process.execPath, [
      '-e',
      'const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };' +
        ' while (used() < 300); process.stdout.write("done"); setInterval(() => {}, 1000);',
    ]);
    try {
      await once(child.stdout, 'data');
      const cpu = cpuMsByProcess({ busy: child.pid, gone: 999_999_999, remote: undefined });
      assert.ok(cpu['busy']! >= 200 && cpu['busy']! < 5_000, `the child used ${cpu['busy']} ms`);
      assert.ok(cpu['runner']! > 0, 'the runner itself is always read');
      assert.equal(cpu['gone'], undefined, 'a process that does not exist is left out');
      assert.equal(cpu['remote'], undefined, 'a service without a local pid is left out');
    } finally {
      child.kill();
    }
  });
});
