import fs from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ): 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * CPU time, in milliseconds, that each process of the benchmark has used so far: the runner itself, and each child
 * by name. Children are read from `/proc`, so on other systems only the runner is reported; a child without a pid
 * (a service on another machine: `TEMPORAL_ADDRESS`, `MONGODB_URI`) or one that has ended is left out.
 */
export function cpuMsByProcess(children: Readonly<Record<string, number | undefined>>): Record<string, number> {
  const usage = process.cpuUsage();
  const out: Record<string, number> = { runner: (usage.user + usage.system) / 1000 };
  for (const [name, pid] of Object.entries(children)) {
    const ms = pid === undefined ? undefined : processCpuMs(pid);
    if (ms !== undefined) out[name] = ms;
  }
  return out;
}

/** User plus system CPU time of one process, or undefined when it cannot be read. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks / TICKS_PER_SECOND) * 1000 : undefined;
  } catch {
    return undefined;
  }
}
