import assert from 'node:assert/strict';
import { actions, actionsById, describeActions, type AnyAction } from '../../activities';
import {
  ActionCatalog,
  ActionCatalogConflictError,
  ActionCatalogStore,
  ActionPublicationError,
  DefinitionStore,
  openMongo,
  validateDefinition,
  type MongoHandle,
  type PackPublication,
} from '../../registry';
import { defineAction, z } from '../../sdk';
import { testConfig, uniqueName } from '../support/stack';

const refund = defineAction({
  id: 'payments.refund',
  description: 'Refunds a payment.',
  input: z.strictObject({
    payment: z.string().min(1),
    amount_cents: z.number().int().positive(),
    lines: z.array(z.strictObject({ sku: z.string(), quantity: z.number().int() })).optional(),
    callback: z.url().optional(),
  }),
  output: z.object({ refund: z.string() }),
  env: ['PAYMENTS_TOKEN'],
  defaults: { timeout: '2m' },
  examples: [{ title: 'Refund an order', with: { payment: '${{ event.payment }}', amount_cents: 1200 } }],
  async run() {
    return { refund: 'r-1' };
  },
});

const charge = defineAction({
  id: 'payments.charge',
  description: 'Charges a payment.',
  input: z.strictObject({ amount_cents: z.number() }),
  output: z.object({}),
  examples: [],
  async run() {
    return {};
  },
});

const payments = (version: string, actions = [refund, charge], taskQueue?: string): PackPublication => ({
  name: 'payments',
  version,
  ...(taskQueue === undefined ? {} : { taskQueue }),
  actions: describeActions(actions),
});

