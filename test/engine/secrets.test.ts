import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { projectRoot } from '../../config';
import { isReadyMessage, ManagedProcess } from '../../devstack/managed-process';
import { findFreePort } from '../../devstack/ports';
import { withDatabase } from '../support/global-fixture';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { PREPRODUCTION_ARTIFACTS, ReleaseWorld } from '../support/release-world';
import { testConfig, uniqueName } from '../support/stack';

/** The name of the named API token; its value must stay as hidden as any other token's. */
const BOT = 'release-bot@example.com';

/** A value no code path could produce by accident, so any occurrence of it is a leak. */
const plant = (what: string): string => `planted-${what}-${randomBytes(12).toString('hex')}`;

/** Starts a Flow entry point (the real worker or gateway) with its output in a log file, and waits until it is ready. */
async function startFlowProcess(entry: string, env: NodeJS.ProcessEnv, logDir: string): Promise<ManagedProcess> {
  const name = path.basename(entry, '.ts');
  const child = ManagedProcess.start(name, process.execPath, ['--require', 'tsx/cjs', path.join(projectRoot, entry)], {
    cwd: projectRoot,
    env,
    output: { logFile: path.join(logDir, `${name}.log`) },
    ipc: true,
  });
  await child.waitForMessage(isReadyMessage, 120_000);
  return child;
}

const logOf = (child: ManagedProcess): string => readFileSync(child.logPath!, 'utf8');

/**
 * Secrets never leak: the release use case runs through the real worker and gateway processes with planted
 * credentials (peer tokens, SMTP password, FLOW_SECRET_*, webhook secrets, API tokens), plus a step whose peer
 * rejects its credentials and one whose peer echoes them back. Then every workflow history, every log line of both
 * processes, every stored document and every API response is searched for the planted values.
 */
