import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { projectRoot } from '../../config';
import { FakeJenkins } from '../support/fake-jenkins';
import { FakeJira } from '../support/fake-jira';
import { FakeSlack } from '../support/fake-slack';
import { startHarness, type Harness } from '../support/harness';
import { uniqueName } from '../support/stack';
import { SmtpReceiver } from '../support/smtp-receiver';

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** Text of an Atlassian Document Format comment body. */
function adfText(node: unknown): string {
  if (typeof node !== 'object' || node === null) return '';
  const { text, content } = node as { text?: string; content?: unknown[] };
  if (typeof text === 'string') return text;
  return (content ?? []).map(adfText).join((node as { type?: string }).type === 'doc' ? '\n' : '');
}

/**
 * The release train of examples/start-release.yaml and examples/preproduction-build-ready.yaml, end to end: real
 * gateway, dispatcher, interpreter and worker on real Temporal and MongoDB-wire; a real bare git repository; Jira,
 * Jenkins and Slack as local servers speaking their REST APIs to the real client libraries; a real SMTP server; and
 * rsync into a temporary directory.
 */
describe('engine: the release use case, end to end', () => {
  let scratch: string;
  let bare: string;
  let harness: Harness;
  let jira: FakeJira;
  let jenkins: FakeJenkins;
  let slack: FakeSlack;
  let smtp: SmtpReceiver;
  let developBefore: string;

  before(async function () {
    this.timeout(120_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-release-'));
    bare = seedRepository(scratch);
    developBefore = git(bare, 'rev-parse', 'refs/heads/develop');

    jira = await FakeJira.start();
    jira.addIssue('REL-100', { summary: 'Release 2.4.0', status: 'Start Release', fixVersions: ['2.4.0'] });
    jira.addIssue('REL-12', { summary: 'Checkout rounding' });
    jira.addIssue('REL-15', { summary: 'Coupon codes' });
    jira.addUser('5b10ac8d82e05b22cc7d4ef5', 'ana@example.com', 'Ana');
    jira.addUser('60f1aa9f2c3b4d0069a1b2c3', 'bo@example.com', 'Bo');
    jenkins = await new FakeJenkins({ user: 'flow', token: 'jenkins-token' }).start();
    jenkins.addJob('shop-preproduction');
    slack = await new FakeSlack({ token: 'xoxb-test' }).start();
    smtp = await new SmtpReceiver({ user: 'flow', pass: 'smtp-secret' }).start();

    const artifacts = path.join(scratch, 'artifacts', 'shop', '2.4.0');
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'app.tar.gz'), 'the 2.4.0 build');
    fs.writeFileSync(path.join(artifacts, 'app.tar.gz.sha256'), 'checksum');
    fs.writeFileSync(path.join(artifacts, 'README.txt'), 'release notes');
    fs.mkdirSync(path.join(scratch, 'test-env', 'shop'), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'test-env', 'shop', 'old-build.tar.gz'), 'stale');

    harness = await startHarness({
      deps: {
        env: {
          ...jira.env(),
          JENKINS_URL: jenkins.url,
          JENKINS_USER: 'flow',
          JENKINS_TOKEN: 'jenkins-token',
          SLACK_TOKEN: 'xoxb-test',
          SLACK_API_URL: slack.url,
          SMTP_URL: `smtp://flow:smtp-secret@127.0.0.1:${smtp.port}`,
          SMTP_FROM: 'Flow <flow@example.com>',
          FLOW_WORKSPACE_DIR: path.join(scratch, 'workspaces'),
          FLOW_GIT_ALLOW_FILE_URLS: 'true',
        },
      },
    });
    // The shipped examples, pointed at this test's repository and directories instead of the documented ones.
    for (const file of ['start-release.yaml', 'preproduction-build-ready.yaml']) {
      const yaml = fs
        .readFileSync(path.join(projectRoot, 'examples', file), 'utf8')
        .replaceAll('https://git.example.com/acme/shop.git', `file://${bare}`)
        .replaceAll('/srv/artifacts/', `${scratch}/artifacts/`)
        .replaceAll('/srv/test-env/', `${scratch}/test-env/`);
      const saved = await request(harness.app)
        .put(`/api/definitions/${file.replace('.yaml', '')}`)
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(yaml);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
    }
  });

  after(async () => {
    await harness?.stop();
    await Promise.all([jira?.stop(), jenkins?.stop(), slack?.stop(), smtp?.stop()]);
    fs.rmSync(scratch, { recursive: true, force: true });
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
    const release = jira.issue('REL-100');
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
    const triggers = jenkins.to('/job/shop-preproduction/buildWithParameters');
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
    assert.equal(slack.messages.length, 1);
    assert.equal(slack.messages[0]!.channel, 'C0RELEASES');
    assert.equal(
      slack.messages[0]!.text,
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
        url: `${jenkins.url}job/shop-preproduction/1/`,
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
    const comments = jira.issue('REL-100').comments.map((c) => adfText(c.body));
    assert.equal(comments.length, 2);
    assert.match(comments[1]!, /Preproduction build #1 of 2\.4\.0 succeeded/);
    assert.match(comments[1]!, /Tagged v2\.4\.0, deployed to the test environment \(2 files\)\./);
    assert.match(comments[1]!, /develop now builds 2\.5\.0\./);
    assert.equal(
      slack.messages.at(-1)?.text,
      ':white_check_mark: 2.4.0 is on the test environment (REL-100, build #1).',
    );
    assert.equal(smtp.received.length, 1);
    const mail = smtp.received[0]!;
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

/** A bare repository with master, develop, a v2.3.0 tag and three commits since, by three people. */
function seedRepository(scratch: string): string {
  const bare = path.join(scratch, 'shop.git');
  const work = path.join(scratch, 'seed');
  execFileSync('git', ['init', '--bare', '--initial-branch=master', bare]);
  execFileSync('git', ['init', '--initial-branch=master', work]);
  const commit = (message: string, author: string, files: Record<string, string>): void => {
    for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(work, file), content);
    git(work, 'add', '-A');
    const [name, email] = author.split('|') as [string, string];
    execFileSync('git', ['-c', `user.name=${name}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', message], {
      cwd: work,
    });
  };
  commit('Initial shop', 'Ana|ana@example.com', {
    'package.json': `${JSON.stringify({ name: 'shop', version: '2.3.0' }, null, 2)}\n`,
    'README.md': 'shop\n',
  });
  git(work, '-c', 'user.name=Ana', '-c', 'user.email=ana@example.com', 'tag', '-a', 'v2.3.0', '-m', 'Release 2.3.0');
  git(work, 'checkout', '-q', '-b', 'develop');
  commit('Start 2.4.0', 'Flow|flow@localhost', {
    'package.json': `${JSON.stringify({ name: 'shop', version: '2.4.0' }, null, 2)}\n`,
  });
  commit('REL-12 fix checkout rounding', 'Ana|ana@example.com', { 'checkout.js': 'round()\n' });
  commit('REL-15 add coupon codes', 'Bo|bo@example.com', { 'coupons.js': 'coupons()\n' });
  git(work, 'push', '-q', bare, 'master', 'develop', '--tags');
  return bare;
}
