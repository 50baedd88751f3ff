import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { FlowClient, type RequestOptions } from '../../cli/client';
import { applyDefinitions } from '../../cli/commands/apply';
import type { CliContext } from '../../cli/context';
import { Output } from '../../cli/output';
import { projectRoot } from '../../config';
import { assertExit, startCliWorld, type CliWorld } from './support';

const EXAMPLES = path.join(projectRoot, 'examples');

/**
 * A client of the real gateway that, just before one request (such as flowctl's save of a definition), runs `before`
 * (a colleague's save through the API), so a change lands between apply's read and its save every time.
 */
class InterruptedClient extends FlowClient {
  constructor(
    url: string,
    token: string,
    private readonly at: { method: string; path: string },
    private readonly before: () => Promise<void>,
  ) {
    super(url, token);
  }

  override async request(method: string, path: string, options: RequestOptions = {}) {
    if (method === this.at.method && path === this.at.path) await this.before();
    return super.request(method, path, options);
  }
}

/** Runs apply in this process with `client`, and what it printed and the exit code it set. */
async function applyWith(
  client: FlowClient,
  filename: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const streams = { stdout: new PassThrough(), stderr: new PassThrough() };
  const text = { stdout: '', stderr: '' };
  streams.stdout.on('data', (chunk: Buffer) => (text.stdout += chunk.toString()));
  streams.stderr.on('data', (chunk: Buffer) => (text.stderr += chunk.toString()));
  const output = new Output(
    streams.stdout as unknown as NodeJS.WriteStream,
    streams.stderr as unknown as NodeJS.WriteStream,
    { NO_COLOR: '1' },
  );
  const context: CliContext = {
    output,
    client: () => client,
    settings: () => {
      throw new Error('apply asks the client, not the settings');
    },
  };
  const before = process.exitCode;
  try {
    await applyDefinitions(context, { filename: [filename] });
    return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, ...text };
  } finally {
    process.exitCode = before;
  }
}
const exampleFiles = (): string[] =>
  fs
    .readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.yaml'))
    .sort();

