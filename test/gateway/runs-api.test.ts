import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import request from 'supertest';
import { RUN_HANDLERS, type CancelRecord, type CancelRequest } from '../../common/run-control';
import { WORKFLOW_TYPES } from '../../common/run-types';
import { flowSearchAttributes } from '../../common/search-attributes';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const READ_TOKEN = 'runs-api-read-token-0123';
/** Write tokens of two approvers and of someone who is not one. */
const ALICE = 'runs-api-alice-token-0123';
const CAROL = 'runs-api-carol-token-0123';
const BOB = 'runs-api-bob-token-012345';

/**
 * The runs API on the real stack: runs started by events, listed from Temporal's visibility, read with the
 * `runStatus` query and cancelled through the interpreter's update, with a read token and the write token.
 */
describe('gateway: the runs API lists, shows and cancels runs', function () {
  this.timeout(120_000);
  let harness: Harness;
  let source: string;
  before(async () => {
    harness = await startHarness({
      gateway: {
        extraTokens: [
          { token: READ_TOKEN, scope: 'read', name: 'dashboard' },
          { token: ALICE, scope: 'write', name: 'alice' },
          { token: CAROL, scope: 'write', name: 'carol' },
          { token: BOB, scope: 'write', name: 'bob' },
        ],
      },
    });
    source = uniqueName('runs');
    for (const definition of [
      {
        id: 'quick',
        name: 'Quick',
        on: [{ source, type: 'quick' }],
        steps: [{ id: 'note', action: 'flow.set', with: { n: '${{ event.n }}' } }],
      },
      {
        id: 'sleeper',
        name: 'Sleeper',
        on: [{ source, type: 'sleep' }],
        steps: [
          { id: 'soak', action: 'flow.sleep', with: { duration: '${{ event.soak }}' } },
          { id: 'after', action: 'flow.set', with: { done: true } },
        ],
      },
      {
        id: 'gate',
        name: 'Gate',
        on: [{ source, type: 'gate' }],
        steps: [
          {
            id: 'go_live',
            action: 'flow.approval',
            with: {
              title: 'Ship ${{ event.version }}?',
              approvers: ['alice', 'carol', 'api-token'],
              required: '${{ event.required }}',
            },
          },
          { id: 'soak', action: 'flow.sleep', with: { duration: '1h' } },
        ],
      },
    ]) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${definition.id}`)
        .set('Authorization', harness.auth)
        .send(definition);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });
  after(() => harness.stop());

  const get = (path: string, auth = harness.auth) => request(harness.app).get(path).set('Authorization', auth);
  const post = (path: string, body?: unknown, auth = harness.auth) => {
    const pending = request(harness.app).post(path).set('Authorization', auth);
    return body === undefined ? pending : pending.send(body as object);
  };
  const uiLink = (workflowId: string, runId: string) =>
    `http://localhost:8233/namespaces/${harness.client.options.namespace}/workflows/${workflowId}/${runId}/history`;

  /** Starts a run of `type` and returns its workflow id and the id of the event that started it. */
  async function startRun(
    definition: string,
    type: string,
    body: Record<string, unknown>,
  ): Promise<{ workflowId: string; eventId: string }> {
    const workflowId = await harness.startRun(source, type, body);
    assert.ok(workflowId.startsWith(`${definition}-`), workflowId);
    return { workflowId, eventId: workflowId.slice(definition.length + 1) };
  }

  /** The fields the API shows for a completed run of revision 1, as Temporal describes the run. */
  async function completedRunFields(
    definition: string,
    run: { workflowId: string; eventId: string },
  ): Promise<Record<string, unknown>> {
    const description = await harness.client.workflow.getHandle(run.workflowId).describe();
    return {
      workflowId: run.workflowId,
      runId: description.runId,
      definition,
      revision: 1,
      eventId: run.eventId,
      status: 'completed',
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime!.toISOString(),
      ui: uiLink(run.workflowId, description.runId),
    };
  }

  /** Waits until the run shows its first step running (a sleep), read through the API. */
  async function untilSleeping(workflowId: string): Promise<void> {
    await eventually(
      async () => {
        const shown = await get(`/api/runs/${workflowId}`);
        return shown.body.steps?.[0]?.status === 'running' ? true : undefined;
      },
      20_000,
      `${workflowId} sleeping`,
    );
  }

  describe('GET /api/runs', () => {
    const quick: { workflowId: string; eventId: string }[] = [];
    before(async () => {
      for (const n of [1, 2, 3]) {
        const run = await startRun('quick', 'quick', { n });
        await harness.client.workflow.getHandle(run.workflowId).result();
        quick.push(run);
      }
    });

    /** Lists until visibility shows `count` items (it shows a closed run a moment after it closed). */
    async function listed(query: string, count: number): Promise<request.Response> {
      return eventually(
        async () => {
          const res = await get(`/api/runs${query}`);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const closed = (res.body.items as { closeTime: string | null }[]).filter((item) => item.closeTime !== null);
          return closed.length === count && res.body.items.length === count ? res : undefined;
        },
        20_000,
        `${count} runs listed for ${query}`,
      );
    }

    it("lists a definition's runs with their search attributes, status, times and Temporal UI link, newest first", async () => {
      const res = await listed('?definition=quick', 3);
      const items = res.body.items as Record<string, unknown>[];
      assert.equal(res.body.next, undefined, 'one page holds all three');
      assert.deepEqual(
        items.map((item) => item['workflowId']),
        quick.map((run) => run.workflowId).reverse(),
        'the run closed last comes first',
      );
      for (const run of quick) {
        assert.deepEqual(
          items.find((item) => item['workflowId'] === run.workflowId),
          await completedRunFields('quick', run),
        );
      }
    });

    it('filters by event and by status', async () => {
      const byEvent = await listed(`?event=${quick[1]!.eventId}`, 1);
      assert.equal(byEvent.body.items[0].workflowId, quick[1]!.workflowId);
      await listed('?definition=quick&status=completed', 3);
      const running = await get('/api/runs?definition=quick&status=running');
      assert.equal(running.status, 200);
      assert.deepEqual(running.body, { items: [] });
    });

    it('pages with limit and an opaque next token, which is absent on the last page and bound to the filters', async () => {
      await listed('?definition=quick', 3);
      const first = await get('/api/runs?definition=quick&limit=2');
      assert.equal(first.status, 200);
      assert.equal(first.body.items.length, 2);
      assert.match(first.body.next, /^[A-Za-z0-9_-]+$/);
      const second = await get(`/api/runs?definition=quick&limit=2&next=${first.body.next}`);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.body.items.length, 1);
      assert.equal(second.body.next, undefined);
      assert.deepEqual(
        [...first.body.items, ...second.body.items].map((item: { workflowId: string }) => item.workflowId).sort(),
        quick.map((run) => run.workflowId).sort(),
      );
      // A page exactly filled by the last runs has no next either.
      const full = await get('/api/runs?definition=quick&limit=3');
      assert.equal(full.body.items.length, 3);
      assert.equal(full.body.next, undefined);
      // The token belongs to its listing: other filters refuse it.
      const otherFilters = await get(`/api/runs?definition=quick&status=completed&limit=2&next=${first.body.next}`);
      assert.equal(otherFilters.status, 400);
      assert.equal(otherFilters.body.errors[0].path, 'next');
    });

    it("lists only this deployment's runs: an interpreter run on another task queue is neither listed nor shown", async () => {
      const foreign = await harness.client.workflow.start(WORKFLOW_TYPES.interpret, {
        taskQueue: uniqueName('other-flow'),
        workflowId: uniqueName('quick-foreign'),
        args: [{}],
        typedSearchAttributes: [{ key: flowSearchAttributes.FlowDefinition, value: 'quick' }],
      });
      try {
        // Once visibility shows it to Temporal's own listing, the API's listing must still leave it out.
        await eventually(async () => {
          for await (const execution of harness.client.workflow.list({
            query: `WorkflowId = '${foreign.workflowId}'`,
          })) {
            return execution;
          }
          return undefined;
        });
        const res = await listed('?definition=quick', 3);
        assert.ok(!res.body.items.some((item: { workflowId: string }) => item.workflowId === foreign.workflowId));
        const shown = await get(`/api/runs/${foreign.workflowId}`);
        assert.equal(shown.status, 404);
      } finally {
        await foreign.terminate('test done');
      }
    });

    it('refuses every parameter it cannot check with 400 problem+json naming it, injection attempts included', async () => {
      const cases: [string, string][] = [
        [`status=${encodeURIComponent("Running' OR 1=1")}`, 'status'],
        ['status=Running', 'status'],
        ['status=running&status=failed', 'status'],
        [`definition=${encodeURIComponent("quick' OR WorkflowType = 'dispatchEvent")}`, 'definition'],
        [`definition=${encodeURIComponent("a'b")}`, 'definition'],
        [`definition=${encodeURIComponent('a"b')}`, 'definition'],
        [`event=${encodeURIComponent("x-1' OR '1'='1")}`, 'event'],
        [`event=${encodeURIComponent('has spaces')}`, 'event'],
        ['limit=0', 'limit'],
        ['limit=101', 'limit'],
        ['limit=2.5', 'limit'],
        ['limit=ten', 'limit'],
        ['next=not+a+token!', 'next'],
        [`next=${Buffer.from('{"CloseTime":"2030-01-01T00:00:00Z"}').toString('base64url')}`, 'next'],
        ['defintion=quick', 'defintion'],
      ];
      for (const [query, parameter] of cases) {
        const res = await get(`/api/runs?${query}`);
        assert.equal(res.status, 400, `${query}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
        assert.equal(res.body.errors[0].path, parameter, query);
        assert.ok(res.body.detail.length > 0);
      }
    });

    it('lets a read token list', async () => {
      const res = await get('/api/runs?definition=quick&limit=1', `Bearer ${READ_TOKEN}`);
      assert.equal(res.status, 200);
    });
  });

  describe('GET /api/runs/:workflowId', () => {
    it('shows a finished run: what Temporal describes, and each step with its status, duration and output size', async () => {
      const run = await startRun('quick', 'quick', { n: 7 });
      await harness.client.workflow.getHandle(run.workflowId).result();
      const res = await get(`/api/runs/${run.workflowId}`, `Bearer ${READ_TOKEN}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const { steps, summary, ...rest } = res.body;
      assert.deepEqual(rest, {
        ...(await completedRunFields('quick', run)),
        phase: 'completed',
        details: 'Completed all 1 steps',
        approvals: [],
        // The harness posts events with FLOW_API_TOKEN, whose name is the run's actor.
        actor: 'api-token',
      });
      assert.match(summary, /^Quick r1 · /);
      assert.equal(steps.length, 1);
      assert.equal(steps[0].id, 'note');
      assert.equal(steps[0].action, 'flow.set');
      assert.equal(steps[0].status, 'completed');
      assert.equal(steps[0].outputBytes, JSON.stringify({ n: 7 }).length);
      assert.equal(typeof steps[0].durationMs, 'number');
      assert.match(steps[0].startedAt, /^\d{4}-\d\d-\d\dT/);
    });

    it('shows what a running run waits for', async () => {
      const run = await startRun('sleeper', 'sleep', { soak: '1h' });
      try {
        await untilSleeping(run.workflowId);
        const res = await get(`/api/runs/${run.workflowId}`);
        assert.equal(res.body.status, 'running');
        assert.equal(res.body.closeTime, null);
        assert.equal(res.body.phase, 'running');
        assert.deepEqual(
          res.body.steps.map((step: { id: string; status: string }) => `${step.id}:${step.status}`),
          ['soak:running', 'after:pending'],
        );
        assert.equal(res.body.details, 'Step 1/2: soak (sleeping 1h)');
      } finally {
        await harness.client.workflow.getHandle(run.workflowId).terminate('test done');
      }
    });

    it('answers 404 for an unknown run or a workflow that is not a run, and 400 for an id that cannot be one', async () => {
      const unknown = await get(`/api/runs/${uniqueName('quick-nothing')}`);
      assert.equal(unknown.status, 404);
      assert.match(unknown.headers['content-type'] ?? '', /^application\/problem\+json/);
      const run = await startRun('quick', 'quick', { n: 0 });
      const dispatcher = await get(`/api/runs/event-${run.eventId}`);
      assert.equal(dispatcher.status, 404, 'an event dispatcher is not a run');
      for (const bad of [encodeURIComponent('has space'), encodeURIComponent("x'y"), 'a'.repeat(301)]) {
        const res = await get(`/api/runs/${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(res.body.errors[0].path, 'workflowId');
      }
    });

    it('shows the described run with status_unavailable when no worker answers its query', async function () {
      this.timeout(60_000);
      const idle = await startHarness({ worker: false });
      const workflowId = uniqueName('quick-unanswered');
      try {
        await idle.client.workflow.start(WORKFLOW_TYPES.interpret, {
          taskQueue: idle.taskQueue,
          workflowId,
          args: [{}],
          typedSearchAttributes: [{ key: flowSearchAttributes.FlowDefinition, value: 'quick' }],
        });
        const started = Date.now();
        const res = await request(idle.app).get(`/api/runs/${workflowId}`).set('Authorization', idle.auth);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(Date.now() - started < 15_000, 'the query waits 5 s, not forever');
        assert.equal(res.body.status, 'running');
        assert.equal(res.body.definition, 'quick');
        assert.equal(res.body.steps, undefined);
        assert.match(res.body.status_unavailable, /did not answer its runStatus query within 5s/);
        assert.match(res.body.status_unavailable, new RegExp(idle.taskQueue));
      } finally {
        await idle.client.workflow.getHandle(workflowId).terminate('test done');
        await idle.stop();
      }
    });
  });

  describe('POST /api/runs/:workflowId/cancel', () => {
    it('cancels a sleeping run (202 with who and why); the run ends cancelled and a second cancel is a 409', async () => {
      const run = await startRun('sleeper', 'sleep', { soak: '1h' });
      const handle = harness.client.workflow.getHandle(run.workflowId);
      await untilSleeping(run.workflowId);

      const byReader = await post(`/api/runs/${run.workflowId}/cancel`, {}, `Bearer ${READ_TOKEN}`);
      assert.equal(byReader.status, 403);
      assert.match(byReader.body.detail, /needs a token with the write scope/);
      assert.equal((await handle.describe()).status.name, 'RUNNING');

      const cancelled = await post(`/api/runs/${run.workflowId}/cancel`, { reason: 'wrong build' });
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
      assert.deepEqual(Object.keys(cancelled.body).sort(), ['at', 'by', 'reason']);
      assert.equal(cancelled.body.by, 'api-token');
      assert.equal(cancelled.body.reason, 'wrong build');
      assert.ok(Math.abs(Date.parse(cancelled.body.at) - Date.now()) < 60_000);

      const error = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkflowFailedError, String(error));
      assert.ok(error.cause instanceof CancelledFailure, String(error.cause));
      assert.equal((await handle.describe()).status.name, 'CANCELLED');

      const shown = await get(`/api/runs/${run.workflowId}`);
      assert.equal(shown.body.status, 'cancelled');
      assert.deepEqual(shown.body.cancel, cancelled.body);

      const again = await post(`/api/runs/${run.workflowId}/cancel`, { reason: 'again' });
      assert.equal(again.status, 409);
      assert.match(again.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(again.body.detail, /already ended \(cancelled\)/);
    });

    it('cancels without a body, recording the token name alone', async () => {
      const run = await startRun('sleeper', 'sleep', { soak: '1h' });
      await untilSleeping(run.workflowId);
      const cancelled = await request(harness.app)
        .post(`/api/runs/${run.workflowId}/cancel`)
        .set('Authorization', harness.auth);
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
      assert.deepEqual(Object.keys(cancelled.body).sort(), ['at', 'by']);
      assert.equal(cancelled.body.by, 'api-token');
      await assert.rejects(harness.client.workflow.getHandle(run.workflowId).result(), WorkflowFailedError);
    });

    it('completes a cancel the run recorded but Temporal never received, whoever asks again', async () => {
      for (const [recordedBy, asker, status] of [
        ['api-token', harness.token, 202],
        ['someone-else', ALICE, 409],
      ] as const) {
        const run = await startRun('sleeper', 'sleep', { soak: '1h' });
        const handle = harness.client.workflow.getHandle(run.workflowId);
        await untilSleeping(run.workflowId);
        // The first half of a cancel, as a gateway that failed before Temporal's cancellation leaves it.
        const record = await handle.executeUpdate<CancelRecord, [CancelRequest]>(RUN_HANDLERS.cancel, {
          args: [{ by: recordedBy, reason: 'half done' }],
        });
        assert.equal((await get(`/api/runs/${run.workflowId}`)).body.steps[0].status, 'running');

        const again = await post(`/api/runs/${run.workflowId}/cancel`, {}, `Bearer ${asker}`);
        assert.equal(again.status, status, JSON.stringify(again.body));
        if (status === 202) assert.deepEqual(again.body, record);
        else assert.match(again.body.detail, new RegExp(`${recordedBy} already cancelled this run`));
        await eventually(
          async () => ((await handle.describe()).status.name === 'RUNNING' ? undefined : true),
          20_000,
          `${run.workflowId} to end after the cancel completed`,
        );
        const error = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure, String(error));
        assert.deepEqual((await get(`/api/runs/${run.workflowId}`)).body.cancel, record);
      }
    });

    it('refuses a bad body (422/415/400), an unknown run (404) and a finished one (409)', async () => {
      const run = await startRun('quick', 'quick', { n: 1 });
      await harness.client.workflow.getHandle(run.workflowId).result();
      const path = `/api/runs/${run.workflowId}/cancel`;
      for (const [body, field] of [
        [{ reason: 5 }, 'reason'],
        [{ reason: 'x'.repeat(501) }, 'reason'],
        [{ because: 'typo' }, 'because'],
      ] as const) {
        const res = await post(path, body);
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(res.body.errors[0].path, field);
      }
      const text = await post(path).set('Content-Type', 'text/plain').send('stop it');
      assert.equal(text.status, 415);
      const broken = await post(path).set('Content-Type', 'application/json').send('{"reason":');
      assert.equal(broken.status, 400);
      const array = await post(path, ['stop']);
      assert.equal(array.status, 400);

      assert.equal((await post(`/api/runs/${uniqueName('sleeper-nothing')}/cancel`, {})).status, 404);
      const finished = await post(path, {});
      assert.equal(finished.status, 409);
      assert.match(finished.body.detail, /already ended \(completed\)/);
    });
  });
  describe('POST /api/runs/:workflowId/approvals/:stepId', () => {
    /** Starts a gate run and waits until its approval is pending, read through the API. */
    async function pendingGate(required: number): Promise<string> {
      const { workflowId } = await startRun('gate', 'gate', { version: '4.2.0', required });
      await eventually(
        async () => {
          const shown = await get(`/api/runs/${workflowId}`);
          return shown.body.approvals?.[0]?.status === 'pending' ? true : undefined;
        },
        20_000,
        `${workflowId} waiting for its approval`,
      );
      return workflowId;
    }
    const answer = (workflowId: string, token: string, body: unknown, step = 'go_live') =>
      post(`/api/runs/${workflowId}/approvals/${step}`, body, `Bearer ${token}`);

    it('records approvals until enough approvers approved, refusing whoever may not answer with the refusal status', async () => {
      const workflowId = await pendingGate(2);
      try {
        for (const [token, body, status, refusal] of [
          [BOB, { decision: 'approved' }, 403, 'NotAnApprover'],
          [harness.token, { decision: 'approved' }, 403, 'SelfApproval'],
        ] as const) {
          const res = await answer(workflowId, token, body);
          assert.equal(res.status, status, JSON.stringify(res.body));
          assert.equal(res.body.refusal, refusal);
          assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
        }
        const unknownStep = await answer(workflowId, ALICE, { decision: 'approved' }, 'not_a_step');
        assert.equal(unknownStep.status, 404);
        assert.equal(unknownStep.body.refusal, 'UnknownApprovalStep');
        const byReader = await answer(workflowId, READ_TOKEN, { decision: 'approved' });
        assert.equal(byReader.status, 403);
        assert.match(byReader.body.detail, /needs a token with the write scope/);

        const first = await answer(workflowId, ALICE, { decision: 'approved', comment: 'smoke tests green' });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.stepId, 'go_live');
        assert.equal(first.body.title, 'Ship 4.2.0?');
        assert.equal(first.body.status, 'pending');
        assert.equal(first.body.required, 2);
        assert.deepEqual(
          first.body.answers.map(({ at: _at, ...rest }: { at: string }) => rest),
          [{ decision: 'approved', by: 'alice', comment: 'smoke tests green', via: 'api' }],
        );
        const twice = await answer(workflowId, ALICE, { decision: 'approved' });
        assert.equal(twice.status, 409);
        assert.equal(twice.body.refusal, 'AlreadyAnswered');

        const second = await answer(workflowId, CAROL, { decision: 'approved' });
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.body.status, 'approved');
        assert.deepEqual(
          second.body.answers.map((given: { by: string }) => given.by),
          ['alice', 'carol'],
        );
        assert.match(second.body.decidedAt, /^\d{4}-/);
        const late = await answer(workflowId, CAROL, { decision: 'rejected' });
        assert.equal(late.status, 409);
        assert.equal(late.body.refusal, 'ApprovalClosed');

        // The run goes on to its next step, and shows the approval as the last answer left it.
        await eventually(async () => {
          const shown = await get(`/api/runs/${workflowId}`);
          return shown.body.steps?.[1]?.status === 'running' ? shown : undefined;
        });
        const shown = await get(`/api/runs/${workflowId}`);
        assert.equal(shown.body.steps[0].status, 'completed');
        assert.deepEqual(shown.body.approvals, [second.body]);
      } finally {
        await harness.client.workflow.getHandle(workflowId).terminate('test done');
      }
    });

    it('fails the run on a rejection', async () => {
      const workflowId = await pendingGate(1);
      const rejected = await answer(workflowId, CAROL, { decision: 'rejected', comment: 'not today' });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.equal(rejected.body.status, 'rejected');
      await assert.rejects(harness.client.workflow.getHandle(workflowId).result(), WorkflowFailedError);
      const closed = await answer(workflowId, ALICE, { decision: 'approved' });
      assert.equal(closed.status, 409);
      assert.match(closed.body.detail, /already ended \(failed\)/);
    });

    it('refuses a bad step id (400), a bad body (422/415) and an unknown run (404)', async () => {
      const path = (step: string) => `/api/runs/${uniqueName('gate-nothing')}/approvals/${step}`;
      for (const step of ['Go-Live', '9lives', 'x'.repeat(64)]) {
        const res = await post(path(step), { decision: 'approved' });
        assert.equal(res.status, 400, step);
        assert.equal(res.body.errors[0].path, 'stepId');
      }
      for (const [body, field] of [
        [{}, 'decision'],
        [{ decision: 'yes' }, 'decision'],
        [{ decision: 'approved', comment: 7 }, 'comment'],
        [{ decision: 'approved', comment: 'x'.repeat(2001) }, 'comment'],
        [{ decision: 'approved', by: 'alice' }, 'by'],
      ] as const) {
        const res = await post(path('go_live'), body);
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(res.body.errors[0].path, field);
      }
      const text = await post(path('go_live')).set('Content-Type', 'text/plain').send('approved');
      assert.equal(text.status, 415);
      const unknown = await post(path('go_live'), { decision: 'approved' });
      assert.equal(unknown.status, 404);
    });
  });
});
