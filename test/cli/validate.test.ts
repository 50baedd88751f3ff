import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertExit, runFlowctl, startCliWorld, type CliWorld } from './support';

/** Three broken files: an unknown action and a reference to a later step; YAML that does not parse; JSON with two errors. */
const BROKEN: Readonly<Record<string, string>> = {
  'actions.yaml': `id: actions
name: Unknown action
on:
  - source: demo
    type: broken
steps:
  - id: first
    action: flow.set
    with: { x: '\${{ steps.second.output }}' }
  - id: second
    action: http.fetch
    with: { url: https://example.com }
`,
  'syntax.yaml': `id: syntax
name: Bad YAML
on:
  - source: demo
    type: broken
steps: [
`,
  'bad.json': `{
  "id": "bad",
  "name": "Bad JSON",
  "on": [{ "source": "demo", "type": "broken", "if": "event.x ==" }],
  "steps": [{ "id": "s", "action": "flow.sleep", "with": { "duration": "soon" } }]
}
`,
};

describe('flowctl validate: the gateway validator offline', function () {
  this.timeout(120_000);
  let world: CliWorld;
  let broken: string;

  before(async () => {
    world = await startCliWorld();
    broken = path.join(world.dir, 'broken');
    fs.mkdirSync(broken);
    for (const [name, text] of Object.entries(BROKEN)) fs.writeFileSync(path.join(broken, name), text);
  });
  after(async () => world?.stop());

  it('prints every error of three broken files with its file, line and column, and exits 3', async () => {
    const result = await world.run(['validate', broken]);
    assertExit(result, 3);
    const lines = result.stdout.trim().split('\n');
    const file = (name: string): string => path.join(broken, name);
    const expected: [string, RegExp][] = [
      [file('actions.yaml'), /^:9:13 steps\[0\]\.with\.x refers to steps\.second, which runs later \(steps\[1\]\)/],
      [
        file('actions.yaml'),
        /^:11:5 steps\[1\]\.action unknown action "http\.fetch" \(did you mean "http\.request"\?\)/,
      ],
      [file('bad.json'), /^:4:48 on\[0\]\.if cannot parse/],
      [file('bad.json'), /^:5:60 steps\[0\]\.with\.duration must be a whole number and a unit/],
      [file('syntax.yaml'), /^:7:1 \(root\) not valid YAML: /],
    ];
    for (const [name, pattern] of expected)
      assert.ok(
        lines.some((line) => line.startsWith(name) && pattern.test(line.slice(name.length))),
        `no line for ${name} ${pattern}:\n${result.stdout}`,
      );
    assert.equal(lines.length, expected.length, result.stdout);
    assert.match(result.stderr, /3 of 3 files invalid, 5 errors \(actions from http:\/\/127\.0\.0\.1:\d+\)/);

    const json = await world.run(['validate', '--json', broken]);
    assertExit(json, 3);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.files.map((entry: { file: string; ok: boolean; errors: unknown[] }) => [
        path.basename(entry.file),
        entry.errors.length,
      ]),
      [
        ['actions.yaml', 2],
        ['bad.json', 2],
        ['syntax.yaml', 1],
      ],
    );
  });

  it('passes the examples with the catalog of the server, of a file, or its own, and exits 0', async () => {
    assertExit(await world.run(['validate', 'examples/']), 0);
    const catalog = path.join(world.dir, 'catalog.json');
    const actions = await world.run(['get', 'actions', '--json']);
    assertExit(actions, 0);
    fs.writeFileSync(catalog, actions.stdout);
    // Offline: no gateway needed with --catalog.
    const offline = { env: { FLOW_URL: 'http://127.0.0.1:9', FLOW_TOKEN: undefined } };
    assertExit(await runFlowctl(['validate', '--catalog', catalog, 'examples/hello.yaml'], offline), 0);
    assertExit(await runFlowctl(['validate', '--catalog', 'builtin', 'examples'], offline), 0);
  });

  it("checks a pack action's input against its published JSON Schema, as the gateway's catalog does", async () => {
    const catalog = path.join(world.dir, 'pack-catalog.json');
    const listed = JSON.parse((await world.run(['get', 'actions', '--json'])).stdout);
    listed.actions.push({
      id: 'payments.refund',
      description: 'Refunds an order.',
      kind: 'activity',
      input: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { order: { type: 'string' }, amount: { type: 'integer', minimum: 1 } },
        required: ['order', 'amount'],
        additionalProperties: false,
      },
      output: {},
      examples: [],
      env: [],
      guardedInputs: [],
      pack: 'payments',
      packVersion: '1.0.0',
    });
    fs.writeFileSync(catalog, JSON.stringify(listed));
    const definitions = path.join(world.dir, 'pack');
    fs.mkdirSync(definitions);
    fs.writeFileSync(
      path.join(definitions, 'refund.yaml'),
      `id: refund
name: Refund
on: [{ source: shop, type: refund }]
steps:
  - id: refund
    action: payments.refund
    with:
      order: '\${{ event.order }}'
      amount: 0
      currency: EUR
`,
    );
    const result = await runFlowctl(['validate', '--catalog', catalog, definitions]);
    assertExit(result, 3);
    const file = path.join(definitions, 'refund.yaml');
    assert.match(result.stdout, new RegExp(`^${escape(file)}:9:7 steps\\[0\\]\\.with\\.amount must be >= 1$`, 'm'));
    assert.match(
      result.stdout,
      new RegExp(`^${escape(file)}:7:5 steps\\[0\\]\\.with Unrecognized key: "currency"$`, 'm'),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
