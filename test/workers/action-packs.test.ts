import assert from 'node:assert/strict';
import fs from 'node:fs';
import request from 'supertest';
import os from 'node:os';
import path from 'node:path';
import { actions, actionsById, describeActions } from '../../activities';
import type { DispatchResult, RunResult } from '../../common/run-types';
import { ConfigError, loadConfig, parseActionPacks, projectRoot } from '../../config';
import { isReadyMessage, type ManagedProcess } from '../../devstack/managed-process';
import { createApp } from '../../gateway/app';
import { acceptEvent } from '../../intake';
import {
  ActionCatalog,
  ActionCatalogStore,
  DefinitionStore,
  openMongo,
  validateDefinition,
  type MongoHandle,
} from '../../registry';
import {
  defineAction,
  defineActionPack,
  InvalidActionPackError,
  isActionPack,
  SDK_VERSION,
  z,
  type ActionPackDefinition,
} from '../../sdk';
import {
  actionQueues,
  ActionPackLoadError,
  builtInPack,
  describeActionPacks,
  loadActionPacks,
  workerActions,
  type LoadedActionPack,
} from '../../workers/action-packs';
import { createWorker } from '../../workers/create-worker';
import { greetingsHello } from '../fixtures/action-packs/greetings';
import { startEntryPoint } from '../support/entry-points';
import { exampleStepErrors } from '../support/example-steps';
import { withDatabase } from '../support/global-fixture';
import { eventually } from '../support/http-receiver';
import { StoppableMongo } from '../support/stoppable-mongo';
import { flowBundle } from '../support/harness';
import { connectClient, connectWorker, testConfig, uniqueName } from '../support/stack';

const sdkPath = path.join(projectRoot, 'sdk');

/** An action that does nothing, with the id given. */
function action(id: string) {
  return defineAction({
    id,
    description: `${id}, a test action`,
    input: z.object({}),
    output: z.object({}),
    examples: [],
    async run() {
      return {};
    },
  });
}

