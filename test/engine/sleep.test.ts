import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { RunResult } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const EventType = temporal.api.enums.v1.EventType;

describe('engine: flow.sleep waits with a durable timer', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let source: string;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness();
    source = uniqueName('soak');
    const saved = await request(harness.app)
      .put('/api/definitions/soak-then-promote')
      .set('Authorization', harness.auth)
      .send({
        id: 'soak-then-promote',
        name: 'Soak, then promote',
        on: [{ source, type: 'deployed' }],
        steps: [
          { id: 'soak', action: 'flow.sleep', with: { duration: '${{ event.soak }}' } },
          {
            id: 'promote',
            action: 'http.request',
            // An activity task (its action defaults to local), so the history shows when it was scheduled.
            execution: 'remote',
            with: {
              method: 'POST',
              url: `${receiver.url}/promote`,
              json: { after: '${{ steps.soak.output.duration }}' },
            },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  async function post(body: Record<string, unknown>): Promise<{ runId: string; result: Promise<RunResult> }> {
    const runId = await harness.startRun(source, 'deployed', body);
    return { runId, result: harness.client.workflow.getHandle(runId).result() as Promise<RunResult> };
  }

  it('sleeps with one timer of the rendered duration, then runs the next step with its output', async () => {
    const { runId, result } = await post({ soak: '1s' });
    const run = await result;
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      ['soak:completed', 'promote:completed'],
    );
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(receiver.requests[0]!.json, { after: '1s' });

    const events = (await harness.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const types = events.map((event) => event.eventType);
    const timers = events.filter((event) => event.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
    assert.equal(timers.length, 1);
    assert.equal(Number(timers[0]!.timerStartedEventAttributes!.startToFireTimeout!.seconds), 1);
    assert.ok(
      types.indexOf(EventType.EVENT_TYPE_TIMER_FIRED) < types.indexOf(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
      'the promote step is scheduled only after the timer fired',
    );
    assert.equal(
      events.filter((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length,
      1,
      'sleeping costs no activity',
    );
  });

  it('shows the sleep in the run details while it waits', async () => {
    const { runId, result } = await post({ soak: '1h' });
    // The run is terminated below; its result is not what this test reads.
    result.catch(() => undefined);
    const handle = harness.client.workflow.getHandle(runId);
    let details: string | undefined;
    for (let i = 0; i < 50 && !details?.includes('sleeping'); i++) {
      const metadata = await handle
        .query<{ currentDetails: string }>('__temporal_workflow_metadata')
        .catch(() => undefined);
      details = metadata?.currentDetails;
      if (!details?.includes('sleeping')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(details, 'Step 1/2: soak (sleeping 1h)');
    await handle.terminate('test done');
  });

  it('fails the run without retrying when the rendered duration is not one, or is longer than 90 days', async () => {
    for (const [soak, message] of [
      ['soon', /flow\.sleep input is invalid: with\.duration must match .* \(got "soon"\)/],
      ['100d', /flow\.sleep waits at most 90d; "100d" is longer/],
    ] as const) {
      const { runId, result } = await post({ soak });
      const error = await result.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkflowFailedError);
      assert.ok(error.cause instanceof ApplicationFailure);
      assert.equal(error.cause.type, 'InvalidActionInput');
      assert.match(error.cause.message, /step "soak"/);
      assert.match(error.cause.message, message);
      const events = (await harness.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
      assert.ok(!events.some((event) => event.eventType === EventType.EVENT_TYPE_TIMER_STARTED));
    }
  });

  it('refuses at save time a static duration that is not one, or is longer than 90 days', async () => {
    for (const [duration, message] of [
      ['5 minutes', 'must be a whole number and a unit: s, m, h or d (such as 30m)'],
      ['100d', 'must be at most 90d'],
    ] as const) {
      const saved = await request(harness.app)
        .put('/api/definitions/bad-soak')
        .set('Authorization', harness.auth)
        .send({
          id: 'bad-soak',
          name: 'Bad soak',
          on: [{ source, type: 'other' }],
          steps: [{ id: 'soak', action: 'flow.sleep', with: { duration } }],
        });
      assert.equal(saved.status, 422);
      assert.deepEqual(saved.body.errors, [{ path: 'steps[0].with.duration', message }]);
    }
  });
});
