import assert from 'node:assert/strict';
import request from 'supertest';
import { actionsById } from '../../activities';
import { createApp } from '../../gateway/app';
import { temporalProbe, type HealthProbe } from '../../gateway/health';
import type { IntakeDeps } from '../../intake';
import { openMongo, pingMongo, type DefinitionStore, type MongoHandle } from '../../registry';
import { findFreePort } from '../../devstack/ports';
import { testConfig } from '../support/stack';

/** Probes wired exactly as gateway/main.ts wires them, against whatever addresses are given. */
function probesFor(temporal: HealthProbe, mongo: MongoHandle): Record<string, HealthProbe> {
  return { temporal, mongodb: () => pingMongo(mongo) };
}

/** /healthz touches only its probes; the rest of the gateway is never reached by these requests. */
const stubDeps = {
  apiToken: 'unused',
  catalog: actionsById(),
  store: unused<DefinitionStore>('store'),
  // Its task queue is a name the routers keep when the app is built; its client must never be reached.
  intake: unused<IntakeDeps>('intake', { taskQueue: 'flow' }),
  webhooks: { adapters: [], env: {} },
};

function unused<T extends object>(name: string, settings: Readonly<Record<string, string>> = {}): T {
  return new Proxy({} as T, {
    get: (_target, key) => {
      if (typeof key === 'string' && Object.hasOwn(settings, key)) return settings[key];
      throw new Error(`GET /healthz must not use the ${name}`);
    },
  });
}

describe('gateway: GET /healthz', () => {
  const opened: { close(): Promise<void> }[] = [];
  const temporalAt = (address: string): HealthProbe => {
    const { probe, close } = temporalProbe(address);
    opened.push({ close });
    return probe;
  };
  const mongoAt = (uri: string): MongoHandle => {
    const handle = openMongo({ uri, database: 'flow_test' });
    opened.push(handle);
    return handle;
  };
  after(async () => {
    await Promise.all(opened.map((resource) => resource.close()));
  });

  it('answers 200 {"temporal":"up","mongodb":"up"} when both real services answer', async () => {
    const config = testConfig();
    const app = createApp({
      health: probesFor(temporalAt(config.temporal.address), mongoAt(config.mongodb.uri)),
      ...stubDeps,
    });
    const res = await request(app).get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { temporal: 'up', mongodb: 'up' });
  });

  it('answers 503 problem+json naming MongoDB when it is unreachable', async () => {
    const config = testConfig();
    const closedPort = await findFreePort();
    const app = createApp({
      health: probesFor(temporalAt(config.temporal.address), mongoAt(`mongodb://127.0.0.1:${closedPort}/flow`)),
      ...stubDeps,
    });
    const res = await request(app).get('/healthz');
    assert.equal(res.status, 503);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual([res.body.status, res.body.temporal, res.body.mongodb], [503, 'up', 'down']);
    assert.match(res.body.detail, /^mongodb is down/);
  });

  it('answers 503 naming Temporal when its frontend is unreachable', async () => {
    const config = testConfig();
    const closedPort = await findFreePort();
    const app = createApp({
      health: probesFor(temporalAt(`127.0.0.1:${closedPort}`), mongoAt(config.mongodb.uri)),
      ...stubDeps,
    });
    const res = await request(app).get('/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual([res.body.temporal, res.body.mongodb], ['down', 'up']);
    assert.match(res.body.detail, /^temporal is down/);
  });

  it('answers unknown routes with a 404 problem that names the route', async () => {
    const res = await request(createApp({ health: {}, ...stubDeps })).get('/nope');
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.ok(res.body.detail.includes('GET /nope'));
  });
});
