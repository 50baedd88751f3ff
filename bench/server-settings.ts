/**
 * Measures the local Temporal dev server's settings side by side (issue 21, parts 4 and 5): SQLite pragmas of a
 * file-backed and an in-memory store, and eager activity dispatch. Each variant gets a fresh server; a worker in this
 * process runs `noopSequence` (the bench baseline's loop of `bench.noop` activities), and the runner starts N
 * workflows at a fixed concurrency and waits for every result. Reported per variant: workflows a second, the server's
 * CPU per workflow, this process's (worker and client) CPU per workflow, activity schedule-to-start, and the database
 * file's size. Variants rotate their order in each repetition, so a noisy moment does not always hit the same one.
 *
 *   npx tsx bench/server-settings.ts [--runs 400] [--concurrency 16] [--steps 3] [--reps 3] [--only a,b]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { toolsDir } from '../config';
import { findFreePort } from '../devstack/ports';
import { silentProgress } from '../devstack/progress';
import { startTemporalDevServer, waitForTemporal, type SqlitePragmas } from '../devstack/temporal-server';
import { ensureTemporalCli } from '../devstack/tools';
import { cpuMsByProcess } from './cpu';
import { nowMs } from './load';
import { median } from './stats';

interface Variant {
  readonly name: string;
  readonly file: boolean;
  readonly pragmas: SqlitePragmas;
  readonly eager: boolean;
}

const VARIANTS: readonly Variant[] = [
  { name: 'memory/default', file: false, pragmas: {}, eager: false },
  { name: 'memory/sync-off', file: false, pragmas: { synchronous: 'off' }, eager: false },
  { name: 'memory/sync-off+eager', file: false, pragmas: { synchronous: 'off' }, eager: true },
  { name: 'memory/default+eager', file: false, pragmas: {}, eager: true },
  { name: 'file/default', file: true, pragmas: {}, eager: false },
  { name: 'file/wal+normal', file: true, pragmas: { journal_mode: 'wal', synchronous: 'normal' }, eager: false },
  { name: 'file/wal+off', file: true, pragmas: { journal_mode: 'wal', synchronous: 'off' }, eager: false },
  { name: 'file/wal+normal+eager', file: true, pragmas: { journal_mode: 'wal', synchronous: 'normal' }, eager: true },
];

interface Sample {
  readonly perSecond: number;
  readonly serverCpuMs: number;
  readonly runnerCpuMs: number;
  readonly scheduleToStartMs: number;
  readonly dbMiB: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '400' },
      concurrency: { type: 'string', default: '16' },
      steps: { type: 'string', default: '3' },
      reps: { type: 'string', default: '3' },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const steps = Number(values.steps);
  const reps = Number(values.reps);
  const only = values.only?.split(',');
  const variants = VARIANTS.filter((v) => !only || only.includes(v.name));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cli = await ensureTemporalCli({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./baseline/workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
    for (const variant of order) {
      const sample = await measure(cli.path, bundle, variant, { runs, concurrency, steps });
      samples.get(variant.name)!.push(sample);
      process.stderr.write(`rep ${rep + 1} ${variant.name}: ${JSON.stringify(sample)}\n`);
    }
  }
  const cell = (xs: number[], digits: number): string =>
    `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
  console.log(`\n${runs} workflows of ${steps} activities at concurrency ${concurrency}, ${reps} repetitions\n`);
  console.log(
    '| variant | workflows/s | server CPU ms/workflow | worker+client CPU ms/workflow | schedule-to-start ms | DB MiB |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const [name, xs] of samples) {
    console.log(
      `| ${name} | ${cell(
        xs.map((s) => s.perSecond),
        1,
      )} | ${cell(
        xs.map((s) => s.serverCpuMs),
        1,
      )} | ${cell(
        xs.map((s) => s.runnerCpuMs),
        1,
      )} | ${cell(
        xs.map((s) => s.scheduleToStartMs),
        2,
      )} | ${cell(
        xs.map((s) => s.dbMiB),
        1,
      )} |`,
    );
  }
}

async function measure(
  cli: string,
  bundle: { code: string },
  variant: Variant,
  load: { runs: number; concurrency: number; steps: number },
): Promise<Sample> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-server-settings-'));
  const port = await findFreePort();
  const dbFile = path.join(scratch, 'temporal.db');
  const server = startTemporalDevServer({
    cli,
    port,
    uiPort: null,
    namespace: 'default',
    logFile: path.join(scratch, 'temporal.log'),
    sqlitePragmas: variant.pragmas,
    env: { FLOW_TEMPORAL_EAGER_ACTIVITIES: variant.eager ? 'on' : 'off' },
    ...(variant.file ? { dbFile } : {}),
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, 'default', { process: server, timeoutMs: 60_000 });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace: 'default' });
    const nativeConnection = await (await import('@temporalio/worker')).NativeConnection.connect({ address });
    const taskQueue = 'settings';
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: { 'bench.noop': async () => ({}) },
    });
    const running = worker.run();
    try {
      const runOne = (id: string): Promise<number> =>
        client.workflow.execute('noopSequence', { taskQueue, workflowId: id, args: [load.steps] });
      for (let i = 0; i < 20; i++) await runOne(`warm-${i}`);
      const cpu0 = cpuMsByProcess({ server: server.pid });
      const t0 = nowMs();
      let next = 0;
      await Promise.all(
        Array.from({ length: load.concurrency }, async () => {
          while (next < load.runs) await runOne(`run-${next++}`);
        }),
      );
      const seconds = (nowMs() - t0) / 1000;
      const cpu1 = cpuMsByProcess({ server: server.pid });
      const waits: number[] = [];
      for (let i = 0; i < load.runs; i += Math.ceil(load.runs / 50)) {
        const history = await client.workflow.getHandle(`run-${i}`).fetchHistory();
        const scheduled = new Map<string, number>();
        for (const event of history.events ?? []) {
          const at = Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
          if (event.activityTaskScheduledEventAttributes) scheduled.set(String(event.eventId), at);
          const started = event.activityTaskStartedEventAttributes;
          if (started) waits.push(at - scheduled.get(String(started.scheduledEventId))!);
        }
      }
      const dbBytes = variant.file
        ? ['', '-wal'].reduce(
            (sum, suffix) => sum + (fs.statSync(dbFile + suffix, { throwIfNoEntry: false })?.size ?? 0),
            0,
          )
        : 0;
      return {
        perSecond: load.runs / seconds,
        serverCpuMs: (cpu1['server']! - cpu0['server']!) / load.runs,
        runnerCpuMs: (cpu1['runner']! - cpu0['runner']!) / load.runs,
        scheduleToStartMs: waits.reduce((a, b) => a + b, 0) / waits.length,
        dbMiB: dbBytes / 2 ** 20,
      };
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    }
  } finally {
    await server.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
