import fs from 'node:fs';
import type { DispatchResult } from '../../common/run-types';
import { progress, type BenchContext, type GatewayAnswer } from '../context';
import { noopDefinition } from '../definitions';
import { nowMs } from '../load';
import { compared, flowOnly, goal, RepValues, type Metric, type Scenario } from '../scenario';

/** Events sent in all, the window at each end, and the senders at once. */
function sizes(quick: boolean): { total: number; window: number; warmUp: number; concurrency: number } {
  return quick
    ? { total: 200, window: 50, warmUp: 10, concurrency: 8 }
    : { total: 10_000, window: 1_000, warmUp: 100, concurrency: 16 };
}

/** CPU milliseconds of every process, and of the Temporal server alone, at one moment. */
interface CpuMark {
  readonly all: number;
  readonly temporal: number;
  readonly at: number;
}

/**
 * Ageing (issue 21): many events through the gateway, each running a one-step `bench.noop` definition, at a steady
 * concurrency; the CPU per event of the first and the last window of completed events, for every process and for the
 * Temporal server alone, and the server's database file before and after when it is file-backed
 * (`FLOW_BENCH_TEMPORAL_DB=file`). Goal: the last window costs at most 1.2x the first.
 */
export const ageing: Scenario = {
  name: 'ageing',
  title: 'Ageing: CPU per event of the first and the last thousand of 10,000 events',
  async run(ctx, { quick }) {
    const { total, window, warmUp, concurrency } = sizes(quick);
    const values = new RepValues();
    const eventType = { source: 'bench', type: `ageing-${ctx.tag}` };
    await ctx.saveDefinition(noopDefinition(`bench-ageing-${ctx.tag}`, eventType, 1));
    const dbFile = ctx.temporalDbFile;
    const dbSizes: number[] = [];
    // One pass whatever --reps says: a second would start on the server the first one aged.
    for (let rep = 0; rep < 1; rep++) {
      let sent = 0;
      const send = async (label: string): Promise<void> => {
        const key = `ageing-${ctx.tag}-${rep}-${label}-${sent++}`;
        const answer = await postWithRetries(ctx, eventType, { n: sent }, key);
        if (answer.status !== 202 || !answer.body.workflowId)
          throw new Error(`ageing: the gateway answered ${answer.status}: ${answer.body.detail ?? ''}`);
        const result = (await ctx.client.workflow.getHandle(answer.body.workflowId).result()) as DispatchResult;
        const run = result.matched[0];
        if (result.matched.length !== 1 || !run)
          throw new Error(`ageing: event ${key} matched ${result.matched.length}`);
        await ctx.client.workflow.getHandle(run.workflowId).result();
      };
      for (let i = 0; i < warmUp; i++) await send('warm');
      if (dbFile) dbSizes.push(fileBytes(dbFile));

      const marks = new Map<number, CpuMark>();
      const mark = (): CpuMark => {
        const cpu = ctx.cpuMs();
        const all = Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
        return { all, temporal: cpu['Temporal server'] ?? Number.NaN, at: nowMs() };
      };
      const boundaries = new Set([window, total - window, total]);
      marks.set(0, mark());
      let issued = 0;
      let completed = 0;
      let nextReport = nowMs() + 30_000;
      let reported = { completed: 0, cpu: marks.get(0)! };
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (issued < total) {
            issued++;
            await send('event');
            completed++;
            if (boundaries.has(completed)) marks.set(completed, mark());
            if (nowMs() > nextReport) {
              // The CPU per event since the last line, so a run cut short still shows the trend.
              const now = mark();
              const events = completed - reported.completed;
              progress(
                `ageing: ${completed}/${total} events completed; since the last line ` +
                  `${((now.all - reported.cpu.all) / events).toFixed(1)} ms of CPU per event ` +
                  `(Temporal ${((now.temporal - reported.cpu.temporal) / events).toFixed(1)} ms), ` +
                  `${((events / (now.at - reported.cpu.at)) * 1000).toFixed(1)} events/s` +
                  (dbFile ? `, database ${mib(fileBytes(dbFile)).toFixed(0)} MiB` : ''),
              );
              reported = { completed, cpu: now };
              nextReport = nowMs() + 30_000;
            }
          }
        }),
      );
      const perEvent = (from: number, to: number): { all: number; temporal: number; perSecond: number } => {
        const a = marks.get(from)!;
        const b = marks.get(to)!;
        const events = to - from;
        return {
          all: (b.all - a.all) / events,
          temporal: (b.temporal - a.temporal) / events,
          perSecond: (events / (b.at - a.at)) * 1000,
        };
      };
      const first = perEvent(0, window);
      const last = perEvent(total - window, total);
      values.add('first.all', first.all);
      values.add('last.all', last.all);
      values.add('first.perSecond', first.perSecond);
      values.add('last.perSecond', last.perSecond);
      if (Number.isFinite(first.temporal)) {
        values.add('first.temporal', first.temporal);
        values.add('last.temporal', last.temporal);
      }
      if (dbFile) dbSizes.push(fileBytes(dbFile));
      progress(
        `ageing rep ${rep + 1}: CPU per event ${first.all.toFixed(1)} ms (first ${window}) → ${last.all.toFixed(1)} ms ` +
          `(last ${window}); Temporal ${first.temporal.toFixed(1)} → ${last.temporal.toFixed(1)} ms`,
      );
    }

    const metrics: Metric[] = [];
    const all = compared(
      'cpu.all',
      `CPU per event, all processes: last ${window} vs first ${window}`,
      'ms',
      values.get('last.all'),
      values.get('first.all'),
    );
    metrics.push(all);
    if (ctx.cpuMs()['Temporal server'] !== undefined)
      metrics.push(
        compared(
          'cpu.temporal',
          `CPU per event, Temporal server: last ${window} vs first ${window}`,
          'ms',
          values.get('last.temporal'),
          values.get('first.temporal'),
        ),
      );
    metrics.push(
      compared(
        'throughput',
        `Events completed a second: last ${window} vs first ${window}`,
        'events/s',
        values.get('last.perSecond'),
        values.get('first.perSecond'),
      ),
    );
    if (dbFile && dbSizes.length >= 2)
      metrics.push(
        flowOnly('db.before', "Temporal's database file before the events (with its WAL)", 'MiB', [mib(dbSizes[0]!)]),
        flowOnly('db.after', "Temporal's database file after the events (with its WAL)", 'MiB', [mib(dbSizes.at(-1)!)]),
      );
    return {
      name: 'ageing',
      title: ageing.title,
      measures:
        `${total} events POSTed to the gateway by ${concurrency} senders, each waiting for its event's one-step ` +
        `\`bench.noop\` run to close: CPU per completed event (every process the run started, and the Temporal server ` +
        `alone) and events a second over the first and the last ${window}`,
      baseline: `the first ${window} events of the same run`,
      metrics,
      goals: [goal(all, `CPU per event of the last ${window} at most 1.2x the first ${window}`, { atMost: 1.2 })],
      breakdowns: [],
      notes: [
        dbFile
          ? `The Temporal dev server is file-backed (${dbFile}), as npm start's is.`
          : 'The Temporal dev server is in-memory (the bench default): its tables and indexes grow as a file-backed ' +
            "one's do, but no page is read from or written to disk, so this misses the file's I/O and page-cache " +
            'misses. Run with FLOW_BENCH_TEMPORAL_DB=file for the case of npm start.',
        'One pass whatever --reps says: each further pass would start on an older server.',
        `${warmUp} events warm the processes up first and are not counted.`,
      ],
    };
  },
};

/**
 * POSTs an event, sending it again (up to three times) when the connection fails before an answer: a run of
 * thousands of requests on a loaded machine meets the odd reset, and the Idempotency-Key makes a repeat the same event.
 */
async function postWithRetries(
  ctx: BenchContext,
  event: { source: string; type: string },
  body: object,
  key: string,
): Promise<GatewayAnswer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.postEvent(event.source, event.type, body, key);
    } catch (error) {
      if (attempt >= 3) throw error;
      progress(`ageing: sending ${key} again after ${String(error)}`);
    }
  }
}

function fileBytes(dbFile: string): number {
  return ['', '-wal'].reduce(
    (sum, suffix) => sum + (fs.statSync(dbFile + suffix, { throwIfNoEntry: false })?.size ?? 0),
    0,
  );
}

function mib(bytes: number): number {
  return bytes / 2 ** 20;
}
