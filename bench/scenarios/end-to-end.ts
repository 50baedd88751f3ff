import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { DispatchResult } from '../../common/run-types';
import { PREPRODUCTION_ARTIFACTS } from '../../test/support/release-world';
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
      activities:
        'the actions and the wait registration, scheduled → completed, summed (git, Jira, Jenkins, Slack, rsync, SMTP)',
      temporal:
        "the rest of the run: task queueing, persistence, the build event's dispatch and delivery to the waiting run",
    });
    const byAction = new Map<string, number[]>();
    let sequence = 0;
    for (let rep = 0; rep < reps; rep++) {
      const totals: number[] = [];
      for (let i = 0; i < perRep; i++) {
        sequence++;
        // Each run releases its own version from its own ticket, so each one cuts a new branch.
        const issue = `REL-${1000 + sequence}`;
        const version = `2.4.${sequence}`;
        world.jira.addIssue(issue, { summary: `Release ${version}`, status: 'Start Release', fixVersions: [version] });
        world.publishArtifacts(version);
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
        // The run triggers the preproduction build and waits for it. Jenkins builds it at once here: the build is
        // started as an executor would, and its finish reported as Flow's Jenkins webhook reports it.
        const handle = ctx.client.workflow.getHandle(run.workflowId);
        await until(async () => /Waiting for jenkins\/build_finished/.test(await currentDetails(handle)));
        const waitingSeenAt = nowMs();
        const build = world.jenkins.startQueued(JOB, { artifacts: PREPRODUCTION_ARTIFACTS });
        const buildSentAt = nowMs();
        const finished = await ctx.postEvent(
          'jenkins',
          'build_finished',
          {
            job: JOB,
            job_name: JOB,
            number: build.number,
            status: 'SUCCESS',
            url: build.url,
            parameters: build.parameters,
          },
          `${ctx.tag}-e2e-build-${sequence}`,
        );
        if (finished.status !== 202) throw new Error(`the build event was answered ${finished.status}`);
        await handle.result();
        // The next release is admitted only once this one has left the train.
        await until(async () => !(await trainBusy(ctx.client, 'train-release-REL')));
        const [dispatcher, facts] = await Promise.all([
          historyFacts(ctx.client, answer.body.workflowId),
          historyFacts(ctx.client, run.workflowId),
        ]);
        // The pause between the run blocking on the build and the build's report is this scenario's, not Flow's.
        const pause = buildSentAt - waitingSeenAt;
        const runTime = facts.closedAt! - facts.startedAt - pause;
        totals.push(facts.closedAt! - sentAt - pause);
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
        '"Start Release", and examples/release.yaml runs against a real git repository, rsync, an SMTP server and local ' +
        'Jira, Jenkins and Slack servers, waiting in flow.wait_for_event until the preproduction build is reported ' +
        "finished (the bench reports it as soon as the run waits). Time from sending the webhook to the run's completion " +
        '(server time), minus the pause between the run blocking on the build and the bench reporting it.',
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

/** The preproduction job the release example triggers and waits for. */
const JOB = 'shop-preproduction';

/** Polls `check` every 10 ms for up to a minute. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the release run did not reach the expected state within a minute');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The run's current details, as the Temporal UI shows them. */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  return (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
}

/** Whether a train workflow still runs (it ends once its last run has left). */
async function trainBusy(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
