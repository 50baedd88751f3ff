import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import { WORKFLOW_TYPES, type DispatchResult } from '../../common/run-types';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { uniqueName } from '../support/stack';

const GITHUB_SECRET = 'github-webhook-secret';
const GITLAB_SECRET = 'gitlab-webhook-token';
const sign = (body: string | Buffer, secret = GITHUB_SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('gateway: native webhooks at /webhooks/:source', () => {
  let harness: Harness;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
    harness = await startHarness({
      webhookEnv: {
        FLOW_WEBHOOK_SECRET_GITHUB: GITHUB_SECRET,
        FLOW_WEBHOOK_SECRET_GITLAB: GITLAB_SECRET,
        FLOW_ALLOW_UNSIGNED: 'jenkins',
      },
    });
    const saved = await request(harness.app)
      .put('/api/definitions/on-main-push')
      .set('Authorization', harness.auth)
      .send({
        id: 'on-main-push',
        name: 'On a push to main',
        on: [{ source: 'github', type: 'push', if: 'event.branch == "main"' }],
        steps: [
          {
            id: 'notify',
            action: 'http.request',
            with: {
              method: 'POST',
              url: `${receiver.url}/pushed`,
              json: { sha: '${{ event.after }}', repo: '${{ event.raw.repository.full_name }}' },
            },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });
  after(async () => {
    await harness.stop();
    await receiver.stop();
  });

  /** Dispatchers on this harness's task queue: proof that a refused delivery started nothing. */
  async function dispatchers(): Promise<number> {
    let count = 0;
    for await (const _ of harness.client.workflow.list({
      query: `TaskQueue = "${harness.taskQueue}" AND WorkflowType = "${WORKFLOW_TYPES.dispatchEvent}"`,
    }))
      count++;
    return count;
  }

  const pushPayload = (after: string): string =>
    JSON.stringify({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after,
      repository: { full_name: 'acme/shop' },
      pusher: { name: 'ana' },
      commits: [{ id: after, message: 'REL-1 ship it', author: { email: 'ana@example.com' } }],
    });

  it('accepts a signed GitHub push, runs the matching definition with the normalized event and the raw payload', async () => {
    const body = pushPayload('a'.repeat(40));
    const delivery = uniqueName('delivery');
    const res = await request(harness.app)
      .post('/webhooks/github')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', 'push')
      .set('X-GitHub-Delivery', delivery)
      .set('X-Hub-Signature-256', sign(body))
      .send(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual([res.body.type, res.body.duplicate, res.body.eventId], ['push', false, `github-${delivery}`]);
    await harness.finished(res.body.workflowId as string);
    const pushed = await eventually(() =>
      receiver.to('/pushed').find((r) => (r.json as { sha: string }).sha === 'a'.repeat(40)),
    );
    assert.deepEqual(pushed.json, { sha: 'a'.repeat(40), repo: 'acme/shop' });

    const again = await request(harness.app)
      .post('/webhooks/github')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', 'push')
      .set('X-GitHub-Delivery', delivery)
      .set('X-Hub-Signature-256', sign(body))
      .send(body);
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true, 'a redelivery is not dispatched again');
  });

  it('refuses a missing or wrong signature, and a replayed signature with a changed body, starting nothing', async () => {
    const before = await dispatchers();
    const body = pushPayload('b'.repeat(40));
    const cases: [string | undefined, string, RegExp][] = [
      [undefined, body, /X-Hub-Signature-256 header is missing/],
      [sign(body, 'not-the-secret'), body, /signature does not match the body/],
      [sign(body), pushPayload('c'.repeat(40)), /signature does not match the body/],
      ['sha256=zz', body, /signature does not match the body/],
    ];
    for (const [signature, sent, detail] of cases) {
      let pending = request(harness.app)
        .post('/webhooks/github')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'push');
      if (signature) pending = pending.set('X-Hub-Signature-256', signature);
      const res = await pending.send(sent);
      assert.equal(res.status, 401);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(res.body.detail, detail);
    }
    assert.equal(await dispatchers(), before);
  });

  it('refuses sources without a configured secret unless FLOW_ALLOW_UNSIGNED names them', async () => {
    const jira = await request(harness.app)
      .post('/webhooks/jira')
      .set('Content-Type', 'application/json')
      .send({
        webhookEvent: 'jira:issue_updated',
        issue: { key: 'REL-1', fields: { project: { key: 'REL' } } },
        changelog: { items: [{ field: 'status', fromString: 'Open', toString: 'Done' }] },
      });
    assert.equal(jira.status, 401);
    assert.match(
      jira.body.detail,
      /No secret is configured for jira webhooks.*FLOW_WEBHOOK_SECRET_JIRA.*FLOW_ALLOW_UNSIGNED=jira/,
    );

    const jenkins = await request(harness.app)
      .post('/webhooks/jenkins')
      .set('Content-Type', 'application/json')
      .send({
        name: 'shop-preproduction',
        url: 'job/shop-preproduction/',
        build: {
          full_url: 'http://ci/job/shop-preproduction/7/',
          number: 7,
          phase: 'FINALIZED',
          status: 'SUCCESS',
          parameters: { VERSION: '2.4.0' },
        },
      });
    assert.equal(jenkins.status, 202, JSON.stringify(jenkins.body));
    assert.equal(jenkins.body.type, 'build_finished');
  });

  it('runs both builds of a job name used in two folders, with the same build number, each with its full job path', async () => {
    // Every multibranch pipeline has a job called `main`. The plugin's `name` is that short name; the folders are
    // only in its URLs. Before the fix the second delivery was answered `duplicate: true` and started nothing.
    const name = uniqueName('main');
    const saved = await request(harness.app)
      .put(`/api/definitions/${name}`)
      .set('Authorization', harness.auth)
      .send({
        id: name,
        name: 'On a finished build of main in any folder',
        on: [{ source: 'jenkins', type: 'build_finished', if: `event.job_name == "${name}"` }],
        steps: [
          {
            id: 'notify',
            action: 'http.request',
            with: {
              method: 'POST',
              url: `${receiver.url}/built`,
              json: { job: '${{ event.job }}', job_name: '${{ event.job_name }}', number: '${{ event.number }}' },
            },
          },
        ],
      });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const deliver = (folder: string) =>
      request(harness.app)
        .post('/webhooks/jenkins')
        .set('Content-Type', 'application/json')
        .send({
          name,
          display_name: name,
          url: `job/${folder}/job/${name}/`,
          build: {
            full_url: `https://ci.example.com/job/${folder}/job/${name}/12/`,
            number: 12,
            phase: 'FINALIZED',
            status: 'SUCCESS',
            url: `job/${folder}/job/${name}/12/`,
          },
        });

    const teamA = await deliver('team-a');
    const teamB = await deliver('team-b');
    assert.deepEqual([teamA.status, teamB.status], [202, 202], JSON.stringify([teamA.body, teamB.body]));
    assert.deepEqual([teamA.body.duplicate, teamB.body.duplicate], [false, false], 'the second folder was a duplicate');
    assert.notEqual(teamA.body.workflowId, teamB.body.workflowId);
    for (const accepted of [teamA, teamB]) await harness.finished(accepted.body.workflowId as string);
    const built = await eventually(() => {
      const mine = receiver.to('/built').filter((r) => (r.json as { job_name: string }).job_name === name);
      return mine.length === 2 ? mine : undefined;
    });
    assert.deepEqual(
      built.map((r) => r.json).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { job: `team-a/${name}`, job_name: name, number: 12 },
        { job: `team-b/${name}`, job_name: name, number: 12 },
      ],
    );

    // Each folder's build is still deduplicated on its own.
    const again = await deliver('team-b');
    assert.equal(again.status, 202);
    assert.deepEqual([again.body.duplicate, again.body.workflowId], [true, teamB.body.workflowId]);
  });

  it('checks the GitLab token, deduplicates by a hash of the body when there is no delivery id, and answers unknown sources with 404', async () => {
    const body = JSON.stringify({
      object_kind: 'push',
      ref: 'refs/heads/develop',
      before: '1'.repeat(40),
      after: '2'.repeat(40),
      project: { path_with_namespace: `acme/${uniqueName('shop')}` },
      user_username: 'bo',
      commits: [],
    });
    const wrong = await request(harness.app)
      .post('/webhooks/gitlab')
      .set('Content-Type', 'application/json')
      .set('X-Gitlab-Token', 'nope')
      .send(body);
    assert.equal(wrong.status, 401);
    const first = await request(harness.app)
      .post('/webhooks/gitlab')
      .set('Content-Type', 'application/json')
      .set('X-Gitlab-Token', GITLAB_SECRET)
      .send(body);
    const second = await request(harness.app)
      .post('/webhooks/gitlab')
      .set('Content-Type', 'application/json')
      .set('X-Gitlab-Token', GITLAB_SECRET)
      .send(body);
    assert.deepEqual([first.status, second.status], [202, 202]);
    assert.deepEqual([first.body.duplicate, second.body.duplicate], [false, true]);
    assert.equal(first.body.workflowId, second.body.workflowId);
    const dispatch = (await harness.client.workflow
      .getHandle(first.body.workflowId as string)
      .result()) as DispatchResult;
    assert.equal(dispatch.type, 'push');

    const unknown = await request(harness.app)
      .post('/webhooks/bitbucket')
      .set('Content-Type', 'application/json')
      .send('{}');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /no webhook source "bitbucket"; the sources are jira, jenkins, github, gitlab/);
  });

  it('rejects bodies that are not UTF-8 JSON objects or nest too deeply, after authentication, starting nothing', async () => {
    const before = await dispatchers();
    const bad: [Buffer | string, RegExp][] = [
      [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not valid UTF-8/],
      ['{"truncated": ', /not valid JSON/],
      ['[1, 2]', /must be a JSON object/],
      [`{"a":${'['.repeat(100)}${']'.repeat(100)}}`, /deeper than 64 levels/],
    ];
    for (const [body, detail] of bad) {
      const res = await request(harness.app)
        .post('/webhooks/github')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'push')
        .set('X-Hub-Signature-256', sign(body))
        // Send the bytes exactly as given (superagent would otherwise re-encode a Buffer as JSON).
        .serialize((raw: unknown) => raw as string)
        .send(body);
      assert.equal(res.status, 400, `${String(detail)}: ${res.text}`);
      assert.match(res.body.detail, detail);
    }
    assert.equal(await dispatchers(), before);
  });
});
