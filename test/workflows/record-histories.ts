/**
 * Records the histories replayed by `replay.test.ts`: runs every scenario on the real services and writes each
 * dispatcher, interpreter and train history to `histories/<scenario>.<workflow type>.<n>.json`.
 *
 *   npm run record-histories                            # every scenario
 *   FLOW_RECORD_ONLY=soak-sleep npm run record-histories # just the new one
 *
 * Re-record only on purpose (a new scenario); an interpreter change must keep replaying the old files.
 */
import { Context } from '@temporalio/activity';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ServiceError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Db } from 'mongodb';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import {
  RUN_HANDLERS,
  type ApprovalAnswer,
  type ApprovalView,
  type CancelRecord,
  lifecycleKey,
  type CancelRequest,
  type LifecycleType,
  type RunStatus,
} from '../../common/run-control';
import {
  dispatchWorkflowId,
  type DispatchResult,
  type StartRunsInput,
  type StartRunsResult,
} from '../../common/run-types';
import { trainWorkflowId } from '../../common/train-types';
import { actions as builtInActions } from '../../activities';
import { digestWorkflowId, type DeliveryRecord } from '../../activities/subscriptions';
import { eventIdFor, startRuns } from '../../intake';
import { createWorker } from '../../workers/create-worker';
import { FakeSlack } from '../support/fake-slack';
import { startHarness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { connectWorker, testConfig, uniqueName } from '../support/stack';
import { durableLookups, StoppableMongo } from '../support/stoppable-mongo';
import { scenarios, type Scenario } from './scenarios';

/** How many registered waits of a run the waits store holds. */
async function waitsOf(db: Db, workflowId: string): Promise<number> {
  const documents = await db.collection<{ waiters: { workflowId: string }[] }>('waits').find({}).toArray();
  return documents.flatMap((document) => document.waiters).filter((waiter) => waiter.workflowId === workflowId).length;
}

/** Polls a run's status until `ready` holds. */
async function statusUntil(handle: WorkflowHandle, ready: (status: RunStatus) => boolean, what: string): Promise<void> {
  await eventually(
    async () => (ready(await handle.query<RunStatus>(RUN_HANDLERS.status)) ? true : undefined),
    30_000,
    what,
  );
}

/** Answers the run's approval by update once it waits, and cancels the run once it reaches its step, as scripted. */
async function controlRuns(scenario: Scenario, runOf: (definition: string) => WorkflowHandle): Promise<void> {
  if (scenario.answers) {
    const { definition, step, answers } = scenario.answers;
    const handle = runOf(definition);
    await statusUntil(
      handle,
      (status) => status.approvals.some((approval) => approval.stepId === step && approval.status === 'pending'),
      `the approval ${step} to wait`,
    );
    for (const answer of answers)
      await handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, {
        args: [{ stepId: step, via: 'api', ...answer }],
      });
  }
  if (scenario.cancel) {
    const { definition, step, by, reason } = scenario.cancel;
    const handle = runOf(definition);
    await statusUntil(
      handle,
      (status) => status.steps.some((candidate) => candidate.id === step && candidate.status === 'running'),
      `step ${step} to run`,
    );
    await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, { args: [{ by, reason }] });
    await handle.cancel();
  }
}

/**
 * The dispatchers of the closed runs' lifecycle events of `types`, each followed by the runs it started, whose own
 * lifecycle events follow in turn. Every run here carries the types, since they were bound when it was dispatched,
 * and emits those its path reaches: a run its train dequeued emits only run_superseded, one it let go never does.
 */