describe('security: planted secrets appear in no history, log, stored document or API response', function () {
  this.timeout(240_000);
  const secrets = {
    jira: plant('jira'),
    jenkins: plant('jenkins'),
    slack: `xoxb-${plant('slack')}`,
    smtp: plant('smtp'),
    tracker: plant('tracker'),
    apiToken: plant('api'),
    readToken: plant('read'),
    namedToken: plant('named'),
    jiraWebhook: plant('jira-webhook'),
    jenkinsWebhook: plant('jenkins-webhook'),
    slackSigning: plant('slack-signing'),
  };
  const taskQueue = uniqueName('secrets');
  const database = `flow_secrets_${randomBytes(4).toString('hex')}`;
  const responses: string[] = [];
  let world: ReleaseWorld;
  let tracker: HttpReceiver;
  let worker: ManagedProcess;
  let gateway: ManagedProcess;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'flow-secrets-'));
  let base: string;
  let connection: Connection;
  let client: Client;
  let mongo: MongoClient;

  /** Calls the gateway and keeps the whole response (status line, headers, body) for the final scan. */
  async function call(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: string; token?: string } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    const text = await res.text();
    responses.push(`${method} ${url} ${res.status}\n${JSON.stringify([...res.headers])}\n${text}`);
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // /metrics is text
    }
    return { status: res.status, json };
  }

  before(async () => {
    world = await ReleaseWorld.start({
      jiraToken: secrets.jira,
      jenkinsToken: secrets.jenkins,
      slackToken: secrets.slack,
      smtpPassword: secrets.smtp,
    });
    tracker = await HttpReceiver.start();
    // The tracker accepts the right token, rejects others, and echoes the Authorization header it got at /echo.
    tracker.respondWith((req) => {
      if (req.path === '/echo') return { status: 200, body: { youSent: req.headers.authorization } };
      if (req.path === '/forbidden')
        return { status: 403, body: { error: `token ${req.headers.authorization} refused` } };
      return undefined;
    });
    const config = testConfig();
    const mongoUri = withDatabase(config.mongodb.uri, database);
    const common: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_NAMESPACE: config.temporal.namespace,
      MONGODB_URI: mongoUri,
      FLOW_TASK_QUEUE: taskQueue,
    };
    const [gatewayPort, metricsPort] = await Promise.all([findFreePort(), findFreePort()]);
    worker = await startFlowProcess(
      'workers/main.ts',
      {
        ...common,
        ...world.workerEnv(),
        FLOW_SECRET_TRACKER_TOKEN: secrets.tracker,
        FLOW_SECRET_TRACKER_TOKEN_ORIGINS: tracker.url,
        FLOW_LOG_LEVEL: 'DEBUG',
        FLOW_WORKER_METRICS_PORT: String(metricsPort),
      },
      logDir,
    );
    gateway = await startFlowProcess(
      'gateway/main.ts',
      {
        ...common,
        PORT: String(gatewayPort),
        FLOW_API_TOKEN: secrets.apiToken,
        FLOW_API_TOKENS: `read:${secrets.readToken}, ${BOT}:write:${secrets.namedToken}`,
        FLOW_WEBHOOK_SECRET_JIRA: secrets.jiraWebhook,
        FLOW_WEBHOOK_SECRET_JENKINS: secrets.jenkinsWebhook,
        FLOW_SLACK_SIGNING_SECRET: secrets.slackSigning,
        FLOW_HTTP_LOG_LEVEL: 'debug',
      },
      logDir,
    );
    base = `http://127.0.0.1:${gatewayPort}`;
    connection = await Connection.connect({ address: config.temporal.address });
    client = new Client({ connection, namespace: config.temporal.namespace });
    mongo = new MongoClient(mongoUri);
    responses.push(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  });

  after(async () => {
    await Promise.allSettled([gateway?.stop(), worker?.stop()]);
    await mongo
      ?.db(database)
      .dropDatabase()
      .catch(() => undefined);
    await Promise.allSettled([mongo?.close(), connection?.close(), tracker?.stop(), world?.stop()]);
    rmSync(logDir, { recursive: true, force: true });
  });

  it('runs the release train, a rejected credential and an echoed one, and finds no planted value anywhere', async () => {
    for (const { id, yaml } of world.examples()) {
      const saved = await call('PUT', `/api/definitions/${id}`, {
        token: secrets.apiToken,
        headers: { 'content-type': 'application/yaml' },
        body: yaml,
      });
      assert.equal(saved.status, 201, JSON.stringify(saved.json));
    }
    const probe = {
      id: 'tracker-probe',
      name: 'Tracker probe',
      on: [{ source: 'tracker', type: 'probe' }],
      steps: [
        {
          id: 'echo',
          action: 'http.request',
          with: { url: `${tracker.url}/echo`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
        },
        {
          id: 'refused',
          action: 'http.request',
          with: { url: `${tracker.url}/forbidden`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
        },
      ],
    };
    const savedProbe = await call('PUT', '/api/definitions/tracker-probe', {
      token: secrets.namedToken,
      headers: { 'x-flow-change-message': 'Probe the tracker' },
      body: JSON.stringify(probe),
    });
    assert.equal(savedProbe.status, 201, JSON.stringify(savedProbe.json));

    // Jira's signed webhook starts the release; Jenkins' token-authenticated one finishes it.
    const jiraBody = JSON.stringify(jiraTransition('REL-100', 'In Progress', 'Start Release'));
    const signature = `sha256=${createHmac('sha256', secrets.jiraWebhook).update(jiraBody).digest('hex')}`;
    const started = await call('POST', '/webhooks/jira', {
      headers: { 'x-hub-signature': signature, 'x-atlassian-webhook-identifier': uniqueName('jira') },
      body: jiraBody,
    });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const release = await waiting(started.json['workflowId'] as string);
    await call('GET', '/api/trains', { token: secrets.readToken });
    await call('GET', '/api/trains/release-REL', { token: secrets.readToken });

    const build = jenkinsFinished(world);
    const finishedBuild = await call('POST', '/webhooks/jenkins', {
      headers: { 'x-flow-token': secrets.jenkinsWebhook },
      body: JSON.stringify(build),
    });
    assert.equal(finishedBuild.status, 202, JSON.stringify(finishedBuild.json));
    const delivered = (await client.workflow.getHandle(finishedBuild.json['workflowId'] as string).result()) as {
      waits?: { delivered: { workflowId: string }[] };
    };
    assert.deepEqual(
      delivered.waits?.delivered.map((wait) => wait.workflowId),
      [release],
    );
    await client.workflow
      .getHandle(release)
      .result()
      .catch(() => undefined);
    assert.equal((await client.workflow.getHandle(release).describe()).status.name, 'COMPLETED');
    assert.equal(world.smtp.received.length, 1, 'the release train ran to its email');

    const probed = await call('POST', '/events/tracker/probe', { token: secrets.namedToken, body: '{}' });
    assert.equal((await finished(probed.json['workflowId'] as string)).status, 'FAILED');
    assert.equal(
      tracker.requests.filter((req) => req.headers.authorization === secrets.tracker).length,
      2,
      'the secret header really was sent, to /echo and to /forbidden (a 403 is not retried)',
    );

    // Reads, plans and refusals, each kept for the scan.
    await call('GET', '/api/definitions', { token: secrets.readToken });
    await call('GET', '/api/definitions/tracker-probe', { token: secrets.readToken });
    await call('GET', '/api/definitions/tracker-probe/revisions', { token: secrets.readToken });
    await call('GET', '/api/definitions/release?format=yaml', { token: secrets.readToken });
    await call('GET', '/api/actions', { token: secrets.readToken });
    await call('POST', '/api/plan', {
      token: secrets.readToken,
      body: JSON.stringify({ source: 'jira', type: 'issue_transitioned', body: { to: 'Start Release' } }),
    });
    assert.equal((await call('DELETE', '/api/definitions/tracker-probe', { token: secrets.readToken })).status, 403);
    assert.equal((await call('GET', '/api/definitions', { token: `${secrets.apiToken}x` })).status, 401);
    const forged = await call('POST', '/webhooks/jira', {
      headers: { 'x-hub-signature': `sha256=${'0'.repeat(64)}` },
      body: jiraBody,
    });
    assert.equal(forged.status, 401);
    assert.equal(
      (await call('POST', '/webhooks/jenkins', { headers: { 'x-flow-token': 'wrong' }, body: '{}' })).status,
      401,
    );
    // A signed Slack click (for a run that is not waiting; it is answered with a refusal) and a forged one.
    const click = new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0SECRETS' },
        actions: [{ action_id: 'flow_approve', value: JSON.stringify({ w: 'release-none', s: 'go_live' }) }],
      }),
    }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const slackSignature = `v0=${createHmac('sha256', secrets.slackSigning).update(`v0:${timestamp}:${click}`).digest('hex')}`;
    const slackHeaders = {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
    };
    assert.equal(
      (
        await call('POST', '/webhooks/slack/interactions', {
          headers: { ...slackHeaders, 'x-slack-signature': slackSignature },
          body: click,
        })
      ).status,
      200,
    );
    assert.equal(
      (
        await call('POST', '/webhooks/slack/interactions', {
          headers: { ...slackHeaders, 'x-slack-signature': 'v0=00' },
          body: click,
        })
      ).status,
      401,
    );
    await call('GET', '/healthz');
    await call('GET', '/metrics');

    // Every history on the task queue: dispatchers and runs.
    const histories: string[] = [];
    for await (const execution of client.workflow.list({ query: `TaskQueue="${taskQueue}"` })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      histories.push(historyToJSON(history));
    }
    assert.ok(histories.length >= 5, `expected 3 dispatchers and 2 runs, found ${histories.length} histories`);
    // Payloads are base64 in the JSON form; decode them so a secret inside a payload is found too.
    const decoded = histories.map((json) =>
      json.replace(/"data": ?"([A-Za-z0-9+/=]+)"/g, (_all, data: string) =>
        Buffer.from(data, 'base64').toString('utf8'),
      ),
    );
    assert.ok(
      decoded.some((text) => text.includes('"secret_headers":{"Authorization":"TRACKER_TOKEN"}')),
      'payloads are decoded, so the scan sees inputs and results',
    );
    assert.ok(
      decoded.some((text) => text.includes('"youSent":"[redacted]"')),
      'the echoing step completed, with the echoed token replaced',
    );
    const stored = JSON.stringify(
      await Promise.all(
        (await mongo.db(database).collections()).map(async (collection) => collection.find({}).toArray()),
      ),
    );
    assert.ok(stored.includes('TRACKER_TOKEN'), 'the stored definitions name the secret, by name only');
    // The named token acted, and is known by its name only.
    assert.ok(stored.includes(`"author":"${BOT}"`), "the probe's revision names the token that saved it");
    assert.ok(
      decoded.some((text) => text.includes(`"actor":"${BOT}"`)),
      "the probe's dispatcher was handed the token's name as the event's actor",
    );

    await Promise.allSettled([gateway.stop(), worker.stop()]);
    const places: Record<string, string> = {
      'workflow histories': decoded.join('\n'),
      'worker log': logOf(worker),
      'gateway log': logOf(gateway),
      'API responses': responses.join('\n'),
      'MongoDB documents': stored,
    };
    assert.ok(logOf(worker).length > 0 && logOf(gateway).includes('"url":"/webhooks/jira"'), 'logs were captured');
    const hits: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const [name, value] of Object.entries(secrets)) {
        if (text.includes(value)) hits.push(`${name} in ${place}: …${context(text, value)}…`);
      }
    }
    assert.deepEqual(hits, []);
  });

  /** Resolves with the release run an event started, once it waits for its preproduction build. */
  async function waiting(dispatcherWorkflowId: string): Promise<string> {
    const dispatch = (await client.workflow.getHandle(dispatcherWorkflowId).result()) as {
      matched: { workflowId: string }[];
    };
    assert.equal(dispatch.matched.length, 1, JSON.stringify(dispatch));
    const run = client.workflow.getHandle(dispatch.matched[0]!.workflowId);
    await eventually(
      async () =>
        /Waiting for jenkins\/build_finished/.test(
          (await run.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails,
        )
          ? true
          : undefined,
      60_000,
      'the release to wait for its build',
    );
    return run.workflowId;
  }

  async function finished(workflowId: string): Promise<{ status: string }> {
    const dispatch = (await client.workflow.getHandle(workflowId).result()) as { matched: { workflowId: string }[] };
    assert.equal(dispatch.matched.length, 1, JSON.stringify(dispatch));
    const handle = client.workflow.getHandle(dispatch.matched[0]!.workflowId);
    await handle.result().catch(() => undefined);
    return { status: (await handle.describe()).status.name };
  }
});

