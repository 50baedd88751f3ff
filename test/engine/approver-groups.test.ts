import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import request from 'supertest';
import { APPROVER_GROUP_FAILURES } from '../../common/approver-groups';
import {
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalAnswer,
  type ApprovalView,
  type RunStatus,
} from '../../common/run-control';
import type { RunResult } from '../../common/run-types';
import { Worker } from '@temporalio/worker';
import { createWorkerMetrics, metricsWorkerOptions } from '../../workers/metrics';
import { assertRefused } from '../support/failure-of';
import { flowBundle, startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

describe('engine: approver groups (group:<name> in approvers)', function () {
  this.timeout(120_000);
  let harness: Harness;
  let source: string;

  before(async () => {
    harness = await startHarness();
    source = uniqueName('groups');
  });
  after(() => harness.stop());

  async function putGroup(name: string, members: string[]): Promise<void> {
    const saved = await request(harness.app)
      .put(`/api/groups/${name}`)
      .set('Authorization', harness.auth)
      .send({ members });
    assert.ok(saved.status === 201 || saved.status === 200, JSON.stringify(saved.body));
  }

  /** Saves a definition whose step `go_live` is an approval with `approval`, and starts a run of it. */
  async function approvalRun(id: string, approval: Record<string, unknown>): Promise<WorkflowHandle> {
    const type = id.replaceAll('-', '_');
    const saved = await request(harness.app)
      .put(`/api/definitions/${id}`)
      .set('Authorization', harness.auth)
      .send({
        id,
        name: id,
        on: [{ source, type }],
        steps: [
          { id: 'go_live', action: 'flow.approval', with: approval },
          { id: 'after', action: 'flow.set', with: { by: '${{ steps.go_live.output.by }}' } },
        ],
      });
    assert.ok(saved.status === 201 || saved.status === 200, JSON.stringify(saved.body));
    return harness.client.workflow.getHandle(await harness.startRun(source, type, { n: uniqueName('n') }));
  }

  async function opened(handle: WorkflowHandle): Promise<ApprovalView> {
    return eventually(
      async () => (await handle.query<RunStatus>(RUN_HANDLERS.status)).approvals[0],
      20_000,
      'the approval to open',
    );
  }

  function answer(handle: WorkflowHandle, by: string): Promise<ApprovalView> {
    return handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, {
      args: [{ stepId: 'go_live', decision: 'approved', by, via: 'api' }],
    });
  }

  async function activityTypes(handle: WorkflowHandle): Promise<string[]> {
    const history = await handle.fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
  }

  it('lets a member of a listed group approve, refuses a non-member, shows the group with its members, and replays', async () => {
    const group = uniqueName('rm');
    await putGroup(group, ['U0123ABCD', 'dana@example.com']);
    const handle = await approvalRun('group-member-approves', {
      title: 'Ship it?',
      approvers: ['alice', `group:${group}`],
      required: 2,
    });
    const view = await opened(handle);
    assert.deepEqual(view.approvers, ['alice', 'U0123ABCD', 'dana@example.com']);
    assert.deepEqual(view.groups, { [group]: ['U0123ABCD', 'dana@example.com'] });

    // A member finds it among the approvals waiting for them, like any approver.
    await eventually(
      async () => {
        const listed = await request(harness.app)
          .get('/api/approvals?for=dana%40example.com')
          .set('Authorization', harness.auth);
        assert.equal(listed.status, 200, JSON.stringify(listed.body));
        const items = listed.body.items as { workflowId: string }[];
        return items.some((item) => item.workflowId === handle.workflowId) ? true : undefined;
      },
      30_000,
      'the approval in GET /api/approvals?for=dana@example.com',
    );
    await assertRefused(answer(handle, 'mallory'), RUN_REFUSALS.notAnApprover, /mallory is not an approver/);
    await assertRefused(answer(handle, `group:${group}`), RUN_REFUSALS.notAnApprover, /is not an approver/);
    assert.equal((await answer(handle, 'dana@example.com')).status, 'pending');
    assert.equal((await answer(handle, 'U0123ABCD')).status, 'approved');

    const result = (await handle.result()) as RunResult;
    assert.deepEqual(result.vars['by'], ['dana@example.com', 'U0123ABCD']);
    assert.equal(
      (await activityTypes(handle)).filter((type) => type === 'resolveApprovers').length,
      1,
      'the groups are read once, when the approval opens',
    );
    const options = { workflowBundle: await flowBundle(), ...metricsWorkerOptions(createWorkerMetrics()) };
    await Worker.runReplayHistory(options, await handle.fetchHistory(), handle.workflowId);
  });

  it('keeps the members it opened with when the group changes or is deleted afterwards', async () => {
    const group = uniqueName('oncall');
    await putGroup(group, ['erin', 'frank']);
    const handle = await approvalRun('group-snapshot', { title: 'Deploy?', approvers: [`group:${group}`] });
    await opened(handle);

    await putGroup(group, ['grace']);
    await assertRefused(answer(handle, 'grace'), RUN_REFUSALS.notAnApprover, /grace is not an approver/);
    const deleted = await request(harness.app).delete(`/api/groups/${group}`).set('Authorization', harness.auth);
    assert.equal(deleted.status, 200);
    const decided = await answer(handle, 'frank');
    assert.equal(decided.status, 'approved');
    assert.deepEqual(decided.groups, { [group]: ['erin', 'frank'] });
    await handle.result();
  });

  it('schedules no activity for an approval that lists no group', async () => {
    const handle = await approvalRun('names-only', { title: 'Names only?', approvers: ['alice', 'U0123ABCD'] });
    const view = await opened(handle);
    assert.equal(view.groups, undefined);
    assert.equal((await answer(handle, 'alice')).status, 'approved');
    await handle.result();
    assert.deepEqual(await activityTypes(handle), [], 'nothing but the approval itself');
    const markers = ((await handle.fetchHistory()).events ?? []).filter((event) => event.markerRecordedEventAttributes);
    assert.deepEqual(markers, [], 'no patch marker either');
  });

  it('fails the step with UnknownApproverGroup for a group that does not exist when the approval opens', async () => {
    const handle = await approvalRun('unknown-group', { title: 'Ship?', approvers: ['alice', 'group:no-such-team'] });
    const failure = await runFailure(handle);
    assert.equal(failure.type, APPROVER_GROUP_FAILURES.unknown);
    assert.match(failure.message, /step "go_live".*there is no approver group no-such-team/s);
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.deepEqual(status.approvals, [], 'the approval never opened');
  });

  it('fails the step with NotEnoughApprovers when the expanded approvers are fewer than required', async () => {
    const group = uniqueName('pair');
    await putGroup(group, ['alice', 'heidi']);
    // alice is listed and in the group: she counts once, so two distinct approvers for three approvals.
    const handle = await approvalRun('too-few', {
      title: 'Ship?',
      approvers: ['alice', `group:${group}`],
      required: 3,
    });
    const failure = await runFailure(handle);
    assert.equal(failure.type, APPROVER_GROUP_FAILURES.tooFew);
    assert.match(failure.message, /needs 3 approvals but its approvers expand to 2 distinct name/);
  });

  it('refuses a malformed group reference at save with its path, and leaves required to the run when groups are listed', async () => {
    const saved = await request(harness.app)
      .put('/api/definitions/bad-group-reference')
      .set('Authorization', harness.auth)
      .send({
        id: 'bad-group-reference',
        name: 'bad',
        on: [{ source, type: 'bad_group_reference' }],
        steps: [
          { id: 'a', action: 'flow.approval', with: { title: 't', approvers: ['alice', 'group:Release_Managers'] } },
          {
            id: 'b',
            action: 'flow.approval',
            with: { title: 't', approvers: ['group:release-managers'], required: 3 },
          },
        ],
      });
    assert.equal(saved.status, 422);
    assert.deepEqual(
      saved.body.errors.map((error: { path: string }) => error.path),
      ['steps[0].with.approvers[1]'],
    );
    assert.match(saved.body.errors[0].message, /"Release_Managers" is not a group name/);
  });
});

/** The run's failure, checked to be the step's own (not wrapped in StepFailed or an activity failure). */
async function runFailure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => assert.fail('the run should fail'),
    (failed: unknown) => failed,
  );
  assert.ok(error instanceof WorkflowFailedError, String(error));
  assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
  assert.equal(error.cause.nonRetryable, true);
  return error.cause;
}
