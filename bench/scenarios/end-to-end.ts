import type { DispatchResult } from '../../common/run-types';
import { parseYamlDefinition, progress } from '../context';
import { historyFacts } from '../histories';
import { nowMs } from '../load';
import { BreakdownCollector, flowOnly, RepValues, type Scenario } from '../scenario';
import { median, percentile } from '../stats';

/**
 * Scenario 6: the release use case (examples/release.yaml) against its local peers, from the signed Jira
 * webhook to the run's last step.
 */
export const endToEnd: Scenario = {
  name: 'e2e',
  title: 'End to end: the release use case, webhook to last step',
  async run(ctx, { quick, reps }) {
    const world = ctx.world;
    if (!world) throw new Error('the end-to-end scenario needs the release world (started when it is selected)');
    const perRep = quick ? 2 : 20;
    for (const { yaml } of world.examples()) await ctx.saveDefinition(parseYamlDefinition(yaml));

    const values = new RepValues();
    const breakdown = new BreakdownCollector('One release run', {
      gateway: 'webhook sent → dispatcher started (signature check, adapter, the start call)',
      dispatcher: 'dispatcher started → run started (registry lookup, CEL `if`, the startRuns activity)',
      interpreter: 'workflow tasks of the run on the worker (WorkflowTaskStarted → Completed), summed',
      activities: 'the 8 actions, scheduled → completed, summed (git, Jira, Jenkins, Slack)',
      temporal: 'the rest of the run: task queueing and persistence in Temporal',
    });
    const byAction = new Map<string, number[]>();
    let sequence = 0;
    for (let rep = 0; rep < reps; rep++) {
      const totals: number[] = [];
      for (let i = 0; i < perRep; i++) {
        sequence++;
        // Each run releases its own version from its own ticket, so each one cuts a new branch.
        const issue = `REL-${1000 + sequence}`;
        world.jira.addIssue(issue, {
          summary: `Release 2.4.${sequence}`,
          status: 'Start Release',
          fixVersions: [`2.4.${sequence}`],
        });
        const sentAt = nowMs();
        const answer = await ctx.postJiraWebhook(
          {
            webhookEvent: 'jira:issue_updated',
            issue: { key: issue, fields: { project: { key: 'REL' } } },
            user: { displayName: 'ana' },
            changelog: { items: [{ field: 'status', fromString: 'In Progress', toString: 'Start Release' }] },
          },
          `${ctx.tag}-e2e-${sequence}`,
        );
        if (answer.status !== 202 || !answer.body.workflowId)
          throw new Error(
            `the Jira webhook was answered ${answer.status}: ${answer.body.detail ?? JSON.stringify(answer.body)}`,
          );
        const dispatch = (await ctx.client.workflow.getHandle(answer.body.workflowId).result()) as DispatchResult;
        const run = dispatch.matched[0];
        if (!run) throw new Error(`the release event started no run: ${JSON.stringify(dispatch.skipped)}`);
        await ctx.client.workflow.getHandle(run.workflowId).result();
        const [dispatcher, facts] = await Promise.all([
          historyFacts(ctx.client, answer.body.workflowId),
          historyFacts(ctx.client, run.workflowId),
        ]);
        const runTime = facts.closedAt! - facts.startedAt;
        totals.push(facts.closedAt! - sentAt);
        breakdown.add({
          gateway: dispatcher.startedAt - sentAt,
          dispatcher: facts.startedAt - dispatcher.startedAt,
          interpreter: facts.workflowTaskMs,
          activities: facts.activityMs,
          temporal: runTime - facts.workflowTaskMs - facts.activityMs,
        });
        for (const [action, ms] of Object.entries(facts.activityMsByType))
          byAction.set(action, [...(byAction.get(action) ?? []), ms]);
      }
      breakdown.endRep();
      values.add('p50', percentile(totals, 50));
      values.add('p99', percentile(totals, 99));
      progress(
        `e2e rep ${rep + 1}/${reps}: ${perRep} releases, p50 ${percentile(totals, 50).toFixed(0)} ms, p99 ${percentile(totals, 99).toFixed(0)} ms`,
      );
    }
    const actions = [...byAction.entries()]
      .map(([action, list]) => `${action} ${median(list).toFixed(1)} ms`)
      .join(', ');
    return {
      name: endToEnd.name,
      title: endToEnd.title,
      measures:
        `${perRep} releases a repetition, one after the other: a signed \`jira:issue_updated\` webhook moves a new ticket to ` +
        '"Start Release" and examples/release.yaml runs its 9 steps against a real git repository and local Jira, Jenkins ' +
        "and Slack servers. Time from sending the webhook to the run's completion (server time).",
      metrics: [
        flowOnly('p50', 'Webhook → last step, p50', 'ms', values.get('p50')),
        flowOnly('p99', 'Webhook → last step, p99', 'ms', values.get('p99')),
      ],
      goals: [],
      breakdowns: [breakdown.result()],
      notes: [
        `Median time per action (all runs): ${actions}.`,
        'The issue sets no goal and no baseline for this scenario.',
      ],
    };
  },
};
