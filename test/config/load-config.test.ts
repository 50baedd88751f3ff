import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  DEFAULTS,
  loadConfig,
  parseSubscriptionLinks,
  resolveApiToken,
  resolveSubscriptionLinkSecret,
} from '../../config';

describe('config: loadConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    assert.deepEqual(config, {
      temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'flow' },
      mongodb: { uri: 'mongodb://127.0.0.1:27017/flow', database: 'flow' },
      gateway: {
        port: 3000,
        rateLimitPerMinute: 600,
        httpLogLevel: 'info',
        apiTokens: [],
        allowUnsigned: [],
        temporalUiUrl: 'http://localhost:8233',
      },
      subscriptionLinks: { publicUrl: 'http://localhost:3000' },
      shutdownGraceMs: 30_000,
      worker: {
        identity: `${process.pid}@${os.hostname()}`,
        logLevel: 'WARN',
        metricsPort: 9464,
        workspaceSweepMinutes: 60,
        workspaceDir: path.join(os.tmpdir(), 'flow-workspaces', `${process.pid}@${os.hostname()}`),
        gitAllowFileUrls: false,
        workflows: true,
      },
    });
    assert.equal(config.temporal.address, DEFAULTS.temporalAddress);
  });

  it('reads every setting from its environment variable', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'releases',
      FLOW_TASK_QUEUE: 'flow-eu',
      MONGODB_URI: 'mongodb://user:secret@db.internal:27017/flowprod?authSource=admin',
      PORT: '8080',
      FLOW_LOG_LEVEL: 'info',
      FLOW_WORKER_METRICS_PORT: '9100',
      FLOW_WORKSPACE_SWEEP_MINUTES: '15',
      FLOW_HTTP_LOG_LEVEL: 'WARN',
      FLOW_API_TOKENS:
        'read:dashboard-token-0123, write:ci-token-0123456789, alice@example.com:write:alices-token-0123',
      FLOW_ALLOW_UNSIGNED: 'jenkins, gitlab',
      FLOW_WORKSPACE_DIR: '/srv/flow/workspaces',
      FLOW_GIT_ALLOW_FILE_URLS: 'yes',
      FLOW_TEMPORAL_UI_URL: 'https://temporal.example.com/ui/',
      FLOW_PUBLIC_URL: 'https://flow.example.com/release-bot/',
      FLOW_SUBSCRIPTION_LINK_SECRET: ' 0123456789abcdef0123456789abcdef ',
      FLOW_SHUTDOWN_GRACE: '2m',
      FLOW_WORKER_ID: 'worker-eu-1',
      FLOW_WORKER_MAX_ACTIVITIES: '20',
      FLOW_WORKER_CACHE_SIZE: '1000',
    });
    assert.equal(config.shutdownGraceMs, 120_000);
    assert.equal(config.worker.maxConcurrentActivities, 20);
    assert.equal(config.worker.maxCachedWorkflows, 1000);
    assert.equal(config.worker.identity, 'worker-eu-1');
    assert.deepEqual(config.temporal, {
      address: 'temporal.internal:7233',
      namespace: 'releases',
      taskQueue: 'flow-eu',
    });
    assert.equal(config.mongodb.database, 'flowprod');
    assert.equal(config.gateway.port, 8080);
    assert.equal(config.worker.logLevel, 'INFO');
    assert.equal(config.worker.metricsPort, 9100);
    assert.equal(config.worker.workspaceSweepMinutes, 15);
    assert.deepEqual(config.gateway.apiTokens, [
      { scope: 'read', token: 'dashboard-token-0123', name: 'token-1' },
      { scope: 'write', token: 'ci-token-0123456789', name: 'token-2' },
      { scope: 'write', token: 'alices-token-0123', name: 'alice@example.com' },
    ]);
    assert.equal(config.gateway.httpLogLevel, 'warn');
    assert.deepEqual(config.gateway.allowUnsigned, ['jenkins', 'gitlab']);
    assert.equal(config.worker.workspaceDir, '/srv/flow/workspaces');
    assert.equal(config.worker.gitAllowFileUrls, true);
    assert.equal(config.gateway.temporalUiUrl, 'https://temporal.example.com/ui');
    assert.deepEqual(config.subscriptionLinks, {
      publicUrl: 'https://flow.example.com/release-bot',
      secret: '0123456789abcdef0123456789abcdef',
    });
  });

  it('names the default git workspace after the worker identity, one per worker, unless FLOW_WORKSPACE_DIR says', () => {
    const base = path.join(os.tmpdir(), 'flow-workspaces');
    assert.equal(loadConfig({ FLOW_WORKER_ID: 'worker-1' }).worker.workspaceDir, path.join(base, 'worker-1'));
    assert.equal(loadConfig({ FLOW_WORKER_ID: 'pod:a.b' }).worker.workspaceDir, path.join(base, 'pod_a.b'));
    assert.notEqual(
      loadConfig({ FLOW_WORKER_ID: 'worker-1' }).worker.workspaceDir,
      loadConfig({ FLOW_WORKER_ID: 'worker-2' }).worker.workspaceDir,
    );
    assert.equal(
      loadConfig({ FLOW_WORKER_ID: 'worker-1', FLOW_WORKSPACE_DIR: '/srv/ws' }).worker.workspaceDir,
      '/srv/ws',
    );
    assert.equal(loadConfig({ FLOW_SHUTDOWN_GRACE: '45s' }).shutdownGraceMs, 45_000);
  });

  it('defaults FLOW_PUBLIC_URL to the gateway on localhost at PORT; the worker reads the same from its env', () => {
    assert.deepEqual(loadConfig({ PORT: '8080' }).subscriptionLinks, { publicUrl: 'http://localhost:8080' });
    assert.deepEqual(parseSubscriptionLinks({ FLOW_PUBLIC_URL: 'http://flow.internal:3000' }), {
      publicUrl: 'http://flow.internal:3000',
    });
  });

  it('rejects bad values of the settings other modules use, naming the variable, as it does for every setting', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ FLOW_HTTP_LOG_LEVEL: 'chatty' }, 'FLOW_HTTP_LOG_LEVEL', /fatal, error, warn, info, debug, trace, silent/],
      [{ FLOW_API_TOKENS: 'admin:0123456789abcdef' }, 'FLOW_API_TOKENS', /entry 1 is not read:<token>/],
      [{ FLOW_ALLOW_UNSIGNED: 'jenkins,../x' }, 'FLOW_ALLOW_UNSIGNED', /"\.\.\/x", which is not a webhook source/],
      [{ FLOW_WORKSPACE_DIR: 'relative/dir' }, 'FLOW_WORKSPACE_DIR', /must be an absolute path/],
      [{ FLOW_GIT_ALLOW_FILE_URLS: 'ture' }, 'FLOW_GIT_ALLOW_FILE_URLS', /must be true or false/],
      [{ FLOW_TEMPORAL_UI_URL: 'localhost:8233' }, 'FLOW_TEMPORAL_UI_URL', /is not an http\(s\) URL/],
      [{ FLOW_TEMPORAL_UI_URL: 'ftp://temporal.example.com' }, 'FLOW_TEMPORAL_UI_URL', /is not an http\(s\) URL/],
      [{ FLOW_TEMPORAL_UI_URL: 'https://u:pw@temporal.example.com' }, 'FLOW_TEMPORAL_UI_URL', /must not hold a user/],
      [
        { FLOW_PUBLIC_URL: 'flow.example.com' },
        'FLOW_PUBLIC_URL',
        /is not the http\(s\) URL the gateway is reached at/,
      ],
      [{ FLOW_PUBLIC_URL: 'https://flow.example.com/?a=1' }, 'FLOW_PUBLIC_URL', /is not the http\(s\) URL/],
      [{ FLOW_PUBLIC_URL: 'https://u:pw@flow.example.com' }, 'FLOW_PUBLIC_URL', /must not hold a user/],
      [{ FLOW_SUBSCRIPTION_LINK_SECRET: 'short-secret' }, 'FLOW_SUBSCRIPTION_LINK_SECRET', /12 characters long/],
      [{ FLOW_SHUTDOWN_GRACE: '30' }, 'FLOW_SHUTDOWN_GRACE', /"30" is not a duration; use a whole number and a unit/],
      [{ FLOW_SHUTDOWN_GRACE: 'soon' }, 'FLOW_SHUTDOWN_GRACE', /such as 30s or 2m/],
      [{ FLOW_SHUTDOWN_GRACE: '-5s' }, 'FLOW_SHUTDOWN_GRACE', /is not a duration/],
      [{ FLOW_SHUTDOWN_GRACE: '25h' }, 'FLOW_SHUTDOWN_GRACE', /at most 24h/],
      [{ FLOW_WORKER_ID: 'a b/c' }, 'FLOW_WORKER_ID', /is not a worker id/],
      [{ FLOW_WORKER_MAX_ACTIVITIES: '0' }, 'FLOW_WORKER_MAX_ACTIVITIES', /"0" must be a whole number from 1 to/],
      [{ FLOW_WORKER_MAX_ACTIVITIES: '2.5' }, 'FLOW_WORKER_MAX_ACTIVITIES', /whole number from 1 to 100,000/],
      [{ FLOW_WORKER_MAX_ACTIVITIES: 'lots' }, 'FLOW_WORKER_MAX_ACTIVITIES', /activity tasks one worker runs at once/],
      [{ FLOW_WORKER_MAX_ACTIVITIES: '100001' }, 'FLOW_WORKER_MAX_ACTIVITIES', /from 1 to 100,000/],
      [{ FLOW_WORKER_CACHE_SIZE: '1' }, 'FLOW_WORKER_CACHE_SIZE', /"1" must be a whole number from 2 to 100,000/],
      [{ FLOW_WORKER_CACHE_SIZE: '0' }, 'FLOW_WORKER_CACHE_SIZE', /from 2 to/],
      [{ FLOW_WORKER_CACHE_SIZE: '-10' }, 'FLOW_WORKER_CACHE_SIZE', /from 2 to/],
      [{ FLOW_WORKER_CACHE_SIZE: '1k' }, 'FLOW_WORKER_CACHE_SIZE', /runs one worker keeps in its workflow cache/],
    ];
    for (const [env, variable, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.variable === variable && message.test(error.message),
        `${JSON.stringify(env)} should be refused`,
      );
    }
    // A secret is never repeated in the error.
    assert.throws(
      () => loadConfig({ FLOW_SUBSCRIPTION_LINK_SECRET: 'short-secret' }),
      (error: unknown) => error instanceof Error && !error.message.includes('short-secret'),
    );
    // A token is never repeated in the error.
    assert.throws(
      () => loadConfig({ FLOW_API_TOKENS: 'admin:0123456789abcdef' }),
      (error: unknown) => error instanceof Error && !error.message.includes('0123456789abcdef'),
    );
  });

  it('turns the workspace sweep off with FLOW_WORKSPACE_SWEEP_MINUTES=off, and rejects other values', () => {
    assert.equal(loadConfig({ FLOW_WORKSPACE_SWEEP_MINUTES: 'off' }).worker.workspaceSweepMinutes, null);
    for (const value of ['0', '-5', 'hourly', '1.5']) {
      assert.throws(
        () => loadConfig({ FLOW_WORKSPACE_SWEEP_MINUTES: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'FLOW_WORKSPACE_SWEEP_MINUTES' &&
          /must be a positive whole number, or "off"\.$/.test(error.message),
      );
    }
  });

  it('turns the worker metrics endpoint off with FLOW_WORKER_METRICS_PORT=off, and rejects other words', () => {
    assert.equal(loadConfig({ FLOW_WORKER_METRICS_PORT: 'off' }).worker.metricsPort, null);
    assert.equal(loadConfig({ FLOW_WORKER_METRICS_PORT: 'OFF' }).worker.metricsPort, null);
    assert.throws(
      () => loadConfig({ FLOW_WORKER_METRICS_PORT: 'none' }),
      /FLOW_WORKER_METRICS_PORT.*1 to 65535, or "off"/,
    );
  });

  it('uses the flow database when the URI names none', () => {
    assert.equal(loadConfig({ MONGODB_URI: 'mongodb://db:27017' }).mongodb.database, 'flow');
    assert.equal(loadConfig({ MONGODB_URI: 'mongodb://db:27017/?replicaSet=rs0' }).mongodb.database, 'flow');
  });

  it('rejects a PORT that is not a TCP port, naming the variable', () => {
    for (const bad of ['http', '0', '70000', '3000abc']) {
      assert.throws(
        () => loadConfig({ PORT: bad }),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === 'PORT' && /1 to 65535/.test(error.message),
      );
    }
  });

  it('rejects a MONGODB_URI with another scheme without echoing its password', () => {
    assert.throws(
      () => loadConfig({ MONGODB_URI: 'postgres://u:hunter2@db/flow' }),
      (error: unknown) =>
        error instanceof ConfigError && !error.message.includes('hunter2') && /mongodb:\/\//.test(error.message),
    );
  });

  it('rejects an unknown FLOW_LOG_LEVEL and lists the valid ones', () => {
    assert.throws(() => loadConfig({ FLOW_LOG_LEVEL: 'loud' }), /TRACE, DEBUG, INFO, WARN, ERROR/);
  });
});

