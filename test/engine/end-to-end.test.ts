import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { flowSearchAttributes } from '../../common/search-attributes';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const EventType = temporal.api.enums.v1.EventType;

const releaseDefinition = (receiver: string): string => `
# Announce a release when a ticket moves to "Start Release".
id: start-release
name: Start release
description: Reads the fix version and announces the release
on:
  - source: jira
    type: issue_transitioned
    if: event.to == "Start Release"
steps:
  - id: version
    name: Read the fix version
    action: http.request
    with:
      url: "${receiver}/api/issue/\${{ event.issue }}"
  - id: remember
    action: flow.set
    with:
      version: "\${{ steps.version.output.body.fixVersion }}"
      attempt: "\${{ steps.version.output.status }}"
  - id: announce
    if: vars.version != ""
    action: http.request
    with:
      method: POST
      url: "\${{ event.callback }}"
      json:
        text: "Release \${{ vars.version }} started by \${{ event.user }}"
        version: "\${{ vars.version }}"
        status: "\${{ vars.attempt }}"
    timeout: 30s
    retry: { maximumAttempts: 5, initialInterval: 1s }
`;

describe('engine: event to completed run, through HTTP', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness();
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.respondWith((req) =>
      req.path.startsWith('/api/issue/') ? { status: 200, body: { key: 'REL-7', fixVersion: '2.4.0' } } : undefined,
    );
  });

  it('saves a definition, accepts an event, runs every step, and sends exactly the templated requests', async () => {
    const put = await request(harness.app)
      .put('/api/definitions/start-release')
      .set('Authorization', harness.auth)
      .set('Content-Type', 'application/yaml')
      .send(releaseDefinition(receiver.url));
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.deepEqual(put.body, { id: 'start-release', revision: 1, unchanged: false });

    const posted = await request(harness.app)
      .post('/events/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .send({ issue: 'REL-7', to: 'Start Release', user: 'ana', callback: `${receiver.url}/hooks/chat` });
    assert.equal(posted.status, 202);
    assert.equal(posted.body.duplicate, false);
    assert.match(posted.body.eventId, /^jira-/);

    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
    assert.deepEqual(dispatch.skipped, []);
    assert.equal(dispatch.matched.length, 1);
    const run = dispatch.matched[0]!;
    assert.deepEqual(run, {
      definition: 'start-release',
      revision: 1,
      workflowId: `start-release-${posted.body.eventId}`,
    });

    const result = (await harness.client.workflow.getHandle(run.workflowId).result()) as RunResult;
    assert.deepEqual(
      result.steps.map((step) => [step.id, step.status]),
      [
        ['version', 'completed'],
        ['remember', 'completed'],
        ['announce', 'completed'],
      ],
    );
    assert.deepEqual(result.vars, { version: '2.4.0', attempt: 200 });

    assert.deepEqual(
      receiver.requests.map((req) => `${req.method} ${req.path}`),
      ['GET /api/issue/REL-7', 'POST /hooks/chat'],
    );
    const announce = receiver.to('/hooks/chat')[0]!;
    assert.equal(announce.headers['content-type'], 'application/json');
    assert.deepEqual(announce.json, { text: 'Release 2.4.0 started by ana', version: '2.4.0', status: 200 });

    const description = await harness.client.workflow.getHandle(run.workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(flowSearchAttributes.FlowDefinition), 'start-release');
    assert.match(
      (await description.staticSummary()) ?? '',
      /^Start release r1 · jira\/issue_transitioned · issue=REL-7/,
    );
  });

  it('explains why a definition did not fire, and starts nothing', async () => {
    const posted = await request(harness.app)
      .post('/events/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .send({ issue: 'REL-8', to: 'In Review', user: 'ana', callback: `${receiver.url}/hooks/chat` });
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
    assert.deepEqual(dispatch.matched, []);
    assert.deepEqual(dispatch.skipped, [
      { definition: 'start-release', revision: 1, reason: 'on[0].if "event.to == \\"Start Release\\"" is false' },
    ]);
    assert.deepEqual(receiver.requests, []);
    // An event that matches nothing costs Temporal one workflow task: the lookup is a local activity. The
    // deliver-to-waits patch adds its marker and the TemporalChangeVersion upsert; the mark-unmatched patch, asked
    // only when nothing ran, adds its own marker and upsert and then FlowMatchedRuns = 0.
    const handle = harness.client.workflow.getHandle(posted.body.workflowId);
    const history = await handle.fetchHistory();
    assert.deepEqual(
      (history.events ?? []).map((event) => EventType[event.eventType ?? 0]),
      [
        'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
        'EVENT_TYPE_WORKFLOW_TASK_STARTED',
        'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
        'EVENT_TYPE_MARKER_RECORDED',
        'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
        'EVENT_TYPE_MARKER_RECORDED',
        'EVENT_TYPE_MARKER_RECORDED',
        'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
        'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
        'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
      ],
    );
    assert.equal((await handle.describe()).typedSearchAttributes.get(flowSearchAttributes.FlowMatchedRuns), 0);
  });

  it('dispatches one idempotency key posted 10 times concurrently exactly once', async () => {
    // Unique per run, so a rerun against a long-lived Temporal (TEMPORAL_ADDRESS) is not a duplicate of the last one.
    const key = uniqueName('REL-9-transition');
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(harness.app)
          .post('/events/jira/issue_transitioned')
          .set('Authorization', harness.auth)
          .set('Idempotency-Key', key)
          .send({ issue: 'REL-9', to: 'Start Release', user: 'bo', callback: `${receiver.url}/hooks/chat` }),
      ),
    );
    assert.deepEqual(new Set(responses.map((res) => res.status)), new Set([202]));
    assert.equal(responses.filter((res) => res.body.duplicate === false).length, 1);
    assert.deepEqual(new Set(responses.map((res) => res.body.workflowId as string)), new Set([`event-jira-${key}`]));

    const dispatch = (await harness.client.workflow.getHandle(`event-jira-${key}`).result()) as DispatchResult;
    await harness.client.workflow.getHandle(dispatch.matched[0]!.workflowId).result();
    const runs = [];
    for await (const execution of harness.client.workflow.list({
      query: `FlowEventId = "jira-${key}" AND WorkflowType = "interpret"`,
    }))
      runs.push(execution);
    assert.equal(runs.length, 1);
    assert.equal(receiver.to('/hooks/chat').length, 1);
  });

  it('fails the run with an error naming the step when an action gets a non-retryable 4xx', async () => {
    receiver.respondWith((req) =>
      req.path.startsWith('/api/issue/') ? { status: 404, body: { error: 'no such issue' } } : undefined,
    );
    const posted = await request(harness.app)
      .post('/events/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .send({ issue: 'NOPE-1', to: 'Start Release', user: 'ana', callback: `${receiver.url}/hooks/chat` });
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId).result()) as DispatchResult;
    const failure = await harness.client.workflow
      .getHandle(dispatch.matched[0]!.workflowId)
      .result()
      .catch((error: unknown) => error);
    assert.ok(failure instanceof WorkflowFailedError);
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.type, 'StepFailed');
    assert.match(
      failure.cause.message,
      /^step "version" \(steps\[0\]\) failed in http\.request: GET http:\/\/127\.0\.0\.1:\d+\/api\/issue\/NOPE-1 answered 404/,
    );
    assert.ok(failure.cause.cause instanceof ActivityFailure);
    assert.ok(failure.cause.cause.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.cause.cause.type, 'HttpClientError');
    assert.equal(receiver.to('/api/issue/').length, 1, 'a 4xx is not retried');
    assert.equal(receiver.to('/hooks/chat').length, 0);
  });

  it('rejects events without the bearer token and starts nothing', async () => {
    const res = await request(harness.app).post('/events/jira/issue_transitioned').send({ issue: 'X-1' });
    assert.equal(res.status, 401);
    assert.match(res.headers['content-type'] ?? '', /problem\+json/);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="flow"');
    const wrong = await request(harness.app)
      .post('/events/jira/issue_transitioned')
      .set('Authorization', 'Bearer nope')
      .send({ issue: 'X-1' });
    assert.equal(wrong.status, 401);
  });

  it('retries without limit with maximumAttempts: 0, as documented', async function () {
    this.timeout(60_000);
    // Fails more often than the default five attempts allow, then succeeds.
    let calls = 0;
    receiver.respondWith(() => (++calls <= 6 ? { status: 503, body: { error: 'not yet' } } : undefined));
    const saved = await request(harness.app)
      .put('/api/definitions/patient')
      .set('Authorization', harness.auth)
      .send({
        id: 'patient',
        name: 'Patient',
        on: [{ source: 'test', type: 'patient' }],
        steps: [
          {
            id: 'call',
            action: 'http.request',
            with: { url: `${receiver.url}/flaky` },
            retry: { maximumAttempts: 0, initialInterval: '100ms', maximumInterval: '200ms' },
          },
        ],
      });
    assert.equal(saved.status, 201);
    const runId = await harness.startRun('test', 'patient', {});
    const result = await harness.client.workflow.getHandle(runId).result();
    assert.deepEqual(
      (result as { steps: { status: string }[] }).steps.map((step) => step.status),
      ['completed'],
    );
    assert.equal(receiver.to('/flaky').length, 7);
  });
});
