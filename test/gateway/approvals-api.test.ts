import assert from 'node:assert/strict';
import request from 'supertest';
import { WORKFLOW_TYPES } from '../../common/run-types';
import { flowSearchAttributes } from '../../common/search-attributes';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const READ_TOKEN = 'approvals-api-read-token-0123';
/** Write tokens of approvers; the harness's own token is named `api-token`. */
const ALICE = 'approvals-api-alice-token-0123';
const CAROL = 'approvals-api-carol-token-0123';

interface Listed {
  for: string;
  items: {
    workflowId: string;
    definition: string | null;
    revision: number | null;
    eventId: string | null;
    startTime: string;
    approval: {
      stepId: string;
      title: string;
      status: string;
      approvers: string[];
      answers: { by: string }[];
      timesOutAt: string;
    };
  }[];
  runs: number;
  truncated: boolean;
  unavailable: { workflowId: string; reason: string }[];
}

/**
 * `GET /api/approvals` on the real stack: runs that wait in `flow.approval` steps, found through Temporal's
 * visibility and asked with their `runStatus` query, listed for the approver they wait for.
 */
describe('gateway: GET /api/approvals lists the approvals that wait for an approver', function () {
  this.timeout(120_000);
  let harness: Harness;
  let source: string;
  const started: string[] = [];

  before(async () => {
    harness = await startHarness({
      gateway: {
        extraTokens: [
          { token: READ_TOKEN, scope: 'read', name: 'dashboard' },
          { token: ALICE, scope: 'write', name: 'alice' },
          { token: CAROL, scope: 'write', name: 'carol' },
        ],
      },
    });
    source = uniqueName('approvals');
    const gate = (id: string, approval: Record<string, unknown>) => ({
      id,
      name: id,
      on: [{ source, type: id.replaceAll('-', '_') }],
      steps: [
        { id: 'warm_up', action: 'flow.set', with: { version: '${{ event.version }}' } },
        { id: 'go_live', action: 'flow.approval', with: { title: 'Ship ${{ event.version }}?', ...approval } },
        { id: 'soak', action: 'flow.sleep', with: { duration: '1h' } },
      ],
    });
    for (const definition of [
      gate('two-of-two', { approvers: ['alice', 'carol'], required: 2 }),
      gate('self-forbidden', { approvers: ['alice', 'carol'] }),
      gate('self-allowed', { approvers: ['alice', 'carol'], forbid_self_approval: false }),
      {
        id: 'no-gate',
        name: 'no-gate',
        on: [{ source, type: 'no_gate' }],
        steps: [{ id: 'soak', action: 'flow.sleep', with: { duration: '1h' } }],
      },
    ]) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${definition.id}`)
        .set('Authorization', harness.auth)
        .send(definition);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });
  after(async () => {
    for (const workflowId of started) {
      await harness.client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
    }
    await harness.stop();
  });

  const list = (query: string, token = ALICE) =>
    request(harness.app).get(`/api/approvals${query}`).set('Authorization', `Bearer ${token}`);

  /** Posts an event as `token` (whose name becomes the run's actor) and returns the run's workflow id. */
  async function startRun(type: string, token: string, version: string): Promise<string> {
    const posted = await request(harness.app)
      .post(`/events/${source}/${type}`)
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', uniqueName(type))
      .send({ version });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as {
      matched: { workflowId: string }[];
    };
    const workflowId = dispatch.matched[0]!.workflowId;
    started.push(workflowId);
    return workflowId;
  }

  /** The listing for `query` once it shows (or no longer shows) `workflowId`; visibility shows a start a moment later. */
  async function listingWhen(query: string, workflowId: string, shown: boolean, token = ALICE): Promise<Listed> {
    return eventually(
      async () => {
        const res = await list(query, token);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const body = res.body as Listed;
        return body.items.some((item) => item.workflowId === workflowId) === shown ? body : undefined;
      },
      30_000,
      `${workflowId} ${shown ? 'in' : 'out of'} GET /api/approvals${query}`,
    );
  }

  it('lists a pending approval for each approver who has not answered, with its run, and drops it once they answer', async () => {
    const workflowId = await startRun('two_of_two', harness.token, '4.2.0');
    const mine = await listingWhen('?for=me', workflowId, true);
    assert.equal(mine.for, 'alice');
    assert.equal(mine.truncated, false);
    assert.ok(mine.runs >= 1);
    const item = mine.items.find((candidate) => candidate.workflowId === workflowId)!;
    assert.equal(item.definition, 'two-of-two');
    assert.equal(item.revision, 1);
    assert.equal(item.eventId, workflowId.slice('two-of-two-'.length));
    assert.ok(!Number.isNaN(Date.parse(item.startTime)));
    assert.equal(item.approval.stepId, 'go_live');
    assert.equal(item.approval.title, 'Ship 4.2.0?');
    assert.equal(item.approval.status, 'pending');
    assert.deepEqual(item.approval.approvers, ['alice', 'carol']);
    // The same list without `for`, and asked by name with another token.
    const byDefault = await list('');
    assert.ok((byDefault.body as Listed).items.some((candidate) => candidate.workflowId === workflowId));
    const asked = await list('?for=alice', READ_TOKEN);
    assert.equal(asked.status, 200);
    assert.equal((asked.body as Listed).for, 'alice');
    assert.ok((asked.body as Listed).items.some((candidate) => candidate.workflowId === workflowId));
    const stranger = await list('?for=mallory');
    assert.ok(!(stranger.body as Listed).items.some((candidate) => candidate.workflowId === workflowId));

    const answered = await request(harness.app)
      .post(`/api/runs/${workflowId}/approvals/go_live`)
      .set('Authorization', `Bearer ${ALICE}`)
      .send({ decision: 'approved' });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(answered.body.status, 'pending', 'one of two approvals');
    // Alice answered: it no longer waits for her, but still for carol.
    const afterAlice = await list('?for=me');
    assert.ok(!(afterAlice.body as Listed).items.some((candidate) => candidate.workflowId === workflowId));
    const carols = await list('?for=me', CAROL);
    assert.equal((carols.body as Listed).for, 'carol');
    const forCarol = (carols.body as Listed).items.find((candidate) => candidate.workflowId === workflowId);
    assert.deepEqual(
      forCarol?.approval.answers.map((answer) => answer.by),
      ['alice'],
    );
  });

  it('leaves out an approval for the approver who started its run when the step forbids self-approval', async () => {
    const forbidden = await startRun('self_forbidden', ALICE, '5.0.0');
    const allowed = await startRun('self_allowed', ALICE, '5.0.1');
    // Carol sees both; alice, who sent both events, only the one that allows self-approval.
    const carols = await listingWhen('?for=me', forbidden, true, CAROL);
    await listingWhen('?for=me', allowed, true, CAROL);
    assert.ok(carols.items.some((item) => item.workflowId === forbidden));
    const alices = await listingWhen('?for=me', allowed, true);
    assert.ok(!alices.items.some((item) => item.workflowId === forbidden));
    // And the run itself agrees: alice's answer to the forbidden one is refused as self-approval.
    const refused = await request(harness.app)
      .post(`/api/runs/${forbidden}/approvals/go_live`)
      .set('Authorization', `Bearer ${ALICE}`)
      .send({ decision: 'approved' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.refusal, 'SelfApproval');
  });

  it('lists nothing for a running run without an approval, and orders approvals by their timeout', async () => {
    const plain = await startRun('no_gate', ALICE, '6.0.0');
    const later = await startRun('self_allowed', harness.token, '6.0.1');
    await eventually(async () => {
      for await (const execution of harness.client.workflow.list({ query: `WorkflowId = '${plain}'` })) {
        return execution;
      }
      return undefined;
    });
    const listed = await listingWhen('?for=carol', later, true);
    assert.ok(!listed.items.some((item) => item.workflowId === plain));
    const timeouts = listed.items.map((item) => Date.parse(item.approval.timesOutAt));
    assert.deepEqual(
      timeouts,
      [...timeouts].sort((a, b) => a - b),
    );
  });

  it('refuses parameters it does not know and approver names it cannot hold with 400 naming them', async () => {
    const cases: [string, string][] = [
      ['?approver=alice', 'approver'],
      ['?for=alice&for=carol', 'for'],
      ['?for=', 'for'],
      [`?for=${'a'.repeat(201)}`, 'for'],
      [`?for=${encodeURIComponent('ali\nce')}`, 'for'],
    ];
    for (const [query, path] of cases) {
      const res = await list(query);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.body.errors[0].path, path, query);
    }
    const anonymous = await request(harness.app).get('/api/approvals');
    assert.equal(anonymous.status, 401);
  });

  it('answers within its budget when no worker answers: 201 running runs, 200 asked (truncated), each unavailable with why', async function () {
    this.timeout(120_000);
    const idle = await startHarness({ worker: false });
    const ids = Array.from({ length: 201 }, (_, index) => uniqueName(`idle-${index}`));
    try {
      for (let index = 0; index < ids.length; index += 20) {
        await Promise.all(
          ids.slice(index, index + 20).map((workflowId) =>
            idle.client.workflow.start(WORKFLOW_TYPES.interpret, {
              taskQueue: idle.taskQueue,
              workflowId,
              args: [{}],
              typedSearchAttributes: [{ key: flowSearchAttributes.FlowDefinition, value: 'idle' }],
            }),
          ),
        );
      }
      await eventually(
        async () => {
          const count = await idle.client.workflow.count(
            `WorkflowType = '${WORKFLOW_TYPES.interpret}' AND TaskQueue = '${idle.taskQueue}' AND ExecutionStatus = 'Running'`,
          );
          return count.count === ids.length ? true : undefined;
        },
        30_000,
        'visibility to show every idle run',
      );
      const before = Date.now();
      const res = await request(idle.app).get('/api/approvals?for=me').set('Authorization', idle.auth);
      const took = Date.now() - before;
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
      const body = res.body as Listed;
      assert.equal(body.for, 'api-token');
      assert.equal(body.runs, 200);
      assert.equal(body.truncated, true);
      assert.deepEqual(body.items, []);
      assert.equal(body.unavailable.length, 200, 'every run asked or not is named');
      assert.ok(took < 30_000, `the listing took ${took} ms`);
      const reasons = body.unavailable.map((run) => run.reason);
      assert.ok(reasons.some((reason) => reason.includes(`is a worker polling task queue ${idle.taskQueue}?`)));
      assert.ok(reasons.some((reason) => reason.startsWith('not asked: ')));
      assert.ok(body.unavailable.every((run) => ids.includes(run.workflowId)));
    } finally {
      for (let index = 0; index < ids.length; index += 20) {
        await Promise.all(
          ids.slice(index, index + 20).map((workflowId) =>
            idle.client.workflow
              .getHandle(workflowId)
              .terminate('test done')
              .catch(() => undefined),
          ),
        );
      }
      await idle.stop();
    }
  });
});