describe('registry: the action catalog workers publish', () => {
  let mongo: MongoHandle;
  let store: ActionCatalogStore;
  beforeEach(() => {
    const config = testConfig();
    mongo = openMongo({
      uri: config.mongodb.uri,
      database: `${config.mongodb.database}_${uniqueName('catalog').replace(/-/g, '_')}`,
    });
    store = new ActionCatalogStore(mongo);
  });
  afterEach(async () => {
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('stores a pack’s descriptors and reads them back; publishing the same pack again changes nothing', async () => {
    assert.equal(await store.changeStamp(), null);
    assert.deepEqual(await store.publish(payments('1.0.0', [refund, charge], 'payments')), {
      changed: true,
      removed: [],
    });
    const listed = await store.list();
    assert.deepEqual(
      listed.map(({ id, pack, packVersion, taskQueue }) => [id, pack, packVersion, taskQueue]),
      [
        ['payments.charge', 'payments', '1.0.0', 'payments'],
        ['payments.refund', 'payments', '1.0.0', 'payments'],
      ],
    );
    const published = listed[1]!;
    const [described] = describeActions([refund]);
    assert.deepEqual(published, { ...described, pack: 'payments', packVersion: '1.0.0', taskQueue: 'payments' });
    // The JSON Schema keeps the keys FerretDB would refuse as field names.
    assert.equal((published.input as { $schema?: string }).$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(published.defaults, { timeout: '2m' });
    assert.deepEqual(published.env, ['PAYMENTS_TOKEN']);

    const stamp = await store.changeStamp();
    assert.ok(stamp);
    assert.deepEqual(await store.publish(payments('1.0.0', [refund, charge], 'payments')), {
      changed: false,
      removed: [],
    });
    assert.equal(await store.changeStamp(), stamp, 'an identical publication writes nothing');
  });

  it('refuses an id another pack holds, naming both packs and the id, and keeps the catalog as it was', async () => {
    await store.publish(payments('1.0.0'));
    const stamp = await store.changeStamp();
    const billing: PackPublication = { name: 'billing', version: '2.1.0', actions: describeActions([charge]) };
    await assert.rejects(store.publish(billing), (error: unknown) => {
      assert.ok(error instanceof ActionCatalogConflictError);
      assert.ok(error instanceof ActionPublicationError);
      assert.equal(error.id, 'payments.charge');
      assert.equal(
        error.message,
        'pack "billing" 2.1.0 cannot publish the action "payments.charge": the registry holds "payments.charge" for ' +
          'another pack, "payments" 1.0.0, with its own schema. An action id belongs to one pack; rename the action ' +
          'in one of the packs',
      );
      return true;
    });
    assert.deepEqual(
      (await store.list()).map(({ id, pack }) => [id, pack]),
      [
        ['payments.charge', 'payments'],
        ['payments.refund', 'payments'],
      ],
    );
    assert.equal(await store.changeStamp(), stamp);
  });

  it('replaces a pack’s descriptors with its new version and removes the ids it dropped', async () => {
    await store.publish(payments('1.0.0'));
    const changed = defineAction({
      id: 'payments.charge',
      description: 'Charges a payment, with a note.',
      input: z.strictObject({ amount_cents: z.number(), note: z.string() }),
      output: z.object({}),
      examples: [],
      async run() {
        return {};
      },
    });
    assert.deepEqual(await store.publish(payments('1.1.0', [changed], 'payments-v2')), {
      changed: true,
      replacedVersion: '1.0.0',
      removed: ['payments.refund'],
    });
    const listed = await store.list();
    assert.deepEqual(
      listed.map(({ id, packVersion, taskQueue }) => [id, packVersion, taskQueue]),
      [['payments.charge', '1.1.0', 'payments-v2']],
    );
    assert.deepEqual(Object.keys((listed[0]!.input as { properties: object }).properties), ['amount_cents', 'note']);
    // Another pack may now take the dropped id.
    const refunds: PackPublication = { name: 'refunds', version: '1.0.0', actions: describeActions([refund]) };
    assert.equal((await store.publish(refunds)).changed, true);
  });

  it('refuses an input schema that is not a usable JSON Schema', async () => {
    const [described] = describeActions([charge]);
    await assert.rejects(
      store.publish({
        name: 'payments',
        version: '1.0.0',
        actions: [{ ...described!, input: { type: 'object', properties: { a: { type: 'no-such-type' } } } }],
      }),
      (error: unknown) =>
        error instanceof ActionPublicationError &&
        /^pack "payments" 1\.0\.0 cannot publish "payments\.charge": its input schema is not a usable JSON Schema: /.test(
          error.message,
        ),
    );
    assert.deepEqual(await store.list(), []);
  });

  describe('ActionCatalog', () => {
    const raw = (withValue: Record<string, unknown>, action = 'payments.refund') => ({
      id: 'refund-on-event',
      name: 'Refund',
      on: [{ source: 'shop', type: 'returned' }],
      steps: [{ id: 'refund', action, with: withValue }],
    });
    const errorsOf = (catalog: ActionCatalog, withValue: Record<string, unknown>) => {
      const result = validateDefinition(raw(withValue), catalog);
      return result.ok ? [] : result.errors.map(({ path, message }) => `${path}: ${message}`);
    };

    it('validates a published action’s with by its JSON Schema, with the paths and expressions of built-in actions', async () => {
      await store.publish(payments('1.0.0'));
      const catalog = new ActionCatalog(actionsById(), store, { taskQueue: 'flow' });
      assert.equal(catalog.has('payments.refund'), false, 'nothing is read before the first refresh');
      await catalog.refresh();
      assert.equal(catalog.has('payments.refund'), true);
      assert.equal(catalog.get('http.request'), actionsById().get('http.request'), 'built-in actions stay as declared');

      const wrong = {
        payment: '',
        amount_cents: 1.5,
        lines: [{ sku: 'a', quantity: 1 }, { sku: 2 }],
        callback: 'not a url',
        extra: true,
      };
      assert.deepEqual(errorsOf(catalog, wrong), [
        'steps[0].with: Unrecognized key: "extra"',
        'steps[0].with.payment: must NOT have fewer than 1 characters',
        'steps[0].with.amount_cents: must be integer',
        'steps[0].with.lines[1].quantity: is required',
        'steps[0].with.lines[1].sku: must be string',
        'steps[0].with.callback: must match format "uri"',
      ]);
      // The same paths as the action's zod schema reports, in a catalog holding the pack's code.
      const pathsOf = (inCatalog: ReadonlyMap<string, AnyAction>): string[] => {
        const result = validateDefinition(raw(wrong), inCatalog);
        return result.ok ? [] : result.errors.map(({ path }) => path).sort();
      };
      assert.deepEqual(pathsOf(catalog), pathsOf(actionsById([...actions, refund])));
      // Values rendered at run time are not checked, wherever they are; the missing field is.
      assert.deepEqual(errorsOf(catalog, { payment: '${{ event.payment }}', lines: '${{ event.lines }}' }), [
        'steps[0].with.amount_cents: is required',
      ]);
      assert.deepEqual(errorsOf(catalog, { payment: 'p-1', amount_cents: '${{ event.cents }}' }), []);
      assert.deepEqual(
        errorsOf(catalog, { payment: 'p-1', amount_cents: 5, lines: [{ sku: '${{ event.sku }}', quantity: 1 }] }),
        [],
      );
    });

    it('sees a new publication on a forced refresh, and serves defaults and queues of actions it does not hold', async () => {
      const catalog = new ActionCatalog(actionsById(), store, { taskQueue: 'flow-main', maxAgeMs: 60_000 });
      await catalog.refresh();
      assert.deepEqual(errorsOf(catalog, { payment: 'p', amount_cents: 1 }), [
        'steps[0].action: unknown action "payments.refund"; GET /api/actions lists them',
      ]);
      await store.publish(payments('1.0.0'));
      await catalog.refresh();
      assert.equal(catalog.has('payments.refund'), false, 'within maxAgeMs the catalog is not read again');
      // A lookup of an id it does not know reads the registry again at once.
      const found = await catalog.lookUp(['payments.refund', 'payments.charge', 'nobody.there']);
      assert.deepEqual(Object.fromEntries(found), {
        'payments.refund': { taskQueue: 'flow-main', defaults: { timeout: '2m' } },
        'payments.charge': { taskQueue: 'flow-main' },
      });
      assert.deepEqual(errorsOf(catalog, { payment: 'p', amount_cents: 1 }), []);
      assert.deepEqual(
        catalog.publishedActions().map(({ id, pack, packVersion, taskQueue }) => [id, pack, packVersion, taskQueue]),
        [
          ['payments.charge', 'payments', '1.0.0', 'flow-main'],
          ['payments.refund', 'payments', '1.0.0', 'flow-main'],
        ],
      );

      // A Flow worker's registry that did not load the pack: snapshots carry its defaults and the queue.
      await store.publish(payments('1.1.0', [refund, charge], 'payments'));
      const definitions = new DefinitionStore(mongo, actionsById(), {
        actionQueues: new Map([['http.request', 'flow-main']]),
        publishedActions: new ActionCatalog(actionsById(), store, { taskQueue: 'flow-main' }),
      });
      const validated = validateDefinition(raw({ payment: 'p', amount_cents: 1 }), catalog);
      assert.ok(validated.ok);
      await definitions.save(validated.definition, { format: 'json' });
      const [snapshot] = await definitions.findForEvent('shop', 'returned');
      assert.deepEqual(snapshot?.actionQueues, { 'payments.refund': 'payments' });
      assert.deepEqual(snapshot?.actionDefaults, { 'payments.refund': { timeout: '2m' } });
    });
  });
});
