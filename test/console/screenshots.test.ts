import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../config';
import { SHOTS } from '../../scripts/console-screenshots';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The width and height of a PNG from its IHDR chunk, or what is wrong with the file. */
function pngSize(file: string): { width: number; height: number } {
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), `${path.basename(file)} is not a PNG`);
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR', `${path.basename(file)} has no IHDR chunk first`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('console: the screenshots script', function () {
  this.timeout(300_000);
  let out: string;
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-screenshots-'));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('runs as `npm run screenshots` does and writes every page as a PNG of its viewport size', async () => {
    // The child reuses this run's Temporal and MongoDB (TEMPORAL_ADDRESS, MONGODB_URI), with a database of its own.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', 'tsx/cjs', 'scripts/console-screenshots.ts', '--out', out],
      { cwd: projectRoot, env: process.env, timeout: 280_000 },
    );
    assert.match(stdout, new RegExp(`Wrote ${SHOTS.length} screenshots`));
    assert.deepEqual(fs.readdirSync(out).sort(), SHOTS.map((shot) => shot.file).sort());
    for (const shot of SHOTS) {
      assert.deepEqual(pngSize(path.join(out, shot.file)), shot.viewport, shot.file);
    }
  });

  it('documents every page it photographs: the committed docs/console/ has each file', () => {
    for (const shot of SHOTS) {
      assert.deepEqual(pngSize(path.join(projectRoot, 'docs', 'console', shot.file)), shot.viewport, shot.file);
    }
  });
});
