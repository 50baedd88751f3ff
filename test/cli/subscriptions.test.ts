import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ALICE, assertExit, READER, startCliWorld, type CliWorld } from './support';

describe('flowctl: subscriptions (subscribe, list, mute, unmute, delete, apply) and plan', function () {
  this.timeout(180_000);
  let world: CliWorld;
  const asReader = { env: { FLOW_TOKEN: READER.token } };
  const asAlice = { env: { FLOW_TOKEN: ALICE.token } };

  before(async () => {
    world = await startCliWorld();
    assertExit(await world.run(['apply', '-f', 'examples/hello.yaml']), 0);
  });
  after(async () => world?.stop());

  const subscription = async (id: string): Promise<Record<string, unknown>> => {
    const shown = await world.run(['subscriptions', 'show', id, '--json']);
    assertExit(shown, 0);
    return (JSON.parse(shown.stdout) as { subscription: Record<string, unknown> }).subscription;
  };

  it('subscribes to an event and to outcomes with a read token, printing each id, and lists them by owner', async () => {
    const event = await world.run(
      ['subscribe', 'demo', 'hello', '--if', 'event.name == "Ada"', '--slack', '@reader', '--rate', '5'],
      asReader,
    );
    assertExit(event, 0);
    const eventId = event.stdout.trim();
    assert.match(eventId, /^reader-demo-hello-[0-9a-f]{6}$/, event.stdout);
    assert.match(event.stderr, /Subscribed: demo\/hello \(if\) → @reader \(owner reader\)\./);
    assert.deepEqual(await subscription(eventId), {
      id: eventId,
      owner: 'reader',
      on: { source: 'demo', type: 'hello', if: 'event.name == "Ada"' },
      deliver: { slack: '@reader' },
      rate_per_minute: 5,
    });

    const outcomes = await world.run(
      [
        'subscribe',
        '--definition',
        'hello',
        '--email',
        'reader@example.com',
        '--id',
        'reader-hello-outcomes',
        '--json',
      ],
      asReader,
    );
    assertExit(outcomes, 0);
    const created = JSON.parse(outcomes.stdout);
    assert.equal(created.id, 'reader-hello-outcomes');
    assert.equal(created.created, true);
    assert.deepEqual(created.subscription.on, { definition: 'hello', outcomes: ['failed', 'cancelled', 'rejected'] });
    const again = await world.run(
      [
        'subscribe',
        '--definition',
        'hello',
        '--outcomes',
        'failed',
        '--email',
        'r@example.com',
        '--id',
        'reader-hello-outcomes',
      ],
      asReader,
    );
    assertExit(again, 1);
    assert.match(again.stderr, /exists already/);

    const alice = await world.run(['subscribe', 'demo', 'hello', '--email', 'alice@example.com'], asAlice);
    assertExit(alice, 0);

    const mine = await world.run(['subscriptions', 'list', '--owner', 'me', '--json'], asReader);
    assertExit(mine, 0);
    assert.deepEqual(
      JSON.parse(mine.stdout)
        .items.map((item: { id: string }) => item.id)
        .sort(),
      [eventId, 'reader-hello-outcomes'].sort(),
    );
    const everyone = await world.run(['subscriptions', 'list', '--owner', 'all', '--json']);
    assertExit(everyone, 0);
    assert.equal(JSON.parse(everyone.stdout).items.length, 3);
    const byName = await world.run(['get', 'subscriptions', '--owner', 'alice', '--json']);
    assertExit(byName, 0);
    assert.deepEqual(
      JSON.parse(byName.stdout).items.map((item: { id: string }) => item.id),
      [alice.stdout.trim()],
    );
    const table = await world.run(['subscriptions', 'list']);
    assertExit(table, 0);
    assert.equal((await world.run(['get', 'subscriptions'])).stdout, table.stdout);
    assert.match(table.stdout, /^ID\s+OWNER\s+ON\s+DELIVER\s+MUTED UNTIL$/m);
    assert.match(
      table.stdout,
      /^reader-hello-outcomes\s+reader\s+hello: failed,cancelled,rejected\s+reader@example\.com$/m,
    );
    const human = await world.run(['describe', 'subscription', eventId]);
    assertExit(human, 0);
    assert.match(human.stdout, /^If: {10}event\.name == "Ada"$/m);
    assert.match(human.stdout, /^Rate: {8}5 a minute$/m);
  });

  it('prints each problem of a 422 with its field and exits 3; bad usage exits 2', async () => {
    const invalid = await world.run(['subscribe', 'demo', 'hello', '--if', 'event.', '--slack', 'alice'], asReader);
    assertExit(invalid, 3);
    assert.match(invalid.stderr, /^error: The subscription was not saved: 2 errors/m);
    assert.match(invalid.stderr, /^ {2}on\.if /m);
    assert.match(invalid.stderr, /^ {2}deliver\.slack /m);
    const noTarget = await world.run(['subscribe', '--definition', 'hello', '--outcomes', 'failed,exploded'], asReader);
    assertExit(noTarget, 3);
    assert.match(noTarget.stderr, /^ {2}on\.outcomes\[1\] /m);
    assert.match(noTarget.stderr, /^ {2}deliver /m);
    for (const args of [
      ['subscribe', '--slack', '@a'],
      ['subscribe', 'demo', 'hello', '--definition', 'hello', '--slack', '@a'],
      ['subscribe', '--definition', 'hello', '--if', 'true', '--slack', '@a'],
      ['subscribe', 'demo', 'hello', '--outcomes', 'failed', '--slack', '@a'],
      ['subscribe', 'demo', 'hello', '--slack', '@a', '--rate', 'lots'],
      ['subscriptions', 'mute', 'x', '--for', '5 minutes'],
      ['subscriptions', 'mute', 'x', '--until', 'tomorrow'],
      ['events', 'unmatched', '--limit', 'all'],
    ]) {
      const result = await world.run(args);
      assertExit(result, 2);
      assert.ok(result.stderr.trim() !== '', `flowctl ${args.join(' ')} says why`);
    }
  });

  it("mutes for a while and unmutes; deletes its own, not another's with a read token", async () => {
    const before = Date.now();
    const muted = await world.run(['subscriptions', 'mute', 'reader-hello-outcomes', '--for', '2h'], asReader);
    assertExit(muted, 0);
    const until = (await subscription('reader-hello-outcomes'))['muted_until'] as string;
    assert.match(
      muted.stdout,
      new RegExp(`^Muted reader-hello-outcomes until ${until.replace(/\./g, '\\.')}\\.$`, 'm'),
    );
    const ahead = Date.parse(until) - before;
    assert.ok(ahead >= 2 * 3_600_000 - 1_000 && ahead < 2 * 3_600_000 + 60_000, `muted ${ahead} ms ahead`);
    const listed = await world.run(['subscriptions', 'list', '--owner', 'reader']);
    assert.match(listed.stdout, new RegExp(`^reader-hello-outcomes\\s.*${until.replace(/\./g, '\\.')}$`, 'm'));

    const fixed = await world.run(
      ['subscriptions', 'mute', 'reader-hello-outcomes', '--until', '2031-01-02T03:04:05+01:00', '--json'],
      asReader,
    );
    assertExit(fixed, 0);
    assert.equal(JSON.parse(fixed.stdout).subscription.muted_until, '2031-01-02T02:04:05.000Z');

    const unmuted = await world.run(['subscriptions', 'unmute', 'reader-hello-outcomes'], asReader);
    assertExit(unmuted, 0);
    assert.match(unmuted.stdout, /^Unmuted reader-hello-outcomes\.$/m);
    assert.equal((await subscription('reader-hello-outcomes'))['muted_until'], undefined);
    const twice = await world.run(['subscriptions', 'unmute', 'reader-hello-outcomes'], asReader);
    assertExit(twice, 0);
    assert.match(twice.stdout, /was not muted/);

    // A write token mutes anyone's, and the subscription stays its owner's.
    assertExit(await world.run(['subscriptions', 'mute', 'reader-hello-outcomes']), 0);
    assert.equal((await subscription('reader-hello-outcomes'))['owner'], 'reader');
    assertExit(await world.run(['subscriptions', 'unmute', 'reader-hello-outcomes']), 0);

    const alices = JSON.parse((await world.run(['get', 'subscriptions', '--owner', 'alice', '--json'])).stdout).items[0]
      .id as string;
    const refused = await world.run(['subscriptions', 'mute', alices], asReader);
    assertExit(refused, 5);
    assert.match(refused.stderr, /read scope, which manages only its own subscriptions/);
    assertExit(await world.run(['subscriptions', 'delete', alices], asReader), 5);
    const deleted = await world.run(['subscriptions', 'delete', alices], asAlice);
    assertExit(deleted, 0);
    assert.match(deleted.stdout, new RegExp(`^Deleted subscription ${alices}\\.$`, 'm'));
    assertExit(await world.run(['subscriptions', 'show', alices]), 4);
    assertExit(await world.run(['subscriptions', 'delete', alices]), 4);
    assertExit(await world.run(['subscriptions', 'mute', 'no-such-subscription']), 4);
  });

  it('applies subscription files: created, then unchanged, then the changed values, and invalid files with their line', async () => {
    const dir = path.join(world.dir, 'subscriptions');
    fs.mkdirSync(dir);
    const releases = path.join(dir, 'team-releases.yaml');
    fs.writeFileSync(
      releases,
      `# Tell the team when a release starts.
on:
  source: demo
  type: hello
  if: 'event.name == "Grace"'
deliver:
  slack: '#releases'
message: 'Hello for \${{ event.name }}'
`,
    );
    fs.writeFileSync(
      path.join(dir, 'hello-failures.json'),
      `${JSON.stringify({ id: 'hello-failures', on: { definition: 'hello', outcomes: ['failed'] }, deliver: { email: 'ops@example.com' } }, null, 2)}\n`,
    );
    const first = await world.run(['subscriptions', 'apply', '-f', dir]);
    assertExit(first, 0);
    assert.match(first.stdout, /^\+ hello-failures created r1 \(.*hello-failures\.json\)$/m);
    assert.match(first.stdout, /^\+ team-releases created r1 \(.*team-releases\.yaml\)$/m);
    assert.match(first.stderr, /^2 created, 0 unchanged\.$/m);
    assert.equal((await subscription('team-releases'))['owner'], 'api-token');

    const again = await world.run(['subscriptions', 'apply', '-f', dir, '--json']);
    assertExit(again, 0);
    const parsed = JSON.parse(again.stdout);
    assert.deepEqual(parsed.summary, { created: 0, changed: 0, unchanged: 2, invalid: 0, failed: 0 });
    assert.deepEqual(
      parsed.items.map((item: { id: string; action: string; revision: number }) => [
        item.id,
        item.action,
        item.revision,
      ]),
      [
        ['hello-failures', 'unchanged', 1],
        ['team-releases', 'unchanged', 1],
      ],
    );

    fs.writeFileSync(
      releases,
      fs.readFileSync(releases, 'utf8').replace("'#releases'", "'#deploys'\n  email: team@example.com"),
    );
    const changed = await world.run(['subscriptions', 'apply', '-f', dir]);
    assertExit(changed, 0);
    assert.match(changed.stdout, /^~ team-releases changed → r2 \(/m);
    assert.match(changed.stdout, /^ {4}deliver\.email: \(none\) → "team@example\.com"$/m);
    assert.match(changed.stdout, /^ {4}deliver\.slack: "#releases" → "#deploys"$/m);
    assert.match(changed.stdout, /^= hello-failures unchanged r1/m);

    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'on:\n  source: demo\n  type: hello\ndeliver:\n  slack: nobody\n');
    const invalid = await world.run(['subscriptions', 'apply', '-f', dir]);
    assertExit(invalid, 3);
    assert.match(invalid.stdout, new RegExp(`^${broken.replace(/[.\\/]/g, '\\$&')}:5:3 deliver\\.slack `, 'm'));
    assert.match(invalid.stderr, /^2 unchanged, 1 invalid\.$/m);
    assertExit(await world.run(['subscriptions', 'show', 'broken']), 4);

    fs.writeFileSync(broken, '- not\n- a mapping\n');
    const notMapping = await world.run(['subscriptions', 'apply', '-f', broken]);
    assertExit(notMapping, 3);
    assert.match(notMapping.stdout, /is not a subscription: expected a mapping with on and deliver/);
  });

  it('plans an event: the subscriptions it would notify and those it would not, and the queues with their workers', async () => {
    const plan = await world.run(['plan', 'demo', 'hello', '--data', '{"name": "Grace"}']);
    assertExit(plan, 0);
    assert.match(plan.stdout, /^would run {2}hello r1$/m);
    assert.match(plan.stdout, /^would notify {2}team-releases \(owner api-token\): #deploys, team@example\.com$/m);
    assert.match(plan.stdout, /^not notified {2}reader-demo-hello-[0-9a-f]{6}: .*false/m);
    const json = JSON.parse(
      (await world.run(['plan', 'demo', 'hello', '--data', '{"name": "Grace"}', '--json'])).stdout,
    );
    assert.deepEqual(
      json.subscriptions.notify.map((entry: { id: string }) => entry.id),
      ['team-releases'],
    );
    // hello's http.request step runs on the harness's task queue, which the harness's worker polls.
    const queue = world.harness.taskQueue;
    assert.deepEqual(
      json.matched[0].workers.map((worker: { queue: string; polled: boolean; steps: string[] }) => [
        worker.queue,
        worker.polled,
        worker.steps,
      ]),
      [[queue, true, ['deliver']]],
    );
    assert.match(plan.stdout, new RegExp(`^ {2}queue ${queue} \\(deliver\\): a worker polls it$`, 'm'));

    const actions = await world.run(['get', 'actions']);
    assertExit(actions, 0);
    assert.match(actions.stdout, /^ID\s+KIND\s+EXECUTION\s+PACK\s+QUEUE\s+WORKER\s+DESCRIPTION$/m);
    assert.match(
      actions.stdout,
      new RegExp(`^http\\.request\\s+activity\\s+remote\\s+built-in\\s+${queue}\\s+polled\\s`, 'm'),
    );
    assert.match(
      actions.stdout,
      new RegExp(`^jira\\.comment\\s+activity\\s+local\\s+built-in\\s+${queue}\\s+polled\\s`, 'm'),
    );
    assert.match(actions.stdout, /^jenkins\.wait_for_build\s+activity\s+remote\s+built-in\s/m);
    assert.match(actions.stdout, /^flow\.set\s+\S+\s+workflow\s+built-in\s+-\s+-\s/m);
  });
});
