import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ConfigError, toolsDir } from '../../config';
import type { ManagedProcess } from '../../devstack/managed-process';
import { findFreePort } from '../../devstack/ports';
import { silentProgress } from '../../devstack/progress';
import {
  applyNamespaceRetention,
  devServerDynamicConfig,
  devServerSqlitePragmas,
  FILE_SQLITE_PRAGMAS,
  MEMORY_SQLITE_PRAGMAS,
  parseLocalRetention,
  startTemporalDevServer,
  waitForTemporal,
} from '../../devstack/temporal-server';
import { ensureTemporalCli } from '../../devstack/tools';

const HOUR = 3_600_000;

describe('devstack: the Temporal dev server settings', () => {
  it('gives a file-backed store a write-ahead log synced at checkpoints, and an in-memory one SQLite’s defaults', () => {
    assert.deepEqual(devServerSqlitePragmas({}, true), { journal_mode: 'wal', synchronous: 'normal' });
    assert.deepEqual(devServerSqlitePragmas({}, true), FILE_SQLITE_PRAGMAS);
    assert.deepEqual(devServerSqlitePragmas({}, false), MEMORY_SQLITE_PRAGMAS);
    assert.deepEqual(MEMORY_SQLITE_PRAGMAS, {});
  });

  it('takes FLOW_TEMPORAL_SQLITE_PRAGMAS over the defaults, "default" for SQLite’s own, and refuses other pragmas', () => {
    const env = { FLOW_TEMPORAL_SQLITE_PRAGMAS: ' journal_mode=WAL, synchronous=off ' };
    assert.deepEqual(devServerSqlitePragmas(env, true), { journal_mode: 'wal', synchronous: 'off' });
    assert.deepEqual(devServerSqlitePragmas({ FLOW_TEMPORAL_SQLITE_PRAGMAS: 'default' }, true), {});
    // The dev server silently ignores any pragma but these two, so a cache_size would be a setting that does nothing.
    for (const bad of ['cache_size=-65536', 'journal_mode', 'synchronous=normal;drop'])
      assert.throws(
        () => devServerSqlitePragmas({ FLOW_TEMPORAL_SQLITE_PRAGMAS: bad }, true),
        (error: unknown) => error instanceof ConfigError && /FLOW_TEMPORAL_SQLITE_PRAGMAS/.test(error.message),
      );
  });

  it('turns eager activity dispatch on unless FLOW_TEMPORAL_EAGER_ACTIVITIES is off', () => {
    assert.equal(devServerDynamicConfig({})['system.enableActivityEagerExecution'], true);
    const off = devServerDynamicConfig({ FLOW_TEMPORAL_EAGER_ACTIVITIES: 'off' });
    assert.equal(off['system.enableActivityEagerExecution'], false);
    assert.throws(() => devServerDynamicConfig({ FLOW_TEMPORAL_EAGER_ACTIVITIES: 'of' }), ConfigError);
  });

  it('reads the history service task queue up to 2000 times a second, with eager activities on or off', () => {
    for (const env of [{}, { FLOW_TEMPORAL_EAGER_ACTIVITIES: 'off' }])
      assert.equal(devServerDynamicConfig(env)['history.transferProcessorMaxPollRPS'], 2000);
  });

  it('keeps closed runs 24 hours unless FLOW_LOCAL_TEMPORAL_RETENTION says otherwise, and never under an hour', () => {
    assert.equal(parseLocalRetention({}), 24 * HOUR);
    assert.equal(parseLocalRetention({ FLOW_LOCAL_TEMPORAL_RETENTION: '7d' }), 7 * 24 * HOUR);
    assert.equal(parseLocalRetention({ FLOW_LOCAL_TEMPORAL_RETENTION: '1h' }), HOUR);
    for (const bad of ['30m', '0h', '1.5d', 'forever'])
      assert.throws(() => parseLocalRetention({ FLOW_LOCAL_TEMPORAL_RETENTION: bad }), ConfigError, bad);
  });

  describe('a file-backed server', () => {
    let scratch: string;
    let server: ManagedProcess | undefined;
    let address: string;

    before(async () => {
      const cli = await ensureTemporalCli({ toolsDir: toolsDir(), env: process.env, progress: silentProgress });
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-temporal-settings-'));
      const port = await findFreePort();
      address = `127.0.0.1:${port}`;
      server = startTemporalDevServer({
        cli: cli.path,
        port,
        uiPort: null,
        namespace: 'default',
        logFile: path.join(scratch, 'temporal.log'),
        dbFile: path.join(scratch, 'temporal.db'),
        env: {},
      });
      await waitForTemporal(address, 'default', { process: server });
    });

    after(async () => {
      await server?.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    it('writes through a write-ahead log (the pragmas reached SQLite)', () => {
      assert.ok(fs.existsSync(path.join(scratch, 'temporal.db-wal')), 'temporal.db-wal exists');
    });

    it('applies a namespace retention, and leaves one already set alone', async () => {
      const retention = async (): Promise<number> => {
        const connection = await Connection.connect({ address });
        try {
          const { config } = await connection.workflowService.describeNamespace({ namespace: 'default' });
          return Number(config?.workflowExecutionRetentionTtl?.seconds ?? 0) * 1000;
        } finally {
          await connection.close();
        }
      };
      await applyNamespaceRetention(address, 'default', 72 * HOUR);
      assert.equal(await retention(), 72 * HOUR);
      await applyNamespaceRetention(address, 'default', 72 * HOUR);
      assert.equal(await retention(), 72 * HOUR);
    });
  });
});
