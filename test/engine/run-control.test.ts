import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  RUN_HANDLERS,
  RUN_REFUSALS,
  type ApprovalAnswer,
  type ApprovalView,
  type CancelRecord,
  type CancelRequest,
  type RunStatus,
} from '../../common/run-control';
import type { RunResult } from '../../common/run-types';
import { assertRefused } from '../support/failure-of';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

describe('engine: run control (on_failure, continue_on_error, cancel, approvals)', function () {
  this.timeout(120_000);
  let harness: Harness;
  let receiver: HttpReceiver;
  let source: string;
  let workdir: string;

  before(async () => {
    receiver = await HttpReceiver.start();
    receiver.respondWith((received) => (received.path.startsWith('/broken') ? { status: 400, body: {} } : undefined));
    harness = await startHarness();
    source = uniqueName('control');
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-cancel-'));
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
    fs.rmSync(workdir, { recursive: true, force: true });
  });

  async function save(definition: Record<string, unknown>): Promise<void> {
    const saved = await request(harness.app)
      .put(`/api/definitions/${String(definition['id'])}`)
      .set('Authorization', harness.auth)
      .send(definition);
    assert.ok(saved.status === 201 || saved.status === 200, JSON.stringify(saved.body));
  }

  /** A definition bound to its own event type of the test's source; returns that type. */
  async function define(
    id: string,
    steps: unknown[],
    extra: Record<string, unknown> = {},
  ): Promise<{ type: string; start: (body?: Record<string, unknown>) => Promise<WorkflowHandle> }> {
    const type = id.replaceAll('-', '_');
    await save({ id, name: id, on: [{ source, type }], steps, ...extra });
    return {
      type,
      start: async (body = {}) =>
        harness.client.workflow.getHandle(await harness.startRun(source, type, { n: uniqueName('n'), ...body })),
    };
  }

  const cleanupStep = {
    id: 'report',
    action: 'http.request',
    with: {
      method: 'POST',
      url: '', // set per test
      json: { failure: '${{ failure }}', vars: '${{ vars }}' },
    },
  };

  function reports(prefix: string): Record<string, unknown>[] {
    return receiver.to(prefix).map((received) => received.json as Record<string, unknown>);
  }

  it('runs on_failure with the failure when a step fails, and the run still fails with the original failure', async () => {
    const { start } = await define(
      'fails-then-cleans',
      [
        { id: 'mark', action: 'flow.set', with: { branch: 'release/9' } },
        { id: 'call', action: 'http.request', with: { method: 'POST', url: `${receiver.url}/broken` } },
        { id: 'never', action: 'flow.set', with: { reached: true } },
      ],
      { on_failure: [{ ...cleanupStep, with: { ...cleanupStep.with, url: `${receiver.url}/cleanup-1` } }] },
    );
    const handle = await start();
    const error = await handle.result().then(
      () => assert.fail('the run should fail'),
      (failed: unknown) => failed,
    );
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'StepFailed', 'the run ends with the step failure, not the cleanup');
    const sent = reports('/cleanup-1');
    assert.equal(sent.length, 1, 'on_failure ran once');
    const failure = sent[0]!['failure'] as Record<string, unknown>;
    assert.equal(failure['step'], 'call');
    assert.equal(failure['action'], 'http.request');
    assert.equal(failure['cancelled'], false);
    assert.match(String(failure['message']), /step "call"/);
    assert.deepEqual(sent[0]!['vars'], { branch: 'release/9' }, 'cleanup sees what the run did');

    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.equal(status.phase, 'failed');
    assert.deepEqual(
      status.steps.map((step) => `${step.id}:${step.status}`),
      ['mark:completed', 'call:failed', 'never:pending'],
    );
    assert.deepEqual(
      status.onFailure?.map((step) => `${step.id}:${step.status}`),
      ['report:completed'],
    );
    assert.equal(status.failure?.step, 'call');
  });

  it('records a failing step with continue_on_error and goes on; later steps read its error', async () => {
    const { start } = await define('tolerates-a-failure', [
      {
        id: 'optional',
        action: 'http.request',
        continue_on_error: true,
        retry: { maximumAttempts: 1 },
        with: { method: 'POST', url: `${receiver.url}/broken` },
      },
      { id: 'after', action: 'flow.set', with: { seen: '${{ steps.optional.error.type }}' } },
    ]);
    const handle = await start();
    const result = (await handle.result()) as RunResult;
    assert.deepEqual(
      result.steps.map((step) => `${step.id}:${step.status}`),
      ['optional:failed', 'after:completed'],
    );
    assert.equal(result.steps[0]!.error?.type, result.vars['seen']);
    assert.ok(result.steps[0]!.error?.message.includes('step "optional"'));
  });

  it('cancels a run during a long step: the step stops, on_failure runs once with who cancelled, the run ends cancelled', async () => {
    const ticks = path.join(workdir, 'ticks');
    const { start } = await define(
      'cancel-me',
      [
        { id: 'mark', action: 'flow.set', with: { stage: 'building' } },
        {
          id: 'build',
          action: 'build.run',
          heartbeat: '2s',
          with: {
            command: ['sh', '-c', `while true; do echo tick; echo tick >> ${ticks}; sleep 0.2; done`],
            cwd: workdir,
          },
        },
      ],
      { on_failure: [{ ...cleanupStep, with: { ...cleanupStep.with, url: `${receiver.url}/cleanup-cancel` } }] },
    );
    const handle = await start();
    await eventually(() => (fs.existsSync(ticks) ? true : undefined), 20_000, 'the build to start');

    const record = await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, {
      args: [{ by: 'alice', reason: 'wrong branch' }],
    });
    assert.equal(record.by, 'alice');
    await handle.cancel();
    const error = await handle.result().then(
      () => assert.fail('the run should end cancelled'),
      (failed: unknown) => failed,
    );
    assert.ok(error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure, String(error));
    const description = await handle.describe();
    assert.equal(description.status.name, 'CANCELLED');

    const sent = reports('/cleanup-cancel');
    assert.equal(sent.length, 1, 'on_failure ran exactly once');
    const failure = sent[0]!['failure'] as Record<string, unknown>;
    assert.equal(failure['cancelled'], true);
    assert.equal(failure['by'], 'alice');
    assert.equal(failure['message'], 'wrong branch');
    assert.equal(failure['step'], 'build');

    // The build sees the cancellation at its next heartbeat and kills its processes: the tick file stops growing.
    let size = -1;
    await eventually(
      async () => {
        const now = fs.statSync(ticks).size;
        const still = now === size;
        size = now;
        return still ? true : undefined;
      },
      15_000,
      'the cancelled build to stop',
    );

    await assert.rejects(
      handle.executeUpdate(RUN_HANDLERS.cancel, { args: [{ by: 'bob' }] }),
      (refused: unknown) => refused instanceof WorkflowUpdateFailedError || refused instanceof Error,
    );
  });

  it('refuses a second cancel by someone else with RunNotCancellable, and repeats the record for the same actor', async () => {
    const { start } = await define('sleepy', [{ id: 'nap', action: 'flow.sleep', with: { duration: '1h' } }]);
    const handle = await start();
    const first = await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, {
      args: [{ by: 'alice' }],
    });
    const again = await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, {
      args: [{ by: 'alice' }],
    });
    assert.deepEqual(again, first);
    await assertRefused(
      handle.executeUpdate(RUN_HANDLERS.cancel, { args: [{ by: 'bob' }] }),
      RUN_REFUSALS.notCancellable,
      /alice already cancelled/,
    );
    await handle.cancel();
    await assert.rejects(handle.result());
    const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
    assert.equal(status.phase, 'cancelled');
    assert.equal(status.cancel?.by, 'alice');
    assert.equal(status.onFailure, undefined, 'no on_failure steps, none shown');
  });

  describe('approvals', () => {
    async function approvalRun(
      id: string,
      approval: Record<string, unknown>,
      more: unknown[] = [],
    ): Promise<{
      handle: WorkflowHandle;
      answer: (answer: Omit<ApprovalAnswer, 'stepId' | 'via'>) => Promise<ApprovalView>;
    }> {
      const { start } = await define(id, [
        { id: 'go_live', action: 'flow.approval', with: approval },
        { id: 'after', action: 'flow.set', with: { decision: '${{ steps.go_live.output.decision }}' } },
        ...more,
      ]);
      const handle = await start();
      await eventually(
        async () => ((await handle.query<RunStatus>(RUN_HANDLERS.status)).approvals.length > 0 ? true : undefined),
        20_000,
        'the approval to open',
      );
      return {
        handle,
        answer: (answer) =>
          handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, {
            args: [{ stepId: 'go_live', via: 'api', ...answer }],
          }),
      };
    }

    it('needs 2 of 3, refuses self-approval, strangers and repeated answers, and then anything after the decision', async () => {
      const { handle, answer } = await approvalRun(
        'two-of-three',
        {
          title: 'Ship it?',
          // `api-token` is the name of the token the harness posts events with: the run's actor.
          approvers: ['alice', 'bob', 'carol', 'api-token'],
          required: 2,
        },
        // A second approval keeps the run going, so an answer to the first after its decision reaches the run.
        [{ id: 'announce', action: 'flow.approval', with: { title: 'Announce?', approvers: ['carol'] } }],
      );
      const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
      assert.equal(status.approvals[0]!.status, 'pending', JSON.stringify(status));

      await assertRefused(
        answer({ decision: 'approved', by: 'api-token' }),
        RUN_REFUSALS.selfApproval,
        /started this run/,
      );
      await assertRefused(answer({ decision: 'approved', by: 'mallory' }), RUN_REFUSALS.notAnApprover, /mallory/);
      const afterOne = await answer({ decision: 'approved', by: 'alice', comment: 'looks good' });
      assert.equal(afterOne.status, 'pending');
      await assertRefused(answer({ decision: 'approved', by: 'alice' }), RUN_REFUSALS.alreadyAnswered, /alice/);
      const decided = await answer({ decision: 'approved', by: 'bob' });
      assert.equal(decided.status, 'approved');
      await assertRefused(answer({ decision: 'rejected', by: 'carol' }), RUN_REFUSALS.approvalClosed, /approved/);
      await eventually(
        async () => ((await handle.query<RunStatus>(RUN_HANDLERS.status)).approvals.length === 2 ? true : undefined),
        20_000,
        'the second approval to open',
      );
      await handle.executeUpdate(RUN_HANDLERS.answerApproval, {
        args: [{ stepId: 'announce', decision: 'approved', by: 'carol', via: 'api' }],
      });

      const result = (await handle.result()) as RunResult;
      assert.equal(result.vars['decision'], 'approved');
      const history = await handle.fetchHistory();
      const accepted = (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes);
      assert.equal(accepted.length, 3, 'refused answers leave nothing in the history');
    });

    it('fails the run with ApprovalRejected on a rejection, naming who and why', async () => {
      const { handle, answer } = await approvalRun('rejected-release', {
        title: 'Ship it?',
        approvers: ['alice', 'bob'],
      });
      await answer({ decision: 'rejected', by: 'bob', comment: 'not on a Friday' });
      const error = await handle.result().then(
        () => assert.fail('a rejection fails the run'),
        (failed: unknown) => failed,
      );
      assert.ok(error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure);
      assert.equal(error.cause.type, 'ApprovalRejected');
      assert.match(error.cause.message, /rejected by bob: not on a Friday/);
    });

    for (const [onTimeout, expected] of [
      ['approve', 'continues approved'],
      ['reject', 'fails rejected'],
      ['fail', 'fails timed out'],
    ] as const) {
      it(`times out as its own decision; on_timeout: ${onTimeout} ${expected}`, async () => {
        const { handle } = await approvalRun(`times-out-${onTimeout}`, {
          title: 'Anyone?',
          approvers: ['alice'],
          timeout: '2s',
          on_timeout: onTimeout,
        });
        const outcome = await handle.result().then(
          (result) => result as RunResult,
          (failed: unknown) => failed,
        );
        const status = await handle.query<RunStatus>(RUN_HANDLERS.status);
        assert.equal(status.approvals[0]!.status, 'timed_out');
        if (onTimeout === 'approve') {
          assert.equal((outcome as RunResult).vars['decision'], 'timed_out', 'a timeout is never an answer');
        } else {
          assert.ok(outcome instanceof WorkflowFailedError && outcome.cause instanceof ApplicationFailure);
          assert.equal(outcome.cause.type, onTimeout === 'fail' ? 'ApprovalTimedOut' : 'ApprovalRejected');
        }
      });
    }

    it('with on_reject: continue, a rejection is the step output and the run goes on', async () => {
      const { handle, answer } = await approvalRun('reject-continues', {
        title: 'Deploy the schema change?',
        approvers: ['alice'],
        on_reject: 'continue',
      });
      await answer({ decision: 'rejected', by: 'alice' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.vars['decision'], 'rejected');
    });
  });

  it('refuses bad approval and on_failure definitions at save with paths', async () => {
    const response = await request(harness.app)
      .put('/api/definitions/bad-control')
      .set('Authorization', harness.auth)
      .send({
        id: 'bad-control',
        name: 'bad',
        on: [{ source, type: 'bad' }],
        steps: [
          { id: 'a', action: 'flow.approval', with: { title: 't', approvers: [] } },
          { id: 'b', action: 'flow.approval', with: { title: 't', approvers: ['x'], required: 2 } },
          { id: 'c', action: 'flow.approval', with: { title: 't', approvers: ['x'], on_timeout: 'shrug' } },
          { id: 'd', action: 'flow.approval', with: { title: 't', approvers: ['x'], timeout: '91d' } },
          { id: 'e', action: 'flow.set', with: { f: '${{ failure.message }}' } },
        ],
        on_failure: [{ id: 'f', action: 'flow.approval', with: { title: 't', approvers: ['x'] } }],
      });
    assert.equal(response.status, 422, JSON.stringify(response.body));
    const paths = (response.body as { errors: { path: string }[] }).errors.map((error) => error.path);
    for (const expected of [
      'steps[0].with.approvers',
      'steps[1].with.required',
      'steps[2].with.on_timeout',
      'steps[3].with.timeout',
      'steps[4].with.f',
      'on_failure[0].action',
    ])
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
  });
});