describe('flowctl: definitions as files (apply, export, prune, diff, rollback)', function () {
  this.timeout(180_000);
  let world: CliWorld;
  let defs: string;

  before(async () => {
    world = await startCliWorld();
    defs = path.join(world.dir, 'defs');
    fs.mkdirSync(defs);
    for (const name of exampleFiles()) fs.copyFileSync(path.join(EXAMPLES, name), path.join(defs, name));
  });
  after(async () => world?.stop());

  it('applies the examples, then again with nothing changed, then one edit as one new revision with its diff', async () => {
    const first = await world.run(['apply', '-f', defs]);
    assertExit(first, 0);
    for (const id of ['hello', 'release', 'release-rejected'])
      assert.match(first.stdout, new RegExp(`^\\+ ${id} added r1 \\(`, 'm'), first.stdout);
    assert.match(first.stderr, /3 added, 0 unchanged/);

    const again = await world.run(['apply', '-f', defs, '--json']);
    assertExit(again, 0);
    const parsed = JSON.parse(again.stdout);
    assert.deepEqual(parsed.summary, { added: 0, changed: 0, unchanged: 3, pruned: 0, failed: 0 });
    assert.deepEqual(
      parsed.items.map((item: { id: string; action: string; revision: number }) => [
        item.id,
        item.action,
        item.revision,
      ]),
      [
        ['hello', 'unchanged', 1],
        ['release', 'unchanged', 1],
        ['release-rejected', 'unchanged', 1],
      ],
    );

    const hello = path.join(defs, 'hello.yaml');
    fs.writeFileSync(hello, fs.readFileSync(hello, 'utf8').replace('name: Say hello\n', 'name: Say hello again\n'));
    const edited = await world.run(['apply', '-f', defs, '-m', 'Renamed by the CLI test']);
    assertExit(edited, 0);
    assert.match(edited.stdout, /^~ hello changed r1 → r2 \(/m);
    assert.match(edited.stdout, /^ {4}--- hello r1 \(server\)$/m);
    assert.match(edited.stdout, /^ {4}-name: Say hello$/m);
    assert.match(edited.stdout, /^ {4}\+name: Say hello again$/m);
    assert.match(edited.stdout, /^= release unchanged r1/m);
    assert.match(edited.stderr, /^1 changed, 2 unchanged\.$/m);
    const revisions = await world.harness.store.revisions('hello');
    assert.equal(revisions.length, 2);
    assert.equal(revisions[0]?.message, 'Renamed by the CLI test');
    assert.equal((await world.harness.store.revisions('release')).length, 1);

    const dry = await world.run(['apply', '-f', defs, '--dry-run']);
    assertExit(dry, 0);
    assert.match(dry.stderr, /Dry run, nothing saved: would be 3 unchanged\./);
  });

  it('prunes only with --yes, listing what it would delete first', async () => {
    const extra = await request(world.harness.app)
      .put('/api/definitions/extra')
      .set('Authorization', world.harness.auth)
      .set('Content-Type', 'application/yaml')
      .send('name: Extra\non: [{source: demo, type: extra}]\nsteps: [{id: a, action: flow.set, with: {x: 1}}]\n');
    assert.equal(extra.status, 201);

    const refused = await world.run(['apply', '-f', defs, '--prune']);
    assertExit(refused, 2);
    assert.match(refused.stdout, /^- extra would be deleted \(last r1\)$/m);
    assert.match(
      refused.stderr,
      /--prune would delete 1 definition that the files do not name: extra\. Nothing was changed\./,
    );
    assert.match(refused.stderr, /--prune --yes/);
    assert.ok(await world.harness.store.get('extra'), 'nothing is deleted without --yes');

    const dry = await world.run(['apply', '-f', defs, '--prune', '--dry-run', '--json']);
    assertExit(dry, 0);
    assert.deepEqual(
      JSON.parse(dry.stdout).items.filter((item: { action: string }) => item.action === 'pruned'),
      [{ id: 'extra', file: null, action: 'pruned', revision: 1 }],
    );

    const pruned = await world.run(['apply', '-f', defs, '--prune', '--yes']);
    assertExit(pruned, 0);
    assert.match(pruned.stdout, /^- extra deleted \(last r1\)$/m);
    const gone = await request(world.harness.app)
      .get('/api/definitions/extra')
      .set('Authorization', world.harness.auth);
    assert.equal(gone.status, 404);

    // A pruned definition keeps its revisions: rollback brings it back.
    const restored = await world.run(['rollback', 'extra', '--to', '1']);
    assertExit(restored, 0);
    assert.match(restored.stdout, /extra: restored revision 1 as revision \d+\./);
    assert.equal((await world.harness.store.get('extra'))?.definition.name, 'Extra');
    assertExit(await world.run(['apply', '-f', defs, '--prune', '--yes']), 0);
  });

  it('exports YAML that is byte for byte what was applied, and applies back unchanged', async () => {
    const out = path.join(world.dir, 'exported');
    const exported = await world.run(['export', '-o', out, '--json']);
    assertExit(exported, 0);
    assert.deepEqual(
      JSON.parse(exported.stdout).items.map((item: { id: string; revision: number }) => [item.id, item.revision]),
      [
        ['hello', 2],
        ['release', 1],
        ['release-rejected', 1],
      ],
    );
    assert.deepEqual(fs.readdirSync(out).sort(), exampleFiles());
    for (const name of exampleFiles())
      assert.ok(
        fs.readFileSync(path.join(out, name)).equals(fs.readFileSync(path.join(defs, name))),
        `${name} differs`,
      );
    const back = await world.run(['apply', '-f', out, '--prune', '--yes', '--json']);
    assertExit(back, 0);
    assert.equal(JSON.parse(back.stdout).summary.unchanged, 3);

    const one = await world.run(['export', 'hello', '-o', path.join(world.dir, 'one')]);
    assertExit(one, 0);
    assert.deepEqual(fs.readdirSync(path.join(world.dir, 'one')), ['hello.yaml']);
  });

  it("reports a 412 and exits 1 when someone saves the definition between apply's read and its check or save", async () => {
    const file = path.join(world.dir, 'race.yaml');
    const text = (name: string): string =>
      `id: race\nname: ${name}\non: [{ source: demo, type: race }]\nsteps: [{ id: a, action: flow.set, with: { x: 1 } }]\n`;
    const colleague = (name: string) => async (): Promise<void> => {
      const saved = await request(world.harness.app)
        .put('/api/definitions/race')
        .set('Authorization', world.harness.auth)
        .set('Content-Type', 'application/yaml')
        .send(text(name));
      assert.ok(saved.status === 200 || saved.status === 201, JSON.stringify(saved.body));
    };
    await colleague('Race')();
    const revision = async (): Promise<number> => (await world.harness.store.revisions('race')).length;
    assert.equal(await revision(), 1);
    fs.writeFileSync(file, text('Race from git'));

    // Saved by a colleague between apply's read (r1) and its save: the PUT with If-Match "1" is refused.
    const atSave = new InterruptedClient(
      world.url,
      world.harness.token,
      { method: 'PUT', path: '/api/definitions/race' },
      colleague('Race from the console'),
    );
    const raced = await applyWith(atSave, file);
    assert.equal(raced.code, 1, raced.stdout + raced.stderr);
    assert.match(raced.stdout, /^! race failed \(.*race\.yaml\): .*revision/m);
    assert.match(raced.stderr, /^0 unchanged, 1 failed\.$/m);
    assert.equal(await revision(), 2, "apply saved nothing over the colleague's revision");
    assert.equal((await world.harness.store.get('race'))?.definition.name, 'Race from the console');

    // Saved between the read (r2) and the gateway's check: reported as failed before anything is saved.
    const atCheck = new InterruptedClient(
      world.url,
      world.harness.token,
      { method: 'POST', path: '/api/definitions/race/validate' },
      colleague('Race again from the console'),
    );
    const early = await applyWith(atCheck, file);
    assert.equal(early.code, 1, early.stdout + early.stderr);
    assert.match(early.stdout, /^! race failed/m);
    assert.equal(await revision(), 3);

    // Run again, apply diffs against what is there now and saves.
    const again = await world.run(['apply', '-f', file]);
    assertExit(again, 0);
    assert.match(again.stdout, /^~ race changed r3 → r4 \(/m);
    assert.match(again.stdout, /^ {4}-name: Race again from the console$/m);
    const cleanup = await request(world.harness.app)
      .delete('/api/definitions/race')
      .set('Authorization', world.harness.auth);
    assert.equal(cleanup.status, 200);
  });

  it('diffs two revisions, rolls back to one, and describes the definition with its revisions', async () => {
    const diff = await world.run(['diff', 'hello', '1', '2']);
    assertExit(diff, 0);
    assert.match(diff.stdout, /^--- hello r1$/m);
    assert.match(diff.stdout, /^-name: Say hello$/m);
    assert.match(diff.stdout, /^\+name: Say hello again$/m);

    const rollback = await world.run(['rollback', 'hello', '--to', '1']);
    assertExit(rollback, 0);
    assert.match(rollback.stdout, /hello: restored revision 1 as revision 3\./);

    const described = await world.run(['describe', 'definition', 'hello', '--json']);
    assertExit(described, 0);
    const parsed = JSON.parse(described.stdout);
    assert.equal(parsed.definition.revision, 3);
    assert.equal(parsed.definition.definition.name, 'Say hello');
    assert.deepEqual(
      parsed.revisions.map((entry: { revision: number }) => entry.revision),
      [3, 2, 1],
    );
    const human = await world.run(['describe', 'definition', 'hello']);
    assertExit(human, 0);
    assert.match(human.stdout, /^ {2}demo\/hello$/m);
    assert.match(human.stdout, /^ {2}1\. greet {2}flow\.set/m);

    const listed = await world.run(['get', 'definitions']);
    assertExit(listed, 0);
    assert.match(listed.stdout, /^ID\s+NAME\s+REV\s+ENABLED\s+EVENTS$/m);
    assert.match(listed.stdout, /^hello\s+Say hello\s+3\s+yes\s+demo\/hello$/m);
  });
});
