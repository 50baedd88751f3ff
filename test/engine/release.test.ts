import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { EventDispatchResult } from '../../common/event-waits';
import type { RunResult } from '../../common/run-types';
import type { FinishedBuild } from '../support/fake-jenkins';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { adfText, git, PREPRODUCTION_ARTIFACTS, ReleaseWorld } from '../support/release-world';
import { uniqueName } from '../support/stack';

const JOB = 'shop-preproduction';
const GROUP = 'release-REL';
/** The steps of examples/release.yaml, in order. */
const STEPS = [
  'ticket',
  'release',
  'branch',
  'changelog',
  'link',
  'watchers',
  'status',
  'build',
  'announce_start',
  'build_done',
  'tag',
  'next',
  'bump',
  'artifacts',
  'deploy',
  'comment',
  'announce',
  'mail',
  'gave_up',
  'gave_up_announce',
];

/**
 * The release train of examples/release.yaml, end to end: real gateway, dispatcher, trains, interpreter and worker on
 * real Temporal and MongoDB-wire; a real bare git repository; Jira, Jenkins and Slack as local servers speaking their
 * REST APIs to the real client libraries; a real SMTP server; and rsync into a temporary directory. The tests run in
 * order, as one release: it starts, waits for its build, refuses a second start, ignores a red build, resumes on a
 * green one, and frees its train when it ends; then the next release, which gets no green build, stops and says so.
 */
