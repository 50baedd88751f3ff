import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { assertExit, READER, runFlowctl, startCliWorld, type CliWorld } from './support';

/** A port on 127.0.0.1 that nothing listens on: one that was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('flowctl: exit codes, --json, configuration and the token', function () {
  this.timeout(120_000);
  let world: CliWorld;

  before(async () => {
    world = await startCliWorld();
  });
  after(async () => world?.stop());

  it('exits 5 for a wrong token or a read token that changes something, saying what to do', async () => {
    const wrong = await world.run(['get', 'definitions'], { env: { FLOW_TOKEN: 'not-the-token-0123456789' } });
    assertExit(wrong, 5);
    assert.match(wrong.stderr, /FLOW_TOKEN|flowctl login/);
    assert.ok(!wrong.stderr.includes('not-the-token-0123456789'), 'a wrong token is not printed either');
    const reader = await world.run(['emit', 'demo', 'hello'], { env: { FLOW_TOKEN: READER.token } });
    assertExit(reader, 5);
    assert.match(reader.stderr, /write/);
    const none = await world.run(['get', 'runs'], { env: { FLOW_TOKEN: undefined } });
    assertExit(none, 5);
  });

  it('exits 6 when the gateway does not answer, naming the URL and never the token', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await world.run(['--token', 'flag-token-0123456789', 'get', 'definitions', '--url', url]);
    assertExit(result, 6);
    assert.match(
      result.stderr,
      new RegExp(`Cannot reach the Flow gateway at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)`),
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes('flag-token-0123456789'));
  });

  it('exits 4 for an unknown definition or run, with the server detail', async () => {
    const definition = await world.run(['describe', 'definition', 'no-such-definition']);
    assertExit(definition, 4);
    assert.match(definition.stderr, /There is no definition no-such-definition/);
    assertExit(await world.run(['runs', 'show', 'no-such-run-x']), 4);
    assertExit(await world.run(['export', 'no-such-definition', '-o', path.join(world.dir, 'none')]), 4);
  });

  it('exits 2 for bad usage', async () => {
    for (const args of [
      ['apply'],
      ['nope'],
      [],
      ['diff', 'hello', 'one', '2'],
      ['emit', 'demo', 'hello', '--data', '{not json'],
      ['emit', 'demo', 'hello', '--data', '[1]'],
      ['completion', 'fish'],
      ['--url', 'ftp://example.com', 'get', 'definitions'],
      ['validate', path.join(world.dir, 'missing')],
    ]) {
      const result = await world.run(args);
      assertExit(result, 2);
      assert.ok(result.stderr.trim() !== '', `flowctl ${args.join(' ')} says why on stderr`);
    }
    assertExit(await world.run(['--help']), 0);
    assertExit(await world.run(['apply', '--help']), 0);
  });

  it('prints stable JSON on read commands', async () => {
    const put = await world.run(['apply', '-f', 'examples/hello.yaml', '--json']);
    assertExit(put, 0);
    assert.deepEqual(JSON.parse(put.stdout).summary, { added: 1, changed: 0, unchanged: 0, pruned: 0, failed: 0 });
    const definitions = JSON.parse((await world.run(['get', 'definitions', '--json'])).stdout);
    assert.deepEqual(
      definitions.items.map((item: { id: string; revision: number; on: unknown }) => [item.id, item.revision, item.on]),
      [['hello', 1, [{ source: 'demo', type: 'hello' }]]],
    );
    const actions = JSON.parse((await world.run(['get', 'actions', '--json'])).stdout);
    assert.ok(actions.actions.some((action: { id: string }) => action.id === 'flow.set'));
    const trains = JSON.parse((await world.run(['get', 'trains', '--json'])).stdout);
    assert.deepEqual(trains, { items: [] });
    const subscriptions = JSON.parse((await world.run(['get', 'subscriptions', '--json'])).stdout);
    assert.deepEqual(subscriptions, { items: [] });
    assertExit(await world.run(['trains', 'show', 'release-x']), 4);
  });

  it('logs in with the token on stdin, keeps it in a 0600 file, and uses it; never prints it', async () => {
    const home = path.join(world.dir, 'login');
    const env = { HOME: home, XDG_CONFIG_HOME: undefined, FLOW_TOKEN: undefined, FLOW_URL: undefined };
    const refused = await world.run(['--url', world.url, 'login', '--token-stdin'], {
      env,
      input: 'wrong-token-0123456789\n',
    });
    assertExit(refused, 5);
    const file = path.join(home, '.config', 'flowctl', 'config.json');
    assert.ok(!fs.existsSync(file), 'a refused token is not saved');

    const login = await world.run(['--url', world.url, 'login', '--token-stdin'], {
      env,
      input: `${world.harness.token}\n`,
    });
    assertExit(login, 0);
    assert.match(
      login.stdout,
      /Saved http:\/\/127\.0\.0\.1:\d+ and its token to .*config\.json \(readable by you only\)\./,
    );
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { url: world.url, token: world.harness.token });

    const listed = await world.run(['get', 'definitions', '--json'], { env });
    assertExit(listed, 0);
    // whoami says which gateway and which token name and scope: the saved ones, never the token itself.
    const whoami = await world.run(['whoami', '--json'], { env });
    assertExit(whoami, 0);
    assert.deepEqual(JSON.parse(whoami.stdout), { url: world.url, actor: 'api-token', scope: 'write', via: 'token' });
    assert.equal((await world.run(['whoami'], { env })).stdout.trim(), `api-token (write scope) at ${world.url}`);
    // FLOW_TOKEN wins over the file.
    assertExit(await world.run(['get', 'definitions'], { env: { ...env, FLOW_TOKEN: 'env-token-0123456789' } }), 5);
    assertExit(await world.run(['logout'], { env }), 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { url: world.url });
    assertExit(await world.run(['get', 'definitions'], { env }), 5);
  });

  it('prints bash and zsh completion scripts that the shell accepts', async () => {
    const bash = await runFlowctl(['completion', 'bash']);
    assertExit(bash, 0);
    assert.match(bash.stdout, /^complete -o default -F _flowctl flowctl$/m);
    assert.match(bash.stdout, /"get"\) echo "definitions actions runs trains subscriptions --help"/);
    const script = path.join(world.dir, 'completion.bash');
    fs.writeFileSync(script, bash.stdout);
    const words = execFileSync(
      'bash',
      ['-c', `source ${script}; COMP_WORDS=(flowctl get d); COMP_CWORD=2; _flowctl; echo "\${COMPREPLY[@]}"`],
      { encoding: 'utf8' },
    );
    assert.equal(words.trim(), 'definitions');
    const zsh = await runFlowctl(['completion', 'zsh']);
    assertExit(zsh, 0);
    assert.match(zsh.stdout, /^#compdef flowctl$/m);
  });
});