/** Every byte string in a history (its payloads, JSON in bytes), as text. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value !== 'object' || value === null) return '';
  return Object.values(value)
    .map((inner) => historyText(inner))
    .filter(Boolean)
    .join('\n');
}

describe('action packs', () => {
  describe('defineActionPack', () => {
    it('returns a frozen pack, branded and recording the SDK version', () => {
      const pack = defineActionPack({ name: 'payments', version: '1.2.0', actions: [action('payments.charge')] });
      assert.ok(isActionPack(pack));
      assert.equal(pack.kind, 'flow-action-pack');
      assert.equal(pack.sdkVersion, SDK_VERSION);
      assert.ok(Object.isFrozen(pack));
      assert.ok(Object.isFrozen(pack.actions));
      assert.throws(() => (pack.actions as unknown[]).push(action('payments.refund')), TypeError);
      assert.equal(isActionPack({ name: 'payments', actions: [] }), false);
    });

    it('refuses a pack a worker would refuse, listing every reason', () => {
      const definition: ActionPackDefinition = {
        name: 'Payments-2',
        version: 'one',
        actions: [action('billing.charge'), action('billing.charge')],
      };
      assert.throws(
        () => defineActionPack(definition),
        (error: unknown) => {
          assert.ok(error instanceof InvalidActionPackError);
          assert.deepEqual(error.problems, [
            'its name "Payments-2" is not a pack name: use lower-case letters, digits and _, starting with a letter (such as "payments")',
            'its version "one" is not a semantic version such as "1.0.0"',
            'it declares the action id "billing.charge" twice',
          ]);
          return true;
        },
      );
      assert.throws(
        () => defineActionPack({ name: 'payments', version: '1.0.0', actions: [action('billing.charge')] }),
        /action pack "payments" 1\.0\.0 is not valid: the action id "billing\.charge" is outside the pack's namespace: a pack named "payments" may only define "payments\.\*"$/,
      );
      assert.throws(
        () => defineActionPack({ name: 'payments', version: '1.0.0', actions: [action('payments.Charge-It')] }),
        /action pack "payments" 1\.0\.0 is not valid: the action id "payments\.Charge-It" is not "payments\.<verb>"/,
      );
      assert.throws(
        () => defineActionPack({ name: 'flow', version: '1.0.0', actions: [action('flow.mine')] }),
        /the name "flow" is the built-in pack's; choose another/,
      );
      assert.throws(
        () => defineActionPack({ name: 'payments', version: '1.0.0', actions: [] }),
        /it has no actions: list them in `actions: \[\.\.\.\]`/,
      );
    });

    it('keeps the built-in actions as pack "flow" with their own ids', () => {
      const { pack } = builtInPack();
      assert.equal(pack.name, 'flow');
      assert.deepEqual(
        pack.actions.map(({ id }) => id),
        actions.map(({ id }) => id),
      );
    });
  });

  describe('loadActionPacks', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-packs-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Writes a CommonJS module into the working directory of the loads; `action(id)` declares an action there. */
    function writeModule(file: string, body: string): string {
      const prelude =
        `const { defineAction, defineActionPack, z } = require(${JSON.stringify(sdkPath)});\n` +
        `const action = (id) => defineAction({ id, description: id, input: z.object({}), output: z.object({}), ` +
        `examples: [], async run() { return {}; } });\n`;
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), prelude + body);
      return `./${file}`;
    }

    /** A pack object made without this SDK's defineActionPack, as another copy of the SDK (or a hand) might. */
    function handMade(fields: { name: string; ids: string[]; sdkVersion?: string }): string {
      const { name, ids, sdkVersion = SDK_VERSION } = fields;
      return (
        `module.exports = { kind: 'flow-action-pack', sdkVersion: ${JSON.stringify(sdkVersion)}, ` +
        `name: ${JSON.stringify(name)}, version: '1.0.0', actions: ${JSON.stringify(ids)}.map(action) };\n`
      );
    }

    function load(...specifiers: string[]): LoadedActionPack[] {
      return loadActionPacks(specifiers, { cwd: dir });
    }

    function loadError(...specifiers: string[]): ActionPackLoadError {
      try {
        load(...specifiers);
      } catch (error) {
        assert.ok(error instanceof ActionPackLoadError, `expected an ActionPackLoadError, got ${String(error)}`);
        return error;
      }
      return assert.fail(`${specifiers.join(',')} loaded`);
    }

    it('loads packs by path (against the working directory) and by package name, as module.exports or default', () => {
      const byPath = writeModule(
        'packs/payments.js',
        `module.exports = defineActionPack({ name: 'payments', version: '1.0.0', taskQueue: 'payments', actions: [action('payments.charge'), action('payments.refund')] });\n`,
      );
      writeModule(
        'node_modules/@acme/flow-deploys/index.js',
        `Object.defineProperty(exports, '__esModule', { value: true });\n` +
          `exports.default = defineActionPack({ name: 'deploys', version: '2.0.1', actions: [action('deploys.roll_out')] });\n`,
      );
      const loaded = load(byPath, '@acme/flow-deploys');
      assert.deepEqual(
        loaded.map(({ pack, source, file }) => [pack.name, pack.version, source, file]),
        [
          ['payments', '1.0.0', './packs/payments.js', path.join(dir, 'packs/payments.js')],
          ['deploys', '2.0.1', '@acme/flow-deploys', path.join(dir, 'node_modules/@acme/flow-deploys/index.js')],
        ],
      );
      assert.deepEqual(
        workerActions(actions, loaded)
          .map(({ id }) => id)
          .slice(actions.length),
        ['payments.charge', 'payments.refund', 'deploys.roll_out'],
      );
      assert.deepEqual(describeActionPacks(loaded, 'flow'), [
        'action pack "payments" 1.0.0 from ./packs/payments.js: payments.charge, payments.refund (task queue "payments")',
        'action pack "deploys" 2.0.1 from @acme/flow-deploys: deploys.roll_out (task queue "flow")',
      ]);
    });

    it('names the entry and the resolution error for a module that is not there', () => {
      const missingPath = loadError('./packs/nowhere');
      assert.equal(missingPath.source, './packs/nowhere');
      assert.equal(
        missingPath.message,
        `FLOW_ACTION_PACKS entry "./packs/nowhere" cannot be found (resolved from ${dir}): Cannot find module '${path.join(dir, 'packs/nowhere')}'; check the path`,
      );
      assert.equal(
        loadError('@acme/flow-nothing').message,
        `FLOW_ACTION_PACKS entry "@acme/flow-nothing" cannot be found (resolved from ${dir}): Cannot find module '@acme/flow-nothing'; install the package where the worker runs, or give a path`,
      );
    });

    it('says what a module threw while loading, such as an invalid pack', () => {
      const throwing = writeModule('throws.js', `throw new Error('PAYMENTS_REGION must be set before loading');\n`);
      assert.equal(
        loadError(throwing).message,
        `FLOW_ACTION_PACKS entry "./throws.js" (${path.join(dir, 'throws.js')}) failed while loading: PAYMENTS_REGION must be set before loading`,
      );
      const invalid = writeModule(
        'invalid.js',
        `module.exports = defineActionPack({ name: 'payments', version: '1.0.0', actions: [action('billing.charge')] });\n`,
      );
      assert.match(
        loadError(invalid).message,
        /failed while loading: action pack "payments" 1\.0\.0 is not valid: the action id "billing\.charge" is outside the pack's namespace: a pack named "payments" may only define "payments\.\*"$/,
      );
    });

    it('says what a module exports instead of a pack', () => {
      const file = (name: string): string => path.join(dir, name);
      const notPack = writeModule('not-pack.js', `module.exports = { name: 'payments', actions: [] };\n`);
      assert.equal(
        loadError(notPack).message,
        `FLOW_ACTION_PACKS entry "./not-pack.js" (${file('not-pack.js')}) does not export an action pack: its default export is an object with keys name, actions; export the result of defineActionPack({ name, version, actions }) from flow/sdk as the module's default export`,
      );
      const factory = writeModule('factory.js', `module.exports = function makePack() {};\n`);
      assert.match(loadError(factory).message, /its default export is a function named makePack;/);
      const nothing = writeModule('nothing.js', '');
      assert.match(loadError(nothing).message, /its default export is an empty object;/);
      const named = writeModule(
        'named.js',
        `exports.pack = defineActionPack({ name: 'payments', version: '1.0.0', actions: [action('payments.charge')] });\n`,
      );
      assert.match(
        loadError(named).message,
        /its default export is an object with keys pack \(it exports a pack named pack, but not as default\);/,
      );
    });

    it('refuses a pack made elsewhere with an id outside its namespace, a bad name, or another SDK major', () => {
      const outside = writeModule('outside.js', handMade({ name: 'payments', ids: ['billing.charge'] }));
      assert.equal(
        loadError(outside).message,
        `pack "payments" 1.0.0 (FLOW_ACTION_PACKS entry "./outside.js") is not valid: the action id "billing.charge" is outside the pack's namespace: a pack named "payments" may only define "payments.*"`,
      );
      const badName = writeModule('bad-name.js', handMade({ name: 'Payments', ids: ['Payments.charge'] }));
      assert.equal(
        loadError(badName).message,
        `pack "Payments" 1.0.0 (FLOW_ACTION_PACKS entry "./bad-name.js") is not valid: its name "Payments" is not a pack name: use lower-case letters, digits and _, starting with a letter (such as "payments")`,
      );
      const reserved = writeModule('reserved.js', handMade({ name: 'flow', ids: ['flow.mine'] }));
      assert.match(
        loadError(reserved).message,
        /is not valid: the name "flow" is the built-in pack's; choose another$/,
      );
      const future = writeModule(
        'future.js',
        handMade({ name: 'payments', ids: ['payments.charge'], sdkVersion: '2.0.0' }),
      );
      assert.match(
        loadError(future).message,
        /is not valid: it was defined with Flow SDK 2\.0\.0, and this is SDK 1\.\d+\.\d+: build it against SDK 1\.x$/,
      );
    });

    it('refuses one action id in two packs, naming both', () => {
      const first = writeModule(
        'payments-1.js',
        `module.exports = defineActionPack({ name: 'payments', version: '1.0.0', actions: [action('payments.charge')] });\n`,
      );
      const second = writeModule(
        'payments-2.js',
        `module.exports = defineActionPack({ name: 'payments', version: '1.1.0', actions: [action('payments.refund'), action('payments.charge')] });\n`,
      );
      const error = loadError(first, second);
      assert.equal(error.source, './payments-2.js');
      assert.equal(
        error.message,
        'the action id "payments.charge" is defined by two packs: pack "payments" 1.0.0 (FLOW_ACTION_PACKS entry "./payments-1.js") and pack "payments" 1.1.0 (FLOW_ACTION_PACKS entry "./payments-2.js"); load only one of them',
      );
      const other = writeModule(
        'payments-3.js',
        `module.exports = defineActionPack({ name: 'payments', version: '1.2.0', actions: [action('payments.void')] });\n`,
      );
      assert.equal(
        loadError(first, other).message,
        'the pack "payments" is loaded twice: as pack "payments" 1.0.0 (FLOW_ACTION_PACKS entry "./payments-1.js") and as pack "payments" 1.2.0 (FLOW_ACTION_PACKS entry "./payments-3.js"); load only one of them',
      );
    });

    it("refuses an id that is a built-in action's", () => {
      const jira = writeModule(
        'jira.js',
        `module.exports = defineActionPack({ name: 'jira', version: '1.0.0', actions: [action('jira.create_issue'), action('jira.comment')] });\n`,
      );
      assert.equal(
        loadError(jira).message,
        'pack "jira" 1.0.0 (FLOW_ACTION_PACKS entry "./jira.js") defines "jira.comment", which is a built-in action\'s id; built-in ids cannot be replaced, so rename the pack\'s action',
      );
    });

    it('loads the template in examples/action-pack, whose examples are valid steps', () => {
      const [webhooks] = loadActionPacks(['./examples/action-pack'], { cwd: projectRoot });
      assert.ok(webhooks);
      assert.equal(webhooks.file, path.join(projectRoot, 'examples/action-pack/index.ts'));
      for (const packAction of webhooks.pack.actions) {
        for (const example of packAction.examples) assert.deepEqual(exampleStepErrors(packAction, example), []);
      }
    });
  });

  describe('FLOW_ACTION_PACKS', () => {
    const parse = (value: string): readonly string[] => parseActionPacks({ FLOW_ACTION_PACKS: value });
    const configError = (value: string): ConfigError => {
      try {
        parse(value);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, 'FLOW_ACTION_PACKS');
        return error;
      }
      return assert.fail(`${value} was accepted`);
    };

    it('lists module specifiers and paths, separated by commas, in the worker configuration', () => {
      assert.deepEqual(parse(' @acme/flow-payments, ./packs/deploy ,/opt/packs/x '), [
        '@acme/flow-payments',
        './packs/deploy',
        '/opt/packs/x',
      ]);
      assert.deepEqual(loadConfig({ FLOW_ACTION_PACKS: 'a,./b' }).worker.actionPacks, ['a', './b']);
      assert.equal(loadConfig({}).worker.actionPacks, undefined);
      assert.deepEqual(parse('  '), []);
    });

    it('refuses empty entries, spaces, URLs and repeated entries', () => {
      assert.match(configError('a,,b').message, /has an empty entry \(two commas in a row, or one at an end\)/);
      assert.match(configError('a,').message, /has an empty entry/);
      assert.match(configError('pack-a pack-b').message, /entry "pack-a pack-b" contains a space; separate entries/);
      assert.match(configError('https://packs.example/p.js').message, /is a URL; name an installed package or a path/);
      assert.match(configError('./a,./a').message, /lists "\.\/a" twice; list each pack once/);
    });
  });

  describe('a worker with a pack', () => {
    const token = 'greetings-token-5f2c9e';

    it('runs a definition that mixes built-in and pack actions, scrubbing the pack secret from history', async function () {
      this.timeout(60_000);
      const packs = loadActionPacks(['./test/fixtures/action-packs/greetings'], { cwd: projectRoot });
      const catalog = actionsById(workerActions(actions, packs));
      const raw = {
        id: 'greet-with-pack',
        name: 'Greet with a pack',
        on: [{ source: 'test', type: 'greet' }],
        steps: [
          { id: 'greet', action: 'greetings.hello', with: { name: '${{ event.user }}' } },
          {
            id: 'remember',
            action: 'flow.set',
            with: {
              said: '${{ steps.greet.output.greeting }}',
              pid: '${{ steps.greet.output.pid }}',
              step: '${{ steps.greet.output.step }}',
              token: '${{ steps.greet.output.token }}',
            },
          },
        ],
      };
      // The built-in actions alone do not know it; the gateway learns it from the registry (see below).
      const builtInOnly = validateDefinition(raw, actionsById());
      assert.ok(!builtInOnly.ok);
      assert.match(JSON.stringify(builtInOnly.errors), /greetings\.hello/);
      const validated = validateDefinition(raw, catalog);
      assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));

      const config = testConfig();
      const mongo = openMongo({
        uri: config.mongodb.uri,
        database: `${config.mongodb.database}_${uniqueName('packs').replace(/-/g, '_')}`,
      });
      const store = new DefinitionStore(mongo, catalog);
      const taskQueue = uniqueName('packs');
      const { client, connection } = await connectClient();
      const workerConnection = await connectWorker();
      try {
        await store.save(validated.definition, { format: 'json' });
        const worker = await createWorker({
          connection: workerConnection,
          namespace: config.temporal.namespace,
          taskQueue,
          client,
          registry: store,
          env: { GREETINGS_TOKEN: token },
          workflowBundle: await flowBundle(),
          actionPacks: packs,
        });
        const { runId, result } = await worker.runUntil(async () => {
          const accepted = await acceptEvent(
            { client, taskQueue },
            { source: 'test', type: 'greet', body: { user: 'Ada' } },
          );
          const dispatch = (await client.workflow.getHandle(accepted.workflowId).result()) as DispatchResult;
          const run = dispatch.matched[0];
          assert.ok(run, JSON.stringify(dispatch.skipped));
          return {
            runId: run.workflowId,
            result: (await client.workflow.getHandle(run.workflowId).result()) as RunResult,
          };
        });
        assert.deepEqual(
          result.steps.map(({ id, action: used, status }) => [id, used, status]),
          [
            ['greet', 'greetings.hello', 'completed'],
            ['remember', 'flow.set', 'completed'],
          ],
        );
        assert.deepEqual(result.vars, { said: 'Hello, Ada!', pid: process.pid, step: 'greet', token: '[redacted]' });
        const history = historyText(await client.workflow.getHandle(runId).fetchHistory());
        assert.ok(history.includes('Hello, Ada!'), 'the history holds the pack step output');
        assert.ok(history.includes('"token":"[redacted]"'), 'the pack step output is recorded scrubbed');
        assert.ok(!history.includes(token), 'the pack secret is not in the history');
      } finally {
        await workerConnection.close();
        await connection.close();
        await mongo.db.dropDatabase().catch(() => undefined);
        await mongo.close();
      }
    });

    it('refuses at creation a pack whose id a built-in action has', async () => {
      const jira = defineActionPack({ name: 'jira', version: '1.0.0', actions: [action('jira.comment')] });
      const { client, connection } = await connectClient();
      const workerConnection = await connectWorker();
      try {
        await assert.rejects(
          createWorker({
            connection: workerConnection,
            namespace: testConfig().temporal.namespace,
            taskQueue: uniqueName('packs'),
            client,
            registry: { findForEvent: () => Promise.reject(new Error('unused')) },
            env: {},
            workflowBundle: await flowBundle(),
            actionPacks: [{ pack: jira, source: 'in-test', file: 'in-test' }],
          }),
          /pack "jira" 1\.0\.0 \(FLOW_ACTION_PACKS entry "in-test"\) defines "jira\.comment", which is a built-in action's id/,
        );
      } finally {
        await workerConnection.close();
        await connection.close();
      }
    });
  });

  describe('the catalog in the registry', () => {
    const token = 'greetings-token-3b9d17';
    const routedPack = './test/fixtures/action-packs/greetings-routed';
    const started: ManagedProcess[] = [];
    const databases: MongoHandle[] = [];
    let logDir: string;
    before(() => {
      logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-pack-workers-'));
    });
    afterEach(async () => {
      await Promise.all(started.splice(0).map((worker) => worker.stop()));
      for (const mongo of databases.splice(0)) {
        await mongo.db.dropDatabase().catch(() => undefined);
        await mongo.close();
      }
    });
    after(() => fs.rmSync(logDir, { recursive: true, force: true }));

    /** A database of the test's own. */
    function openDatabase(): MongoHandle {
      const config = testConfig();
      const mongo = openMongo({
        uri: config.mongodb.uri,
        database: `${config.mongodb.database}_${uniqueName('catalog').replace(/-/g, '_')}`,
      });
      databases.push(mongo);
      return mongo;
    }

    /** `npm run start:worker` with only the routed greetings pack, on `packQueue`, publishing to `mongo`'s database. */
    function startPackWorker(mongo: MongoHandle, packQueue: string, uri = testConfig().mongodb.uri): ManagedProcess {
      const worker = startEntryPoint(
        'workers/main.ts',
        {
          MONGODB_URI: withDatabase(uri, mongo.db.databaseName),
          FLOW_WORKER_WORKFLOWS: 'off',
          FLOW_TASK_QUEUE: packQueue,
          FLOW_ACTION_PACKS: routedPack,
          GREETINGS_TASK_QUEUE: packQueue,
          GREETINGS_TOKEN: token,
        },
        { logFile: path.join(logDir, `${uniqueName('worker')}.log`) },
      );
      started.push(worker);
      return worker;
    }

    it('validates and lists a pack action a worker process published, without the pack in the gateway, and routes its steps', async function () {
      this.timeout(150_000);
      const mongo = openDatabase();
      const packQueue = uniqueName('greetings-q');
      const mainQueue = uniqueName('flow-main');
      const packWorker = startPackWorker(mongo, packQueue);
      await packWorker.waitForMessage(isReadyMessage, 120_000);
      assert.match(packWorker.logTail(), /published action pack "greetings" 0\.4\.0 to the registry/);

      // The gateway, as gateway/main.ts wires it: the built-in actions, and the registry for the rest.
      const catalogStore = new ActionCatalogStore(mongo);
      const catalog = new ActionCatalog(actionsById(), catalogStore, { taskQueue: mainQueue });
      assert.deepEqual([...catalog.keys()], [...actionsById().keys()], 'the gateway holds only the built-in actions');
      assert.ok(
        !Object.keys(require.cache).some((file) => file.includes('greetings-routed')),
        'the pack module was never loaded in this process',
      );
      const { client, connection } = await connectClient();
      const workerConnection = await connectWorker();
      try {
        const store = new DefinitionStore(mongo, catalog);
        const app = createApp({
          health: {},
          apiToken: 'catalog-test-token-0123456789',
          store,
          catalog,
          intake: { client, taskQueue: mainQueue },
          webhooks: { adapters: [], env: {} },
        });
        const auth = 'Bearer catalog-test-token-0123456789';

        const listed = await request(app).get('/api/actions').set('Authorization', auth);
        assert.equal(listed.status, 200);
        const hello = listed.body.actions.find(({ id }: { id: string }) => id === 'greetings.hello');
        assert.ok(hello, 'GET /api/actions lists the pack action');
        assert.equal(hello.pack, 'greetings');
        assert.equal(hello.packVersion, '0.4.0');
        assert.equal(hello.taskQueue, packQueue);
        assert.deepEqual(hello.env, ['GREETINGS_TOKEN']);
        assert.deepEqual(hello.input.required, ['name']);
        assert.ok(listed.body.actions.some(({ id }: { id: string }) => id === 'http.request'));

        const definition = (withValue: Record<string, unknown>) => ({
          id: 'greet-from-registry',
          name: 'Greet with a published pack',
          on: [{ source: 'test', type: 'greet_registry' }],
          steps: [
            { id: 'greet', action: 'greetings.hello', with: withValue },
            { id: 'remember', action: 'flow.set', with: { pid: '${{ steps.greet.output.pid }}' } },
          ],
        });
        const refused = await request(app)
          .put('/api/definitions/greet-from-registry')
          .set('Authorization', auth)
          .send(definition({ name: '', loud: true }));
        assert.equal(refused.status, 422, JSON.stringify(refused.body));
        assert.deepEqual(refused.body.errors, [
          { path: 'steps[0].with', message: 'Unrecognized key: "loud"' },
          { path: 'steps[0].with.name', message: 'must NOT have fewer than 1 characters' },
        ]);
        const saved = await request(app)
          .put('/api/definitions/greet-from-registry')
          .set('Authorization', auth)
          .send(definition({ name: '${{ event.user }}' }));
        assert.equal(saved.status, 201, JSON.stringify(saved.body));

        // A Flow worker that did not load the pack, as workers/main.ts wires it: the published queue routes the step.
        const local = actionsById();
        const registry = new DefinitionStore(mongo, local, {
          actionQueues: actionQueues(actions, [], mainQueue),
          publishedActions: new ActionCatalog(local, catalogStore, { taskQueue: mainQueue }),
        });
        const main = await createWorker({
          connection: workerConnection,
          namespace: testConfig().temporal.namespace,
          taskQueue: mainQueue,
          client,
          registry,
          env: {},
          workflowBundle: await flowBundle(),
        });
        const result = await main.runUntil(async () => {
          const accepted = await acceptEvent(
            { client, taskQueue: mainQueue },
            { source: 'test', type: 'greet_registry', body: { user: 'Ada' } },
          );
          const dispatch = (await client.workflow.getHandle(accepted.workflowId).result()) as DispatchResult;
          const run = dispatch.matched[0];
          assert.ok(run, JSON.stringify(dispatch.skipped));
          return (await client.workflow.getHandle(run.workflowId).result()) as RunResult;
        });
        assert.deepEqual(result.vars, { pid: packWorker.pid });
      } finally {
        await workerConnection.close();
        await connection.close();
      }
    });

    it('waits for MongoDB to publish, saying so, and starts once it answers', async function () {
      this.timeout(150_000);
      const outage = await StoppableMongo.start();
      try {
        await outage.outage();
        const worker = startPackWorker(outage.handle, uniqueName('greetings-q'), outage.uri);
        await eventually(
          () => (/is not answering .*; waiting for it, retrying every 2s/.test(worker.logTail()) ? true : undefined),
          60_000,
          'the worker to say it waits for MongoDB',
        );
        assert.match(worker.logTail(), /MongoDB at mongodb:\/\/127\.0\.0\.1:\d+\/flow \(to publish the action packs\)/);
        assert.ok(worker.running, 'the worker waits rather than exits');
        await outage.resume();
        await worker.waitForMessage(isReadyMessage, 120_000);
        assert.deepEqual(
          (await new ActionCatalogStore(outage.handle).list()).map(({ id, packVersion }) => [id, packVersion]),
          [['greetings.hello', '0.4.0']],
        );
      } finally {
        await Promise.all(started.splice(0).map((worker) => worker.stop()));
        await outage.stop();
      }
    });

    it('refuses to start a worker whose pack publishes an id another pack holds, naming both', async function () {
      this.timeout(120_000);
      const mongo = openDatabase();
      await new ActionCatalogStore(mongo).publish({
        name: 'salutations',
        version: '2.0.0',
        actions: describeActions([greetingsHello]),
      });
      const worker = startPackWorker(mongo, uniqueName('greetings-q'));
      const status = await worker.exited;
      assert.equal(status.code, 1, worker.logTail());
      assert.match(
        worker.logTail(),
        /\[worker\] cannot start: pack "greetings" 0\.4\.0 cannot publish the action "greetings\.hello": the registry holds "greetings\.hello" for another pack, "salutations" 2\.0\.0, with its own schema\. An action id belongs to one pack; rename the action in one of the packs \(FLOW_ACTION_PACKS entry "\.\/test\/fixtures\/action-packs\/greetings-routed"\)/,
      );
    });
  });
});