describe('config: resolveApiToken', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-token-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a token on first start, stores it privately, and reuses it afterwards', () => {
    const first = resolveApiToken({}, dir);
    assert.equal(first.source, 'generated');
    assert.match(first.token, /^flow_[A-Za-z0-9_-]{32}$/);
    const file = path.join(dir, 'api-token');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = resolveApiToken({}, dir);
    assert.deepEqual(second, { token: first.token, source: 'file', file });
  });

  it('prefers FLOW_API_TOKEN and writes nothing', () => {
    assert.deepEqual(resolveApiToken({ FLOW_API_TOKEN: 'from-env' }, dir), { token: 'from-env', source: 'env' });
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('config: resolveSubscriptionLinkSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-link-secret-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a secret on first start, stores it privately, and reuses it afterwards', () => {
    const first = resolveSubscriptionLinkSecret({}, dir);
    assert.equal(first.source, 'generated');
    assert.match(first.secret, /^[A-Za-z0-9_-]{43}$/);
    const file = path.join(dir, 'subscription-link-secret');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(resolveSubscriptionLinkSecret({}, dir), { secret: first.secret, source: 'file', file });
    // Long enough for loadConfig.
    assert.equal(loadConfig({ FLOW_SUBSCRIPTION_LINK_SECRET: first.secret }).subscriptionLinks.secret, first.secret);
  });

  it('prefers FLOW_SUBSCRIPTION_LINK_SECRET and writes nothing', () => {
    const secret = 'from-env-0123456789abcdef0123456789';
    assert.deepEqual(resolveSubscriptionLinkSecret({ FLOW_SUBSCRIPTION_LINK_SECRET: secret }, dir), {
      secret,
      source: 'env',
    });
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
