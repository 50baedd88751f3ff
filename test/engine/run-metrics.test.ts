import assert from 'node:assert/strict';
import request from 'supertest';
import { createWorkerMetrics, portOf, serveMetrics, type WorkerMetrics } from '../../workers/metrics';
import { startHarness, type Harness } from '../support/harness';
import { HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

/** A definition bound to `metrics/<type>` whose one step calls `url` once, without retries. */
const definition = (id: string, type: string, url: string): string => `
id: ${id}
name: Metrics probe ${type}
on:
  - source: metrics
    type: ${type}
steps:
  - id: call
    action: http.request
    with:
      url: "${url}"
    retry: { maximumAttempts: 1 }
`;

describe('worker metrics: runs by definition and step attempts by action', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  let metrics: WorkerMetrics;
  before(async () => {
    receiver = await HttpReceiver.start();
    receiver.respondWith((req) => (req.path === '/broken' ? { status: 400, body: { error: 'no' } } : undefined));
    metrics = createWorkerMetrics();
    harness = await startHarness({ workerMetrics: metrics });
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  async function save(id: string, type: string, url: string): Promise<void> {
    const res = await request(harness.app)
      .put(`/api/definitions/${id}`)
      .set('Authorization', harness.auth)
      .set('Content-Type', 'application/yaml')
      .send(definition(id, type, url));
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  async function post(type: string): Promise<string> {
    const res = await request(harness.app)
      .post(`/events/metrics/${type}`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', uniqueName(type))
      .send({});
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.workflowId as string;
  }

  it('counts started, completed and failed runs per definition and serves them at /metrics', async () => {
    const ok = uniqueName('ok');
    const broken = uniqueName('broken');
    await save(ok, 'good', `${receiver.url}/fine`);
    await save(broken, 'bad', `${receiver.url}/broken`);

    await harness.finished(await post('good'));
    await harness.finished(await post('good'));
    const failing = await post('bad');
    await assert.rejects(harness.finished(failing));

    const server = await serveMetrics(metrics.registry, 0, '127.0.0.1');
    try {
      const text = await (await fetch(`http://127.0.0.1:${portOf(server)}/metrics`)).text();
      assert.match(text, new RegExp(`flow_runs_started_total\\{definition="${ok}"\\} 2`));
      assert.match(text, new RegExp(`flow_runs_completed_total\\{definition="${ok}"\\} 2`));
      assert.match(text, new RegExp(`flow_runs_started_total\\{definition="${broken}"\\} 1`));
      assert.match(text, new RegExp(`flow_runs_failed_total\\{definition="${broken}",failure="StepFailed"\\} 1`));
      assert.doesNotMatch(text, new RegExp(`flow_runs_completed_total\\{definition="${broken}"\\}`));
      assert.doesNotMatch(text, new RegExp(`flow_runs_failed_total\\{definition="${ok}"`));
      assert.match(text, new RegExp(`flow_run_duration_seconds_count\\{definition="${ok}",outcome="completed"\\} 2`));
      // Three http.request attempts: two fine, one answered 400 (not retried).
      assert.match(text, /flow_step_attempt_duration_seconds_count\{action="http.request",outcome="completed"\} 2/);
      assert.match(text, /flow_step_attempt_duration_seconds_count\{action="http.request",outcome="failed"\} 1/);
      // The dispatcher's registry lookup is an activity too, one per event.
      assert.match(
        text,
        /flow_step_attempt_duration_seconds_count\{action="lookUpEvent",outcome="completed"\} 3/,
      );
      const notFound = await fetch(`http://127.0.0.1:${portOf(server)}/other`);
      assert.equal(notFound.status, 404);
    } finally {
      server.close();
    }
  });
});
