import type { DispatchResult } from '../../common/run-types';
import { progress, timedPost, type BenchContext } from '../context';
import { noopDefinition, seedDefinitions } from '../definitions';
import { historyFacts, lookupMs, timestampMs } from '../histories';
import {
  BreakdownCollector,
  compared,
  flowOnly,
  goal,
  RepValues,
  type Goal,
  type Metric,
  type Scenario,
} from '../scenario';
import { percentile } from '../stats';

const SOURCE = 'bench-registry';

/** The event measured at one registry size: bound to one definition, saved after all the others. */
function targetAt(scale: number): { source: string; type: string } {
  return { source: SOURCE, type: `target-${scale}` };
}

/**
 * Scenario 3: how long dispatching one event takes as the registry grows. Definitions are seeded cumulatively, each
 * bound to its own event type. At each size the measured event is bound to exactly one definition, saved last, so a
 * store that scanned its collections would show it (a definition saved first can be found early by a scan).
 */
export const registryScale: Scenario = {
  name: 'registry',
  title: 'Registry scale: dispatch time with 10 to 10,000 stored definitions',
  async run(ctx, { quick, reps }) {
    const scales = quick ? [10, 50, 200] : [10, 1_000, 10_000];
    const eventsPerRep = quick ? 5 : 50;
    const values = new RepValues();
    const breakdown = new BreakdownCollector(`One event at ${scales.at(-1)!.toLocaleString('en')} definitions`, {
      gateway: 'POST sent → dispatcher started (HTTP, auth, the start call)',
      lookup: 'the registry lookup and the CEL `if`: the workflow task that runs the lookup as a local activity',
      dispatcher: 'the rest of the dispatcher until the run started (the startRuns activity, its workflow tasks)',
    });

    let stored = 0;
    try {
      for (const scale of scales) {
        const fillers = Array.from({ length: scale - 1 - stored }, (_, index) => {
          const n = String(stored + index).padStart(5, '0');
          return noopDefinition(`bench-reg-${n}`, { source: SOURCE, type: `t${n}` });
        });
        if (fillers.length > 0)
          await seedDefinitions(ctx, fillers, 16, `registry: seeding up to ${scale.toLocaleString('en')} definitions`);
        await ctx.saveDefinition(noopDefinition(`bench-reg-target-${scale}`, targetAt(scale)));
        stored = scale;

        for (let rep = 0; rep < reps; rep++) {
          const dispatchMs: number[] = [];
          const lookupMs: number[] = [];
          for (let i = 0; i < eventsPerRep; i++) {
            const run = await dispatchOne(ctx, targetAt(scale), `${ctx.tag}-reg${scale}-${rep}-${i}`);
            dispatchMs.push(run.total);
            lookupMs.push(run.lookup);
            if (scale === scales.at(-1))
              breakdown.add({
                gateway: run.gateway,
                lookup: run.lookup,
                dispatcher: run.total - run.gateway - run.lookup,
              });
          }
          if (scale === scales.at(-1)) breakdown.endRep();
          values.add(`s${scale}.p50`, percentile(dispatchMs, 50));
          values.add(`s${scale}.p99`, percentile(dispatchMs, 99));
          values.add(`s${scale}.lookup.p99`, percentile(lookupMs, 99));
          progress(
            `registry: ${scale.toLocaleString('en')} definitions, rep ${rep + 1}/${reps}: dispatch p50 ${percentile(dispatchMs, 50).toFixed(1)} ms, p99 ${percentile(dispatchMs, 99).toFixed(1)} ms`,
          );
        }
      }
    } finally {
      // Later scenarios should not pay for ten thousand definitions they do not use.
      progress('registry: emptying the registry');
      await ctx.resetRegistry();
    }

    const base = scales[0]!;
    const metrics: Metric[] = [
      flowOnly(`s${base}.p50`, `Dispatch p50 at ${base} definitions`, 'ms', values.get(`s${base}.p50`)),
      flowOnly(`s${base}.p99`, `Dispatch p99 at ${base} definitions`, 'ms', values.get(`s${base}.p99`)),
    ];
    const goals: Goal[] = [];
    for (const scale of scales.slice(1)) {
      const at = scale.toLocaleString('en');
      metrics.push(
        compared(
          `s${scale}.p50`,
          `Dispatch p50 at ${at} vs ${base} definitions`,
          'ms',
          values.get(`s${scale}.p50`),
          values.get(`s${base}.p50`),
        ),
        compared(
          `s${scale}.p99`,
          `Dispatch p99 at ${at} vs ${base} definitions`,
          'ms',
          values.get(`s${scale}.p99`),
          values.get(`s${base}.p99`),
        ),
        compared(
          `s${scale}.lookup.p99`,
          `Registry lookup p99 at ${at} vs ${base} definitions`,
          'ms',
          values.get(`s${scale}.lookup.p99`),
          values.get(`s${base}.lookup.p99`),
        ),
      );
    }
    const largest = metrics.find((metric) => metric.id === `s${scales.at(-1)!}.p99`)!;
    goals.push(
      goal(
        largest,
        `Dispatch p99 at ${scales.at(-1)!.toLocaleString('en')} definitions at most 1.2x the p99 at ${base}`,
        { atMost: 1.2 },
      ),
    );
    return {
      name: registryScale.name,
      title: registryScale.title,
      measures:
        `Definitions are saved through \`DefinitionStore.save\` (concurrency 16), cumulatively ${scales.map((s) => s.toLocaleString('en')).join(' → ')}, ` +
        'each bound to its own event type; the definition bound to the measured event is saved last at each size. ' +
        `${eventsPerRep} events a repetition are sent one at a time; dispatch time runs from the POST until the matched run ` +
        'started (its WorkflowExecutionStarted time on the server). The registry is emptied afterwards.',
      baseline: `The same measurement at ${base} stored definitions, in the same run.`,
      metrics,
      goals,
      breakdowns: [breakdown.result()],
      notes: [
        'Sizes are measured one after the other (the registry grows), so drift between them shows up as a ratio too.',
      ],
    };
  },
};

/** Sends one event to the bound type and times it to the start of its run. */
async function dispatchOne(
  ctx: BenchContext,
  target: { source: string; type: string },
  key: string,
): Promise<{ total: number; gateway: number; lookup: number }> {
  const { sentAt, workflowId } = await timedPost(ctx, target.source, target.type, { key }, key);
  const result = (await ctx.client.workflow.getHandle(workflowId).result()) as DispatchResult;
  const run = result.matched[0];
  if (!run || result.matched.length !== 1)
    throw new Error(`event ${key} matched ${result.matched.length} definitions, expected 1`);
  const [dispatcher, description] = await Promise.all([
    historyFacts(ctx.client, workflowId),
    ctx.client.workflow.getHandle(run.workflowId).describe(),
  ]);
  const runStarted = timestampMs(description.raw.workflowExecutionInfo?.startTime);
  return {
    total: runStarted - sentAt,
    gateway: dispatcher.startedAt - sentAt,
    lookup: lookupMs(dispatcher),
  };
}