function context(text: string, value: string): string {
  const at = text.indexOf(value);
  return text.slice(Math.max(0, at - 120), at + value.length + 40).replace(/\s+/g, ' ');
}

function fixture(name: string): Record<string, unknown> {
  const file = path.join(projectRoot, 'test', 'gateway', 'fixtures', 'webhooks', `${name}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Jira's admin webhook for an issue moving between two statuses. */
function jiraTransition(issue: string, from: string, to: string): Record<string, unknown> {
  const body = fixture('jira-issue-updated-status');
  (body['issue'] as { key: string }).key = issue;
  const items = (body['changelog'] as { items: { field: string; fromString: string; toString: string }[] }).items;
  const status = items.find((item) => item.field === 'status')!;
  status.fromString = from;
  status.toString = to;
  return body;
}

/**
 * Jenkins' FINALIZED notification for a successful preproduction build of the release, which the world's Jenkins
 * then serves with its artifacts. Jenkins sends no delivery id, so Flow dedupes on the body: the build number is
 * random so that a rerun of this test is not taken for a redelivery.
 */
function jenkinsFinished(world: ReleaseWorld): Record<string, unknown> {
  const body = fixture('jenkins-finalized');
  body['name'] = 'shop-preproduction';
  body['url'] = 'job/shop-preproduction/';
  const build = body['build'] as Record<string, unknown>;
  const number = 1 + randomBytes(3).readUIntBE(0, 3);
  const parameters = { BRANCH: 'release/2.4.0', VERSION: '2.4.0', RELEASE_TICKET: 'REL-100' };
  world.jenkins.addBuild('shop-preproduction', { number, artifacts: PREPRODUCTION_ARTIFACTS }, parameters);
  build['number'] = number;
  build['status'] = 'SUCCESS';
  build['full_url'] = world.jenkins.buildUrl('shop-preproduction', number);
  build['url'] = `job/shop-preproduction/${number}/`;
  build['parameters'] = parameters;
  return body;
}
