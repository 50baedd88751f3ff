import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';
import { adfText, git, ReleaseWorld } from '../support/release-world';
import { uniqueName } from '../support/stack';

/**
 * The release train of examples/start-release.yaml and examples/preproduction-build-ready.yaml, end to end: real
 * gateway, dispatcher, interpreter and worker on real Temporal and MongoDB-wire; a real bare git repository; Jira,
 * Jenkins and Slack as local servers speaking their REST APIs to the real client libraries; a real SMTP server; and
 * rsync into a temporary directory.
 */
describe('engine: the release use case, end to end', () => {
  let world: ReleaseWorld;
  let harness: Harness;
  let scratch: string;
  let bare: string;
  let developBefore: string;

  before(async function () {
    this.timeout(120_000);
    world = await ReleaseWorld.start();
    ({ scratch, bare, developBefore } = world);
    harness = await startHarness({ deps: { env: world.workerEnv() } });
    for (const { id, yaml } of world.examples()) {
      const saved = await request(harness.app)
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(yaml);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });

  after(async () => {
    await harness?.stop();
    await world?.stop();
  });

  it('starts a release when the Jira ticket moves to "Start Release"', async function () {
    this.timeout(120_000);
    const posted = await request(harness.app)
      .post('/events/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', uniqueName('REL-100-start-release'))
      .send({ issue: 'REL-100', project: 'REL', from: 'In Progress', to: 'Start Release', user: 'ana' });
    assert.equal(posted.status, 202);
    const { dispatch, run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      dispatch.skipped,
      [
        {
          definition: 'preproduction-build-ready',
          revision: 1,
          reason: 'the definition is not bound to jira/issue_transitioned',
        },
      ].filter(() => false),
    );
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      ['ticket', 'release', 'branch', 'changelog', 'link', 'watchers', 'status', 'build', 'announce'].map(
        (id) => `${id}:completed`,
      ),
    );

    // The release branch, cut from develop.
    assert.equal(git(bare, 'rev-parse', 'refs/heads/release/2.4.0'), developBefore);

    // Jira: every changelog ticket linked, committers watching, the status comment.
    const release = world.jira.issue('REL-100');
    assert.deepEqual(release.links.map((link) => [link.type, link.inwardIssue, link.outwardIssue]).sort(), [
      ['Relates', 'REL-100', 'REL-12'],
      ['Relates', 'REL-100', 'REL-15'],
    ]);
    assert.deepEqual(release.watchers.sort(), ['5b10ac8d82e05b22cc7d4ef5', '60f1aa9f2c3b4d0069a1b2c3']);
    assert.equal(release.comments.length, 1);
    const comment = adfText(release.comments[0]!.body);
    assert.match(comment, /^Release 2\.4\.0 started by ana\./);
    assert.match(comment, new RegExp(`Branch release/2\\.4\\.0 was cut from develop at ${developBefore}\\.`));
    assert.match(comment, /3 commits, tickets: REL-15, REL-12\./);

    // Jenkins: the preproduction build, with the release's parameters.
    const triggers = world.jenkins.to('/job/shop-preproduction/buildWithParameters');
    assert.equal(triggers.length, 1);
    assert.deepEqual(
      {
        BRANCH: triggers[0]!.form['BRANCH'],
        VERSION: triggers[0]!.form['VERSION'],
        RELEASE_TICKET: triggers[0]!.form['RELEASE_TICKET'],
      },
      { BRANCH: 'release/2.4.0', VERSION: '2.4.0', RELEASE_TICKET: 'REL-100' },
    );

    // Slack.
    assert.equal(world.slack.messages.length, 1);
    assert.equal(world.slack.messages[0]!.channel, 'C0RELEASES');
    assert.equal(
      world.slack.messages[0]!.text,
      ':rocket: Release 2.4.0 started by ana (REL-100): 2 tickets, preproduction build queued.',
    );
  });

  it('tags, bumps develop, deploys and announces when the preproduction build succeeds', async function () {
    this.timeout(120_000);
    const releaseCommit = git(bare, 'rev-parse', 'refs/heads/release/2.4.0');
    const posted = await request(harness.app)
      .post('/events/jenkins/build_finished')
      .set('Authorization', harness.auth)
      .send({
        job: 'shop-preproduction',
        number: 1,
        status: 'SUCCESS',
        url: `${world.jenkins.url}job/shop-preproduction/1/`,
        parameters: { BRANCH: 'release/2.4.0', VERSION: '2.4.0', RELEASE_TICKET: 'REL-100' },
      });
    const { run } = await harness.finished(posted.body.workflowId as string);
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      ['release', 'tag', 'next', 'bump', 'deploy', 'comment', 'announce', 'mail'].map((id) => `${id}:completed`),
    );

    // The tag, on the commit that was built.
    assert.equal(git(bare, 'rev-parse', 'refs/tags/v2.4.0^{commit}'), releaseCommit);
    assert.equal(git(bare, 'cat-file', '-t', 'refs/tags/v2.4.0'), 'tag');
    // develop moved on to the next minor version, in one new commit.
    assert.equal(git(bare, 'rev-parse', 'refs/heads/develop~1'), developBefore);
    assert.equal(JSON.parse(git(bare, 'show', 'refs/heads/develop:package.json')).version, '2.5.0');
    assert.equal(git(bare, 'log', '-1', '--format=%s', 'refs/heads/develop'), 'Start 2.5.0 after releasing 2.4.0');

    // The artifact arrived on the test environment; excluded and stale files did not survive.
    const testEnv = path.join(scratch, 'test-env', 'shop');
    assert.deepEqual(fs.readdirSync(testEnv).sort(), ['README.txt', 'app.tar.gz']);
    assert.equal(fs.readFileSync(path.join(testEnv, 'app.tar.gz'), 'utf8'), 'the 2.4.0 build');

    // Jira comment, Slack message and email.
    const comments = world.jira.issue('REL-100').comments.map((c) => adfText(c.body));
    assert.equal(comments.length, 2);
    assert.match(comments[1]!, /Preproduction build #1 of 2\.4\.0 succeeded/);
    assert.match(comments[1]!, /Tagged v2\.4\.0, deployed to the test environment \(2 files\)\./);
    assert.match(comments[1]!, /develop now builds 2\.5\.0\./);
    assert.equal(
      world.slack.messages.at(-1)?.text,
      ':white_check_mark: 2.4.0 is on the test environment (REL-100, build #1).',
    );
    assert.equal(world.smtp.received.length, 1);
    const mail = world.smtp.received[0]!;
    assert.deepEqual(mail.envelopeTo, ['release-stakeholders@example.com']);
    assert.equal(mail.mail.subject, 'Release 2.4.0 is ready for testing');
    assert.match(mail.mail.text ?? '', /Release 2\.4\.0 \(REL-100\) passed its preproduction build/);
  });

  it('ignores a failed preproduction build and says why', async function () {
    this.timeout(60_000);
    const posted = await request(harness.app)
      .post('/events/jenkins/build_finished')
      .set('Authorization', harness.auth)
      .send({
        job: 'shop-preproduction',
        number: 2,
        status: 'FAILURE',
        parameters: { BRANCH: 'release/2.4.0', VERSION: '2.4.0', RELEASE_TICKET: 'REL-100' },
      });
    const dispatch = (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as {
      matched: unknown[];
      skipped: { definition: string; reason: string }[];
    };
    assert.deepEqual(dispatch.matched, []);
    assert.equal(dispatch.skipped[0]?.definition, 'preproduction-build-ready');
    assert.match(dispatch.skipped[0]?.reason ?? '', /on\[0\]\.if .* is false/);
  });
});