async function lifecycleHandles(
  client: Client,
  runs: readonly string[],
  types: readonly LifecycleType[],
): Promise<WorkflowHandle[]> {
  const handles: WorkflowHandle[] = [];
  const closed = [...runs];
  for (let run = closed.shift(); run !== undefined; run = closed.shift()) {
    for (const type of types) {
      // A run emits before it closes, so the dispatchers of the events it emitted exist by now.
      const eventId = eventIdFor('flow', lifecycleKey({ workflowId: run, type }));
      const dispatcher = client.workflow.getHandle(dispatchWorkflowId(eventId));
      if (!(await exists(dispatcher))) continue;
      const dispatched = (await dispatcher.result()) as DispatchResult;
      handles.push(dispatcher);
      for (const started of dispatched.matched) {
        const handle = client.workflow.getHandle(started.workflowId);
        await handle.result();
        handles.push(handle);
        closed.push(started.workflowId);
      }
    }
  }
  return handles;
}

/** Whether the workflow was ever started. */
async function exists(handle: WorkflowHandle): Promise<boolean> {
  try {
    await handle.describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Resolves after `ms` milliseconds. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('record histories', () => {
  it('records every scenario', async function () {
    this.timeout(300_000);
    const dir = path.join(__dirname, 'histories');
    fs.mkdirSync(dir, { recursive: true });
    const only = process.env['FLOW_RECORD_ONLY']?.split(',');
    for (const scenario of scenarios.filter((candidate) => !only || only.includes(candidate.name))) {
      const receiver = await HttpReceiver.start();
      receiver.respondWith(async (req) => {
        const scripted = (table?: Readonly<Record<string, number>>): number | undefined =>
          Object.entries(table ?? {}).find(([prefix]) => req.path.startsWith(prefix))?.[1];
        const held = scripted(scenario.delays);
        if (held) await delay(held);
        const failures = scripted(scenario.flaky);
        if (failures && receiver.to(req.path).length <= failures) return { status: 503, body: { error: 'flaky' } };
        const status = scripted(scenario.statuses);
        return status ? { status, body: { error: 'scripted' } } : { status: 200, body: { fixVersion: '2.4.0' } };
      });
      const registry = scenario.registryOutage ? await StoppableMongo.start() : undefined;
      // Subscriptions are notified in a fake Slack.
      const slack = scenario.subscriptions ? await new FakeSlack({ token: 'xoxb-recorded' }).start() : undefined;
      // The local startRuns of `localStartFails`: the first run only, then a refusal; the durable one starts them all.
      const failingLocalStart = async (input: StartRunsInput): Promise<StartRunsResult> => {
        const intake = { client: harness.client, taskQueue: harness.taskQueue };
        if (!Context.current().info.isLocal) return startRuns(intake, input);
        await startRuns(intake, { ...input, runs: input.runs.slice(0, 1) });
        throw new ServiceError('namespace rate limit exceeded (RESOURCE_EXHAUSTED)');
      };
      const harness = await startHarness({
        ...(registry ? { mongo: registry.handle } : {}),
        ...(slack || scenario.localStartFails
          ? {
              deps: {
                ...(slack ? { env: { SLACK_TOKEN: 'xoxb-recorded', SLACK_API_URL: slack.url } } : {}),
                ...(scenario.rate ? { subscriptionRate: scenario.rate } : {}),
                ...(scenario.localStartFails ? { startRuns: failingLocalStart } : {}),
              },
            }
          : {}),
      });
      // The workers of the routed queues: activity-only, with the built-in actions and the harness's environment.
      const routedConnection = scenario.queues ? await connectWorker() : undefined;
      const routed = await Promise.all(
        (scenario.queues ?? []).map((queue) =>
          createWorker({
            workflows: false,
            connection: routedConnection!,
            namespace: testConfig().temporal.namespace,
            taskQueue: queue,
            client: harness.client,
            env: {},
            actions: builtInActions,
          }),
        ),
      );
      const routedRuns = routed.map((worker) => worker.run());
      try {
        for (const definition of scenario.definitions) {
          const body = JSON.parse(JSON.stringify(definition).replaceAll('RECEIVER', receiver.url)) as object;
          const res = await request(harness.app)
            .put(`/api/definitions/${definition.id}`)
            .set('Authorization', harness.auth)
            .send(body);
          if (res.status !== 201) throw new Error(`saving ${definition.id}: ${JSON.stringify(res.body)}`);
        }
        for (const subscription of scenario.subscriptions ?? [])
          await harness.subscriptions.save(subscription, subscription.owner);
        await registry?.outage();
        const posted = await request(harness.app)
          .post(`/events/${scenario.event.source}/${scenario.event.type}`)
          .set('Authorization', harness.auth)
          .set('Idempotency-Key', uniqueName(scenario.name))
          .send(scenario.event.body);
        const dispatcher = harness.client.workflow.getHandle(posted.body.workflowId as string);
        if (registry) {
          await eventually(async () => ((await durableLookups(dispatcher)) > 0 ? true : undefined), 30_000);
          await registry.resume();
        }
        const result = (await dispatcher.result()) as DispatchResult;
        const handles = [dispatcher, ...result.matched.map((run) => harness.client.workflow.getHandle(run.workflowId))];
        const runs = result.matched.map((run) => run.workflowId);
        await controlRuns(scenario, (definition) =>
          harness.client.workflow.getHandle(result.matched.find((run) => run.definition === definition)!.workflowId),
        );
        for (const body of scenario.more ?? []) {
          const { source, type } = scenario.event;
          const next = await request(harness.app)
            .post(`/events/${source}/${type}`)
            .set('Authorization', harness.auth)
            .set('Idempotency-Key', uniqueName(scenario.name))
            .send(body);
          const nextDispatcher = harness.client.workflow.getHandle(next.body.workflowId as string);
          const nextResult = (await nextDispatcher.result()) as DispatchResult;
          handles.push(
            nextDispatcher,
            ...nextResult.matched.map((run) => harness.client.workflow.getHandle(run.workflowId)),
          );
          runs.push(...nextResult.matched.map((run) => run.workflowId));
        }
        if (scenario.later) {
          const waiting = result.matched.find((run) => run.definition === scenario.later?.after)!.workflowId;
          await eventually(async () => ((await waitsOf(harness.db, waiting)) > 0 ? true : undefined), 30_000);
          // Past both look-backs, so the later event's dispatcher is what wakes the run.
          await delay(5_000);
          const { source, type, body } = scenario.later.event;
          const later = await request(harness.app)
            .post(`/events/${source}/${type}`)
            .set('Authorization', harness.auth)
            .set('Idempotency-Key', uniqueName(`${scenario.name}-later`))
            .send(body);
          const laterDispatcher = harness.client.workflow.getHandle(later.body.workflowId as string);
          await laterDispatcher.result();
          handles.push(laterDispatcher);
        }
        for (const handle of handles) await handle.result().catch(() => undefined);
        if (scenario.lifecycle) {
          handles.push(...(await lifecycleHandles(harness.client, runs, scenario.lifecycle)));
        }
        // A train ends once its last run has closed and nobody waits.
        for (const group of scenario.trains ?? [])
          handles.push(harness.client.workflow.getHandle(trainWorkflowId(group)));
        // The digests of the windows a subscription's rate limit held notifications back in, once they have sent.
        if (scenario.subscriptions) {
          const held = await harness.db
            .collection<DeliveryRecord>('subscription_deliveries')
            .find({ state: 'held' })
            .toArray();
          const digests = new Set(held.map((record) => digestWorkflowId(record.subscription, record.rate!.minute)));
          for (const id of [...digests].sort()) handles.push(harness.client.workflow.getHandle(id));
        }
        for (const [index, handle] of handles.entries()) {
          await handle.result().catch(() => undefined);
          const type = (await handle.describe()).type;
          const file = path.join(dir, `${scenario.name}.${type}.${index}.json`);
          fs.writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
          console.log(`      wrote ${path.relative(process.cwd(), file)}`);
        }
      } finally {
        for (const worker of routed) worker.shutdown();
        await Promise.allSettled(routedRuns);
        await routedConnection?.close();
        await harness.stop();
        await registry?.stop();
        await slack?.stop();
        await receiver.stop();
      }
    }
  });
});
