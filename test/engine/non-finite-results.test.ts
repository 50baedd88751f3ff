import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';
import { LOCAL_ACTIVITY_MARKER } from '../support/local-activity-markers';
import { uniqueName } from '../support/stack';

describe('engine: a template whose result JSON cannot hold', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let source: string;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness();
    source = uniqueName('ci');
    const saved = await request(harness.app)
      .put('/api/definitions/report-ratio')
      .set('Authorization', harness.auth)
      .send({
        id: 'report-ratio',
        name: 'Report the pass ratio',
        on: [{ source, type: 'tests_finished' }],
        steps: [
          {
            id: 'report',
            action: 'http.request',
            with: {
              method: 'POST',
              url: `${receiver.url}/ratio`,
              json: { ratio: '${{ double(event.passed) / double(event.total) }}' },
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

  const run = (body: Record<string, unknown>): Promise<string> => harness.startRun(source, 'tests_finished', body);

  it('fails the step with an error naming the expression, instead of sending null', async () => {
    const runId = await run({ passed: 3, total: 0 });
    const handle = harness.client.workflow.getHandle(runId);
    const failure = await handle.result().then(
      () => assert.fail('the run succeeded'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    assert.ok(failure.cause instanceof ApplicationFailure, String(failure.cause));
    assert.equal(failure.cause.type, 'ExpressionError');
    assert.equal(failure.cause.nonRetryable, true);
    assert.match(
      failure.cause.message,
      /^step "report" \(steps\[0\]\): "double\(event\.passed\) \/ double\(event\.total\)" gives Infinity, which JSON cannot hold; guard/,
    );
    assert.equal(receiver.to('/ratio').length, 0);
    // The run took the new path behind a patch, so runs recorded before it replay with their old null.
    const { events } = await handle.fetchHistory();
    const EventType = temporal.api.enums.v1.EventType;
    assert.equal(patchMarkers(events).length, 1);
    // The step never ran: neither as an activity nor as a local activity.
    assert.equal(events?.filter((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length, 0);
    assert.equal(
      events?.filter((event) => event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER).length,
      0,
    );
  });

  it('sends a finite ratio as before, without a patch marker', async () => {
    const runId = await run({ passed: 3, total: 4 });
    await harness.client.workflow.getHandle(runId).result();
    assert.deepEqual(
      receiver.to('/ratio').map((received) => received.json),
      [{ ratio: 0.75 }],
    );
    const { events } = await harness.client.workflow.getHandle(runId).fetchHistory();
    assert.equal(patchMarkers(events).length, 0);
  });
});

/** The name Core gives a `patched()` call's marker (a local step's is `LOCAL_ACTIVITY_MARKER`). */
const PATCH_MARKER = 'core_patch';

function patchMarkers(
  events: readonly temporal.api.history.v1.IHistoryEvent[] | null | undefined,
): temporal.api.history.v1.IHistoryEvent[] {
  return (events ?? []).filter((event) => event.markerRecordedEventAttributes?.markerName === PATCH_MARKER);
}
