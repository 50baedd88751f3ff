import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ALICE, assertExit, READER, startCliWorld, type CliResult, type CliWorld } from './support';

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
  'train.yaml': `id: train
name: Train
on: [{ source: test, type: train }]
concurrency: { group: 'cli-\${{ event.lane }}', when_busy: queue }
steps:
  - id: hold
    action: flow.sleep
    with: { duration: 1h }
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

  it('shows a busy train, its holder and its line, and removes the waiting run, which ends without a step', async () => {
    const holder = await emitAndFindRun('test', 'train', '{"lane": "a"}');
    const trainUntil = async (until: (train: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (let attempt = 0; attempt < 60; attempt++) {
        const shown = await world.run(['trains', 'show', 'cli-a', '--json']);
        if (shown.code === 0) {
          const train = JSON.parse(shown.stdout) as Record<string, unknown>;
          if (until(train)) return train;
        } else assertExit(shown, 4);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error('the train never got there');
    };
    await trainUntil((train) => (train['holder'] as { workflowId?: string } | null)?.workflowId === holder);
    const waiting = await emitAndFindRun('test', 'train', '{"lane": "a"}');
    const train = await trainUntil((shown) => (shown['queue'] as unknown[]).length === 1);
    const queued = (
      train['queue'] as { eventId: string; workflowId: string; position: number; definition: string }[]
    )[0]!;
    assert.deepEqual([queued.workflowId, queued.position, queued.definition], [waiting, 1, 'train']);

    const human = await world.run(['trains', 'show', 'cli-a']);
    assertExit(human, 0);
    assert.match(human.stdout, new RegExp(`^cli-a {2}held by ${holder} \\(train, event [^)]+\\)$`, 'm'));
    assert.match(human.stdout, /^POS\s+EVENT\s+DEFINITION\s+WORKFLOW ID\s+SINCE$/m);
    assert.match(human.stdout, new RegExp(`^1\\s+${queued.eventId}\\s+train\\s+${waiting}\\s+\\d{4}-`, 'm'));
    const listed = await world.run(['trains', 'list']);
    assertExit(listed, 0);
    assert.match(listed.stdout, new RegExp(`^cli-a\\s+${holder}\\s+1$`, 'm'));
    assert.deepEqual(
      JSON.parse((await world.run(['get', 'trains', '--json'])).stdout).items.map(
        (item: { group: string; queue: unknown[] }) => [item.group, item.queue.length],
      ),
      [['cli-a', 1]],
    );

    const refused = await world.run(['trains', 'remove', 'cli-a', queued.eventId], {
      env: { FLOW_TOKEN: READER.token },
    });
    assertExit(refused, 5);
    const removed = await world.run(['trains', 'remove', 'cli-a', queued.eventId]);
    assertExit(removed, 0);
    assert.match(removed.stdout, new RegExp(`^Removed the run of event ${queued.eventId} from train cli-a\\.$`, 'm'));
    const ended = await world.run(['runs', 'show', waiting, '--wait', '--json']);
    assertExit(ended, 0);
    const run = JSON.parse(ended.stdout) as {
      status: string;
      details: string;
      steps: { id: string; status: string }[];
    };
    assert.equal(run.status, 'completed');
    assert.equal(run.details, 'Left the line of train cli-a without running: removed by api-token');
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [['hold', 'pending']],
      'a removed run runs no step',
    );
    assertExit(await world.run(['trains', 'remove', 'cli-a', queued.eventId]), 4);
    const alone = await trainUntil((shown) => (shown['queue'] as unknown[]).length === 0);
    assert.equal((alone['holder'] as { workflowId: string }).workflowId, holder);

    assertExit(await world.run(['runs', 'cancel', holder, '--reason', 'train test over']), 0);
    for (let attempt = 0; attempt < 60; attempt++) {
      const gone = await world.run(['trains', 'show', 'cli-a']);
      if (gone.code === 4) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.fail('the train stayed busy after its holder was cancelled');
  });

  it('lists the events that matched nothing, with why', async () => {
    const emitted = await world.run([
      'emit',
      'test',
      'nobody-listens',
      '--data',
      '{"secret": "hunter2-cli"}',
      '--json',
    ]);
    assertExit(emitted, 0);
    const { eventId } = JSON.parse(emitted.stdout) as { eventId: string };
    let items: { eventId: string; source: string; type: string; why: string[] }[] = [];
    for (let attempt = 0; attempt < 80 && !items.some((item) => item.eventId === eventId); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      const listed = await world.run(['events', 'unmatched', '--source', 'test', '--type', 'nobody-listens', '--json']);
      assertExit(listed, 0);
      items = (JSON.parse(listed.stdout) as { items: typeof items }).items;
    }
    const found = items.find((item) => item.eventId === eventId);
    assert.ok(found, `event ${eventId} is listed as unmatched`);
    assert.deepEqual([found.source, found.type], ['test', 'nobody-listens']);
    assert.match(found.why.join(' '), /no definition is bound to test\/nobody-listens/);

    const human = await world.run(['events', 'unmatched', '--source', 'test', '--limit', '5']);
    assertExit(human, 0);
    assert.match(human.stdout, /^EVENT\s+RECEIVED\s+WHY\s+EVENT ID$/m);
    assert.match(
      human.stdout,
      new RegExp(
        `^test/nobody-listens\\s+\\d{4}-\\S+\\s+no definition is bound to test/nobody-listens.*\\s${eventId}$`,
        'm',
      ),
    );
    assert.ok(!human.stdout.includes('hunter2-cli'), 'the event body is never shown');
    assert.match(human.stderr, /at most 5 unmatched ones shown/);
    const none = await world.run(['events', 'unmatched', '--source', 'no-such-source']);
    assertExit(none, 0);
    assert.match(none.stdout, /^Every recent event started or woke a run\.$/m);
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
