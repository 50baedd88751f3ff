import type { Client } from '@temporalio/client';
import type { DispatchResult } from '../../common/run-types';
import { progress, timedPost } from '../context';
import { noopDefinition, seedDefinitions } from '../definitions';
import { historyFacts, lookupMs, timestampMs } from '../histories';
import { mapLimit } from '../../common/map-limit';
import { nowMs } from '../load';
import { BreakdownCollector, compared, RepValues, type Scenario } from '../scenario';

const EVENT = { source: 'bench-fanout', type: 'go' };

/** Scenario 4: one event that matches many definitions, against as many raw starts. */
export const fanOut: Scenario = {
  name: 'fanout',
  title: 'Fan-out: one event matching 100 definitions vs 100 raw starts',
  async run(ctx, { quick, reps }) {
    const width = quick ? 10 : 100;
    const values = new RepValues();
    const breakdown = new BreakdownCollector(`One event matching ${width} definitions`, {
      gateway: 'POST sent → dispatcher started',
      lookup: `the registry lookup of ${width} definitions and the CEL conditions: the workflow task that runs the lookup as a local activity`,
      starting: 'that workflow task completed → the last run started (the startRuns activity)',
    });
    const definitions = Array.from({ length: width }, (_, index) =>
      noopDefinition(`bench-fan-${String(index + 1).padStart(3, '0')}`, EVENT),
    );
    // All of them share one binding document, so their saves queue on its lock.
    await seedDefinitions(ctx, definitions, 4, `fan-out: ${width} definitions on one event`);

    for (let rep = 0; rep < reps; rep++) {
      const sides = rep % 2 === 0 ? (['flow', 'baseline'] as const) : (['baseline', 'flow'] as const);
      for (const side of sides) {
        if (side === 'flow') {
          const key = `${ctx.tag}-fan-${rep}`;
          const { sentAt, workflowId } = await timedPost(ctx, EVENT.source, EVENT.type, { rep }, key);
          const result = (await ctx.client.workflow.getHandle(workflowId).result()) as DispatchResult;
          const answeredAt = nowMs();
          if (result.matched.length !== width) throw new Error(`fan-out matched ${result.matched.length} of ${width}`);
          const runIds = result.matched.map((run) => run.workflowId);
          const lastStart = await lastStarted(ctx.client, runIds);
          const dispatcher = await historyFacts(ctx.client, workflowId);
          const lookup = lookupMs(dispatcher);
          values.add('flow.allStarted', lastStart - sentAt);
          values.add('flow.client', answeredAt - sentAt);
          breakdown.add({
            gateway: dispatcher.startedAt - sentAt,
            lookup,
            starting: lastStart - sentAt - (dispatcher.startedAt - sentAt) - lookup,
          });
          await finished(ctx.client, runIds);
        } else {
          const t0 = nowMs();
          const ids = Array.from({ length: width }, (_, index) => `bench-fan-${ctx.tag}-${rep}-${index}`);
          await Promise.all(
            ids.map((workflowId) =>
              ctx.client.workflow.start('noopSequence', { taskQueue: ctx.baselineTaskQueue, workflowId, args: [1] }),
            ),
          );
          values.add('baseline.client', nowMs() - t0);
          values.add('baseline.allStarted', (await lastStarted(ctx.client, ids)) - t0);
          await finished(ctx.client, ids);
        }
      }
      breakdown.endRep();
      progress(
        `fan-out rep ${rep + 1}/${reps}: all ${width} runs started after ${values.get('flow.allStarted').at(-1)!.toFixed(0)} ms (Flow) vs ${values.get('baseline.allStarted').at(-1)!.toFixed(0)} ms (raw)`,
      );
    }
    return {
      name: fanOut.name,
      title: fanOut.title,
      measures:
        `${width} definitions of one \`bench.noop\` step are bound to one event. Flow: from the POST until the last of the ` +
        `${width} runs started (the latest WorkflowExecutionStarted time on the server). The client column is the time ` +
        "until the dispatcher's result (all runs started) reached the client.",
      baseline: `${width} concurrent \`client.workflow.start\` calls of a one-activity hand-written workflow: until the last one started, and until the last call returned.`,
      metrics: [
        compared(
          'allStarted',
          `Until all ${width} runs started (server time)`,
          'ms',
          values.get('flow.allStarted'),
          values.get('baseline.allStarted'),
        ),
        compared(
          'client',
          `Until the client knows all ${width} started`,
          'ms',
          values.get('flow.client'),
          values.get('baseline.client'),
        ),
      ],
      goals: [],
      breakdowns: [breakdown.result()],
      notes: ['The issue sets no goal for fan-out; the ratio is reported.'],
    };
  },
};

/** The latest start time of the given workflows, from the server. */
async function lastStarted(client: Client, workflowIds: readonly string[]): Promise<number> {
  const starts = await mapLimit(workflowIds, 16, async (workflowId) => {
    const description = await client.workflow.getHandle(workflowId).describe();
    return timestampMs(description.raw.workflowExecutionInfo?.startTime);
  });
  return Math.max(...starts);
}

/** Waits for the runs to finish, so the next repetition starts on an idle worker. */
async function finished(client: Client, workflowIds: readonly string[]): Promise<void> {
  await mapLimit(workflowIds, 16, (workflowId) => client.workflow.getHandle(workflowId).result());
}
