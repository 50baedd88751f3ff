import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';

describe('gateway: limits, headers, logs and metrics', () => {
  let harness: Harness;
  const logLines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    harness = await startHarness({
      worker: false,
      gateway: { rateLimitPerMinute: 3, logger: pino({ level: 'info' }, sink) },
    });
  });
  after(() => harness.stop());

  it('limits requests per source with 429 problem+json and Retry-After, without affecting other sources', async () => {
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await request(harness.app).post('/events/noisy/ping').set('Authorization', harness.auth).send({ i });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [202, 202, 202, 429, 429]);
    assert.match(last!.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.ok(Number(last!.headers['retry-after']) >= 1);
    assert.match(last!.body.detail, /More than 3 requests a minute from source noisy/);
    const other = await request(harness.app).post('/events/quiet/ping').set('Authorization', harness.auth).send({});
    assert.equal(other.status, 202);
  });

  it('sends security headers', async () => {
    const res = await request(harness.app).get('/healthz');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['content-security-policy']);
  });

  it('logs each request with the headers that identify it, and no credential header at all', async () => {
    await request(harness.app)
      .post('/webhooks/github')
      .set('X-Hub-Signature-256', 'sha256=deadbeef')
      .set('X-GitHub-Delivery', 'delivery-77')
      .set('X-Api-Key', 'sender-own-secret')
      .set('Cookie', 'session=cookie-secret')
      .set('Content-Type', 'application/json')
      .send('{}');
    const entries = logLines.flatMap((chunk) => chunk.trim().split('\n')).map((line) => JSON.parse(line) as LogEntry);
    const webhook = entries.find((entry) => entry.req?.url === '/webhooks/github');
    assert.ok(webhook, 'the webhook request is logged');
    assert.equal(webhook.res?.statusCode, 401);
    assert.equal(webhook.req?.method, 'POST');
    assert.equal(webhook.req?.headers['x-github-delivery'], 'delivery-77');
    assert.equal(webhook.req?.headers['content-type'], 'application/json');
    assert.equal(typeof webhook.responseTime, 'number');
    const event = entries.find((entry) => entry.req?.url === '/events/noisy/ping');
    assert.ok(event, 'event requests are logged');
    assert.equal(event.req?.headers['authorization'], undefined);

    const logs = logLines.join('');
    for (const secret of [harness.token, 'deadbeef', 'sender-own-secret', 'cookie-secret']) {
      assert.ok(!logs.includes(secret), `${secret} never reaches the log`);
    }
  });

  it('counts accepted, deduplicated and rejected events at /metrics', async () => {
    const key = uniqueName('same');
    await request(harness.app)
      .post('/events/quiet/ping')
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send({});
    await request(harness.app)
      .post('/events/quiet/ping')
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', key)
      .send({});
    const metrics = (await request(harness.app).get('/metrics')).text;
    assert.match(metrics, /flow_events_accepted_total\{source="noisy",type="ping"\} 3/);
    assert.match(metrics, /flow_events_deduplicated_total\{source="quiet",type="ping"\} 1/);
    assert.match(metrics, /flow_events_rejected_total\{source="noisy",status="429"\} 2/);
    assert.match(metrics, /flow_dispatch_latency_seconds_count\{source="quiet"\} 3/);
  });
});

/** The fields of a request log line the test reads. */
interface LogEntry {
  readonly req?: { readonly url: string; readonly method: string; readonly headers: Record<string, string> };
  readonly res?: { readonly statusCode: number };
  readonly responseTime?: number;
}
