import assert from 'node:assert/strict';
import { MongoServerError } from 'mongodb';
import type { MongoHandle } from '../../registry';
import { openTestMongo, uniqueName } from '../support/stack';

describe('smoke: MongoDB-wire store', () => {
  let mongo: MongoHandle;
  before(() => {
    mongo = openTestMongo();
  });
  after(() => mongo.close());

  it('round-trips a document through the real driver and server', async () => {
    const collection = mongo.db.collection<{
      _id: string;
      name: string;
      steps: { id: string; action: string }[];
      revision: number;
    }>(uniqueName('smoke'));
    const doc = {
      _id: 'release-1',
      name: 'Start release',
      steps: [{ id: 'version', action: 'http.request' }],
      revision: 3,
    };
    await collection.insertOne(doc);
    assert.deepEqual(await collection.findOne({ _id: 'release-1' }), doc);
    await collection.drop();
  });

  it('supports the features the registry relies on: unique indexes and findOneAndUpdate upserts', async () => {
    const collection = mongo.db.collection<{ _id: string; key: string; n?: number }>(uniqueName('smoke'));
    await collection.createIndex({ key: 1 }, { unique: true });
    await collection.insertOne({ _id: 'a', key: 'k1' });
    const duplicate = await collection.insertOne({ _id: 'b', key: 'k1' }).catch((error: unknown) => error);
    assert.ok(duplicate instanceof MongoServerError);
    assert.equal(duplicate.code, 11000);

    const first = await collection.findOneAndUpdate(
      { _id: 'counter' },
      { $inc: { n: 1 }, $setOnInsert: { key: 'k2' } },
      { upsert: true, returnDocument: 'after' },
    );
    const second = await collection.findOneAndUpdate(
      { _id: 'counter' },
      { $inc: { n: 1 } },
      { returnDocument: 'after' },
    );
    assert.equal(first?.n, 1);
    assert.equal(second?.n, 2);
    await collection.drop();
  });
});
