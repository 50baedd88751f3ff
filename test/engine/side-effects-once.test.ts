import assert from 'node:assert/strict';
import request from 'supertest';
import type { RunResult } from '../../common/run-types';
import { FakeJenkins } from '../support/fake-jenkins';
import { FakeJira } from '../support/fake-jira';
import { FakeSlack } from '../support/fake-slack';
import { startHarness, type Harness } from '../support/harness';
import { localActivityMarkers } from '../support/local-activity-markers';

const SLACK_TOKEN = 'xoxb-test-0000-flow';
const JENKINS = { user: 'flow', token: '11aa22bb33cc44dd55ee66ff77aa88bb' };

const definition = `
id: side-effects-once
name: Side effects once
on:
  - source: demo
    type: once
steps:
  - id: comment
    action: jira.comment
    with: { issue: REL-90, text: "Release \${{ event.version }} started" }
    retry: { initialInterval: 100ms }
  - id: announce
    action: slack.post_message
    with: { channel: "#releases", text: "Release \${{ event.version }} started" }
    timeout: 3s
    retry: { initialInterval: 100ms }
  - id: build
    action: jenkins.trigger_build
    with: { job: release/app, parameters: { VERSION: "\${{ event.version }}" } }
    retry: { initialInterval: 100ms }
  - id: comment_again
    action: jira.comment
    with: { issue: REL-90, text: "Build queued" }
`;

/**
 * Side effects once through the engine (issue 20): a real worker on real Temporal and MongoDB-wire runs a definition
 * whose Jira comment, Slack message and Jenkins build each lose their first answer after the peer did the work (Jira
 * and Jenkins answer 500 after storing; Slack holds its answer until the step's 3 s timeout). Temporal retries each
 * step, the retry finds what the first attempt did, and the peers end up with one comment per step, one message and
 * one build.
 */
describe('engine: side effects once when an answer is lost', () => {
  let harness: Harness;
  let jira: FakeJira;
  let slack: FakeSlack;
  let jenkins: FakeJenkins;

  before(async function () {
    this.timeout(120_000);
    jira = await FakeJira.start();
    slack = await new FakeSlack({ token: SLACK_TOKEN }).start();
    jenkins = await new FakeJenkins(JENKINS).start();
    jenkins.addJob('release/app', 1, { parameters: ['VERSION', 'FLOW_DELIVERY'] });
    harness = await startHarness({
      deps: {
        env: {
          ...jira.env(),
          SLACK_TOKEN,
          SLACK_API_URL: slack.url,
          JENKINS_URL: jenkins.url,
          JENKINS_USER: JENKINS.user,
          JENKINS_TOKEN: JENKINS.token,
        },
      },
    });
    const saved = await request(harness.app)
      .put('/api/definitions/side-effects-once')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(definition);
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });

  after(async () => {
    await harness?.stop();
    await Promise.all([jira?.stop(), slack?.stop(), jenkins?.stop()]);
  });

  it('retries each step after its lost answer and leaves one comment, message and build per step', async function () {
    this.timeout(90_000);
    jira.addIssue('REL-90');
    jira.loseNextAnswer('POST');
    slack.holdNextPost();
    jenkins.loseNextTriggerAnswer();

    const workflowId = await harness.startRun('demo', 'once', { version: '2.4.0' });
    const run = (await harness.client.workflow.getHandle(workflowId).result()) as RunResult;
    assert.deepEqual(
      run.steps.map((step) => [step.id, step.status]),
      [
        ['comment', 'completed'],
        ['announce', 'completed'],
        ['build', 'completed'],
        ['comment_again', 'completed'],
      ],
    );

    const comments = jira.issue('REL-90').comments;
    assert.deepEqual(
      comments.map((comment) => comment.properties?.[0]?.value),
      [{ delivery: `${workflowId}/comment` }, { delivery: `${workflowId}/comment_again` }],
      'one comment for each step, none twice',
    );
    assert.equal(slack.messages.length, 1, 'one message');
    assert.deepEqual(slack.messages[0]!.metadata?.event_payload, { delivery: `${workflowId}/announce` });
    assert.deepEqual(jenkins.triggered('release/app'), { queued: 1, builds: 0 }, 'one build');
    assert.equal(jenkins.to('/job/release/job/app/buildWithParameters').length, 1);

    // Each of the three steps ran twice: the first attempt lost its answer, the retry found the side effect.
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = new Map<string, number>();
    for (const event of history.events ?? []) {
      const started = event.activityTaskStartedEventAttributes;
      if (!started) continue;
      const scheduled = history.events?.find(
        (candidate) => Number(candidate.eventId) === Number(started.scheduledEventId),
      )?.activityTaskScheduledEventAttributes;
      const type = scheduled?.activityType?.name ?? '?';
      attempts.set(type, Math.max(attempts.get(type) ?? 0, started.attempt ?? 0));
    }
    // jira.comment and jenkins.trigger_build run as local steps by default: their attempts are in their markers.
    for (const marker of localActivityMarkers(history.events ?? []))
      attempts.set(marker.activityType, Math.max(attempts.get(marker.activityType) ?? 0, marker.attempt));
    assert.equal(attempts.get('slack.post_message'), 2, JSON.stringify([...attempts]));
    assert.equal(attempts.get('jenkins.trigger_build'), 2, JSON.stringify([...attempts]));
    assert.equal(attempts.get('jira.comment'), 2, JSON.stringify([...attempts]));
  });
});
