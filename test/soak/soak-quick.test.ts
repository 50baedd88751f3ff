import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../config';
import type { SoakReport } from '../../soak/report';

/** A figure of a scenario by its label. */
function figure(report: SoakReport, scenario: string, label: string): string {
  const found = report.scenarios.find((s) => s.name === scenario)?.figures.find(([name]) => name === label);
  assert.ok(found, `${scenario} reports "${label}"`);
  return String(found[1]);
}

const number = (text: string): number => Number(text.replace(/,/g, '').split(' ')[0]);

// `npm run soak -- --quick` as a user runs it, so the soak never rots: its own Temporal (killed and restarted),
// FerretDB (killed and restarted), two gateways, two workers (killed at random) and the local peers.
describe('npm run soak -- --quick', function () {
  this.timeout(20 * 60_000);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-soak-test-'));
  const out = path.join(scratch, 'report.json');
  const docs = path.join(projectRoot, 'docs', 'reliability.md');
  let report: SoakReport;
  let docsBefore: string;
  let output: { code: number; stdout: string; stderr: string };

  before(async () => {
    docsBefore = fs.readFileSync(docs, 'utf8');
    output = await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--require', 'tsx/cjs', 'soak/run.ts', '--quick', '--out', out],
        { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    if (fs.existsSync(out)) report = JSON.parse(fs.readFileSync(out, 'utf8')) as SoakReport;
  });

  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('runs every scenario and exits 0: nothing accepted is lost or run twice, and no other promise is broken', () => {
    assert.equal(output.code, 0, `npm run soak exited ${output.code}\n${output.stderr.slice(-4000)}`);
    assert.deepEqual(
      report.scenarios.map((s) => s.name),
      ['burst', 'redeliveries', 'mongo-outage', 'temporal-restart', 'chaos'],
    );
    for (const scenario of report.scenarios) {
      assert.equal(scenario.lost, 0, `${scenario.name} lost events`);
      assert.equal(scenario.twice, 0, `${scenario.name} ran events twice`);
      assert.deepEqual(scenario.problems, [], scenario.name);
    }
  });

  it('runs what it says: every event accepted, redelivered keys once each, faults really injected', () => {
    // Events without a key that the gateway refused under load (503) are not sent again, as a sender must not.
    const accepted = number(figure(report, 'burst', 'accepted (202), distinct events'));
    assert.equal(figure(report, 'burst', 'keyed events accepted (a refused one is sent again)'), '150 of 150');
    assert.ok(accepted >= 150 && accepted <= 300, `${accepted} accepted`);
    assert.equal(number(figure(report, 'burst', 'runs completed')), accepted);
    assert.ok(number(figure(report, 'burst', 'dispatchers in Temporal')) >= accepted);
    assert.equal(number(figure(report, 'redeliveries', 'distinct events accepted')), 10);
    assert.equal(number(figure(report, 'redeliveries', 'runs completed')), 10);
    assert.equal(number(figure(report, 'mongo-outage', 'runs completed')), 150);
    assert.ok(number(figure(report, 'mongo-outage', 'accepted while MongoDB was down')) > 0);
    assert.equal(number(figure(report, 'temporal-restart', 'releases completed')), 10);
    assert.ok(number(figure(report, 'chaos', 'workers killed')) > 0);
    assert.equal(number(figure(report, 'chaos', 'releases completed')), 20);
  });

  it('prints the report, and leaves docs/reliability.md to full runs', () => {
    assert.match(output.stdout, /\| Scenario \| Lost \| Run twice \|/);
    assert.equal(fs.readFileSync(docs, 'utf8'), docsBefore);
  });
});
