import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ALICE, assertExit, startCliWorld, type CliResult, type CliWorld } from './support';

/** A run that waits for alice's approval, and one that sleeps until it is cancelled. */
const DEFINITIONS: Readonly<Record<string, string>> = {
  'gate.yaml': `id: gate
name: Gate
on: [{ source: test, type: gate }]
steps:
  - id: go_live
    action: flow.approval
    with: { title: 'Ship it?', approvers: [alice] }
  - id: after
    action: flow.set
    with: { shipped: true }
`,
  'nap.yaml': `id: nap
name: Nap
on: [{ source: test, type: nap }]
steps:
  - id: sleep
    action: flow.sleep
    with: { duration: 1h }
`,
};

describe('flowctl: events and runs (emit, plan, runs, approve, cancel)', function () {
  this.timeout(180_000);
  let world: CliWorld;

  before(async () => {
    world = await startCliWorld();
    const dir = path.join(world.dir, 'defs');
    fs.mkdirSync(dir);
    fs.copyFileSync('examples/hello.yaml', path.join(dir, 'hello.yaml'));
    for (const [name, text] of Object.entries(DEFINITIONS)) fs.writeFileSync(path.join(dir, name), text);
    assertExit(await world.run(['apply', '-f', dir]), 0);
  });
  after(async () => world?.stop());

  /** Emits an event and returns the workflow id of the run it started, as `runs list --event` finds it. */
  const emitAndFindRun = async (source: string, type: string, data: string): Promise<string> => {
    const emitted = await world.run(['emit', source, type, '--data', data, '--json']);
    assertExit(emitted, 0);
    const { eventId, duplicate } = JSON.parse(emitted.stdout);
    assert.equal(duplicate, false);
    for (let attempt = 0; attempt < 60; attempt++) {
      const listed = await world.run(['runs', 'list', '--event', eventId, '--json']);
      assertExit(listed, 0);
      const first = JSON.parse(listed.stdout).items[0];
      if (first) return first.workflowId as string;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no run of ${eventId} was listed`);
  };

  /** Runs `runs show --json` until `until` holds for the run. */
  const showUntil = async (
    workflowId: string,
    until: (run: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const shown = await world.run(['runs', 'show', workflowId, '--json']);
      assertExit(shown, 0);
      const run = JSON.parse(shown.stdout) as Record<string, unknown>;
      if (until(run)) return run;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${workflowId} never got there`);
  };

  it('emits an event and follows its run until it is done', async () => {
    const workflowId = await emitAndFindRun('demo', 'hello', '{"name": "Ada"}');
    const waited = await world.run(['runs', 'show', workflowId, '--wait', '--json']);
    assertExit(waited, 0);
    const run = JSON.parse(waited.stdout);
    assert.equal(run.status, 'completed');
    assert.equal(run.definition, 'hello');
    assert.deepEqual(
      run.steps.map((step: { id: string; status: string }) => [step.id, step.status]),
      [
        ['greet', 'completed'],
        ['deliver', 'skipped'],
      ],
    );
    const human = await world.run(['runs', 'show', workflowId]);
    assertExit(human, 0);
    assert.match(human.stdout, new RegExp(`^${workflowId} {2}completed`, 'm'));
    assert.match(human.stdout, /^greet\s+flow\.set\s+completed/m);
    const list = await world.run(['get', 'runs', '--definition', 'hello']);
    assertExit(list, 0);
    assert.match(list.stdout, new RegExp(`^${workflowId}\\s+hello\\s+1\\s+completed`, 'm'));
  });

  it("plans an event exactly as the API's plan answers", async () => {
    const data = { name: 'Grace' };
    const planned = await world.run([
      'plan',
      'demo',
      'hello',
      '--data',
      JSON.stringify(data),
      '--key',
      'plan-1',
      '--json',
    ]);
    assertExit(planned, 0);
    const api = await request(world.harness.app)
      .post('/api/plan/demo/hello')
      .set('Authorization', world.harness.auth)
      .set('Idempotency-Key', 'plan-1')
      .send(data);
    assert.equal(api.status, 200);
    assert.deepEqual(JSON.parse(planned.stdout), api.body);
    assert.equal(api.body.matched[0].firstStep.input.greeting, 'Hello, Grace!');

    const human = await world.run(['plan', 'demo', 'hello', '--data', JSON.stringify(data)]);
    assertExit(human, 0);
    assert.match(human.stdout, /^would run {2}hello r1$/m);
    assert.match(human.stdout, /first step greet \(flow\.set\): input \{"greeting":"Hello, Grace!"\}/);
    const none = await world.run(['plan', 'demo', 'nobody']);
    assertExit(none, 0);
    assert.match(none.stdout, /No definition would run for demo\/nobody\./);
  });

  it("approves a waiting approval as the token's name; another token is refused with exit 5", async () => {
    const workflowId = await emitAndFindRun('test', 'gate', '{}');
    await showUntil(workflowId, (run) => Array.isArray(run['approvals']) && run['approvals'].length > 0);

    const refused = await world.run(['approve', workflowId, 'go_live']);
    assertExit(refused, 5);
    assert.match(refused.stderr, /not among|approver/i);

    const approved: CliResult = await world.run(['approve', workflowId, 'go_live', '--comment', 'ship it', '--json'], {
      env: { FLOW_TOKEN: ALICE.token },
    });
    assertExit(approved, 0);
    const approval = JSON.parse(approved.stdout);
    assert.equal(approval.status, 'approved');
    assert.deepEqual(
      approval.answers.map((answer: { by: string; comment: string }) => [answer.by, answer.comment]),
      [['alice', 'ship it']],
    );
    const done = await world.run(['runs', 'show', workflowId, '--wait', '--json']);
    assertExit(done, 0);
    assert.equal(JSON.parse(done.stdout).status, 'completed');

    const again = await world.run(['approve', workflowId, 'go_live'], { env: { FLOW_TOKEN: ALICE.token } });
    assertExit(again, 1);
  });

  it('cancels a running run, which then ends cancelled (runs show --wait exits 1)', async () => {
    const workflowId = await emitAndFindRun('test', 'nap', '{}');
    await showUntil(
      workflowId,
      (run) =>
        (run['steps'] as { id: string; status: string }[] | undefined)?.some((step) => step.status === 'running') ===
        true,
    );
    const cancelled = await world.run(['runs', 'cancel', workflowId, '--reason', 'test over']);
    assertExit(cancelled, 0);
    assert.match(cancelled.stdout, new RegExp(`Cancelled ${workflowId} \\(by api-token at `));
    const ended = await world.run(['runs', 'show', workflowId, '--wait', '--json']);
    assertExit(ended, 1);
    const run = JSON.parse(ended.stdout);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual({ by: run.cancel.by, reason: run.cancel.reason }, { by: 'api-token', reason: 'test over' });
  });
});