describe('engine: the release train example, end to end', () => {
  let world: ReleaseWorld;
  let harness: Harness;
  let scratch: string;
  let bare: string;
  let developBefore: string;
  /** The workflow id of the release run on the track. */
  let release: string;
  let failedBuild: FinishedBuild;

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

  /** Posts an event and resolves with its dispatcher's result. */
  async function dispatch(source: string, type: string, body: object): Promise<EventDispatchResult> {
    const posted = await request(harness.app)
      .post(`/events/${source}/${type}`)
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', uniqueName(`${source}-${type}`))
      .send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    return (await harness.client.workflow.getHandle(posted.body.workflowId as string).result()) as EventDispatchResult;
  }
  const startRelease = (issue: string, user: string): Promise<EventDispatchResult> =>
    dispatch('jira', 'issue_transitioned', { issue, project: 'REL', from: 'In Progress', to: 'Start Release', user });
  /** What Flow's Jenkins webhook makes of the Notification plugin's FINALIZED delivery for a build. */
  const buildFinished = (build: FinishedBuild, status: string): Promise<EventDispatchResult> =>
    dispatch('jenkins', 'build_finished', {
      job: JOB,
      job_name: JOB,
      number: build.number,
      status,
      url: build.url,
      parameters: build.parameters,
    });
  /** The run's current details, as the Temporal UI shows them. */
  const details = async (workflowId: string): Promise<string> =>
    (
      await harness.client.workflow
        .getHandle(workflowId)
        .query<{ currentDetails: string }>('__temporal_workflow_metadata')
    ).currentDetails;
  const status = async (workflowId: string): Promise<string> =>
    (await harness.client.workflow.getHandle(workflowId).describe()).status.name;
  const train = (group: string) =>
    request(harness.app)
      .get(`/api/trains/${encodeURIComponent(group)}`)
      .set('Authorization', harness.auth);
  const waitingForBuild =
    /^Step 10\/20: Wait for a green preproduction build \(Waiting for jenkins\/build_finished \(where .*parameters\.RELEASE_TICKET = "REL-100".*\) until \d{4}-/;

  it('starts a release on "Start Release": cuts the branch, tells Jira and Slack, triggers the build, then waits for it', async function () {
    this.timeout(120_000);
    const started = await startRelease('REL-100', 'ana');
    assert.deepEqual(started.rejected ?? [], []);
    assert.equal(started.matched.length, 1, JSON.stringify(started));
    assert.equal(started.matched[0]!.definition, 'release');
    assert.deepEqual(started.matched[0]!.train, { group: GROUP, outcome: 'holding', position: 0 });
    release = started.matched[0]!.workflowId;

    // The run parks on its wait; the Temporal UI says what for.
    await eventually(
      async () => (waitingForBuild.test(await details(release)) ? true : undefined),
      60_000,
      'the release to wait for its build',
    );
    assert.equal(await status(release), 'RUNNING');
    assert.equal(git(bare, 'tag', '--list', 'v2.4.0'), '', 'nothing is tagged before the build');
    assert.equal(world.jenkins.to(`/job/${JOB}/1/`).length, 0, 'no artifacts are asked for before the build');
    assert.equal(world.smtp.received.length, 0);

    // The release branch, cut from develop.
    assert.equal(git(bare, 'rev-parse', 'refs/heads/release/2.4.0'), developBefore);

    // Jira: every changelog ticket linked, committers watching, the status comment.
    const ticket = world.jira.issue('REL-100');
    assert.deepEqual(ticket.links.map((link) => [link.type, link.inwardIssue, link.outwardIssue]).sort(), [
      ['Relates', 'REL-100', 'REL-12'],
      ['Relates', 'REL-100', 'REL-15'],
    ]);
    assert.deepEqual(ticket.watchers.sort(), ['5b10ac8d82e05b22cc7d4ef5', '60f1aa9f2c3b4d0069a1b2c3']);
    assert.equal(ticket.comments.length, 1);
    const comment = adfText(ticket.comments[0]!.body);
    assert.match(comment, /^Release 2\.4\.0 started by ana\./);
    assert.match(comment, new RegExp(`Branch release/2\\.4\\.0 was cut from develop at ${developBefore}\\.`));
    assert.match(comment, /3 commits, tickets: REL-15, REL-12\./);
    assert.match(comment, /The preproduction build starts now; the release goes on when it is green\./);

    // Jenkins: the preproduction build, with the release's parameters.
    const triggers = world.jenkins.to(`/job/${JOB}/buildWithParameters`);
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

  it('rejects a second "Start Release" of the project while the release runs, naming the release on the track', async function () {
    this.timeout(60_000);
    world.jira.addIssue('REL-101', { summary: 'Release 2.5.0', status: 'Start Release', fixVersions: ['2.5.0'] });
    const second = await startRelease('REL-101', 'bo');
    assert.deepEqual(second.matched, []);
    assert.equal(second.rejected?.length, 1, JSON.stringify(second));
    const rejected = second.rejected?.[0];
    assert.ok(rejected);
    assert.deepEqual([rejected.definition, rejected.group, rejected.holder], ['release', GROUP, release]);
    assert.match(rejected.reason, /is busy/);
    const runs = await harness.client.workflow.count(`FlowEventId = "${second.eventId}"`);
    assert.equal(runs.count, 1, 'only the dispatcher of the rejected event exists');

    const line = await train(GROUP);
    assert.equal(line.status, 200, JSON.stringify(line.body));
    assert.equal(line.body.holder.workflowId, release);
    assert.equal(line.body.holder.definition, 'release');
    assert.deepEqual(line.body.queue, []);

    // Nothing of the second release happened.
    assert.equal(git(bare, 'branch', '--list', 'release/2.5.0'), '');
    assert.equal(world.jira.issue('REL-101').comments.length, 0);
    assert.equal(world.jenkins.to(`/job/${JOB}/buildWithParameters`).length, 1);
    assert.equal(world.slack.messages.length, 1);
    assert.match(await details(release), waitingForBuild);
  });

  it('keeps waiting when the preproduction build fails, and says in the dispatcher result why it did not resume', async function () {
    this.timeout(60_000);
    failedBuild = world.jenkins.startQueued(JOB, { result: 'FAILURE' });
    assert.equal(failedBuild.parameters['RELEASE_TICKET'], 'REL-100');
    const red = await buildFinished(failedBuild, 'FAILURE');
    assert.deepEqual(red.matched, []);
    assert.deepEqual(red.waits?.delivered, []);
    assert.deepEqual(
      red.waits?.skipped.map((wait) => [wait.workflowId, wait.stepId]),
      [[release, 'build_done']],
    );
    assert.match(red.waits?.skipped[0]?.reason ?? '', /^if .*SUCCESS.* is false$/);

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await status(release), 'RUNNING');
    assert.match(await details(release), waitingForBuild);
    assert.equal(git(bare, 'tag', '--list', 'v2.4.0'), '');
    assert.equal(world.jira.issue('REL-100').comments.length, 1);
  });

  it('resumes on a green rebuild: tags, bumps develop, lists and deploys the artifacts, tells Jira, Slack and the stakeholders', async function () {
    this.timeout(120_000);
    const releaseCommit = git(bare, 'rev-parse', 'refs/heads/release/2.4.0');
    const green = world.jenkins.rebuild(JOB, failedBuild.number, { artifacts: PREPRODUCTION_ARTIFACTS });
    const delivered = await buildFinished(green, 'SUCCESS');
    assert.deepEqual(delivered.matched, []);
    assert.deepEqual(delivered.waits, { delivered: [{ workflowId: release, stepId: 'build_done' }], skipped: [] });

    const run = (await harness.client.workflow.getHandle(release).result()) as RunResult;
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      STEPS.map((id) => `${id}:${id.startsWith('gave_up') ? 'skipped' : 'completed'}`),
    );

    // The tag, on the commit that was built, naming the build.
    assert.equal(git(bare, 'rev-parse', 'refs/tags/v2.4.0^{commit}'), releaseCommit);
    assert.equal(git(bare, 'cat-file', '-t', 'refs/tags/v2.4.0'), 'tag');
    assert.equal(
      git(bare, 'tag', '--list', '--format=%(contents:subject)', 'v2.4.0'),
      `Release 2.4.0 (REL-100), preproduction build #${green.number}`,
    );
    // develop moved on to the next minor version, in one new commit.
    assert.equal(git(bare, 'rev-parse', 'refs/heads/develop~1'), developBefore);
    assert.equal(JSON.parse(git(bare, 'show', 'refs/heads/develop:package.json')).version, '2.5.0');
    assert.equal(git(bare, 'log', '-1', '--format=%s', 'refs/heads/develop'), 'Start 2.5.0 after releasing 2.4.0');

    // Jenkins was asked for the green build's artifacts, not the red one's.
    assert.equal(world.jenkins.to(`/job/${JOB}/${green.number}/api/json`).length, 1);
    assert.equal(world.jenkins.to(`/job/${JOB}/${failedBuild.number}/api/json`).length, 0);
    const artifactUrls = PREPRODUCTION_ARTIFACTS.map((file) => `${green.url}artifact/${file}`);

    // The artifact arrived on the test environment; excluded and stale files did not survive.
    const testEnv = path.join(scratch, 'test-env', 'shop');
    assert.deepEqual(fs.readdirSync(testEnv).sort(), ['README.txt', 'app.tar.gz']);
    assert.equal(fs.readFileSync(path.join(testEnv, 'app.tar.gz'), 'utf8'), 'the 2.4.0 build');

    // Jira comment (with links to the artifacts), Slack message and email.
    const comments = world.jira.issue('REL-100').comments.map((c) => adfText(c.body));
    assert.equal(comments.length, 2);
    const [succeeded, artifacts, tagged, develop] = comments[1]!.split('\n');
    assert.equal(succeeded, `Preproduction build #${green.number} of 2.4.0 succeeded: ${green.url}`);
    assert.equal(artifacts, `Artifacts: ${artifactUrls.join(' ')}`);
    assert.equal(tagged, 'Tagged v2.4.0, deployed to the test environment (2 files).');
    assert.equal(develop, 'develop now builds 2.5.0.');
    assert.equal(world.slack.messages.length, 2);
    assert.equal(
      world.slack.messages.at(-1)?.text,
      `:white_check_mark: 2.4.0 is on the test environment (REL-100, build #${green.number}).`,
    );
    assert.equal(world.smtp.received.length, 1);
    const mail = world.smtp.received[0]!;
    assert.deepEqual(mail.envelopeTo, ['release-stakeholders@example.com']);
    assert.equal(mail.mail.subject, 'Release 2.4.0 is ready for testing');
    assert.match(mail.mail.text ?? '', /Release 2\.4\.0 \(REL-100\) passed its preproduction build/);
    assert.match(mail.mail.text ?? '', /Tag: v2\.4\.0\./);
  });

  it('frees the train when the release ends; the next release is admitted, and without a green build it stops and says so', async function () {
    this.timeout(90_000);
    await eventually(async () => ((await train(GROUP)).status === 404 ? true : undefined), 30_000, 'the train to end');

    // The shipped definition, but waiting 5 seconds for its build instead of two days.
    const [shipped] = world.examples();
    assert.equal(shipped?.yaml.split('timeout: 2d').length, 2, 'the example waits two days for its build');
    const saved = await request(harness.app)
      .put('/api/definitions/release')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(shipped.yaml.replace('timeout: 2d', 'timeout: 5s'));
    assert.deepEqual(saved.body, { id: 'release', revision: 2, unchanged: false });

    const next = await startRelease('REL-101', 'bo');
    assert.deepEqual(next.rejected ?? [], []);
    assert.equal(next.matched[0]?.definition, 'release');
    assert.deepEqual(next.matched[0]?.train, { group: GROUP, outcome: 'holding', position: 0 });
    const line = await train(GROUP);
    assert.equal(line.body.holder.workflowId, next.matched[0].workflowId);

    const run = (await harness.client.workflow.getHandle(next.matched[0].workflowId).result()) as RunResult;
    // Only Flow's bump commit is new since v2.4.0, and it names no ticket: there is nothing to link.
    const ran = new Set(
      STEPS.slice(0, STEPS.indexOf('build_done') + 1)
        .filter((id) => id !== 'link')
        .concat(['gave_up', 'gave_up_announce']),
    );
    assert.deepEqual(
      run.steps.map((step) => `${step.id}:${step.status}`),
      STEPS.map((id) => `${id}:${ran.has(id) ? 'completed' : 'skipped'}`),
    );
    const comments = world.jira.issue('REL-101').comments.map((c) => adfText(c.body));
    assert.equal(comments.length, 2);
    assert.match(comments[1]!, /^No green preproduction build of 2\.5\.0 was reported within 2 days/);
    assert.match(comments[1]!, /the release train of REL is free again/);
    assert.equal(
      world.slack.messages.at(-1)?.text,
      ':warning: Release 2.5.0 (REL-101) stopped: no green preproduction build within 2 days.',
    );
    assert.equal(git(bare, 'tag', '--list', 'v2.5.0'), '');
    assert.equal(world.smtp.received.length, 1, 'no email for a release that stopped');
    await eventually(async () => ((await train(GROUP)).status === 404 ? true : undefined), 30_000, 'the train to end');
  });
});
