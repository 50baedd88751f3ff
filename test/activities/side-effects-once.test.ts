import assert from 'node:assert/strict';
import { emailSend } from '../../activities/actions/email-send';
import { jenkinsTriggerBuild } from '../../activities/actions/jenkins-trigger-build';
import { DELIVERY_PROPERTY, jiraComment } from '../../activities/actions/jira-comment';
import { slackPostMessage, STEP_METADATA_TYPE } from '../../activities/actions/slack-post-message';
import type { StepMeta } from '../../activities/define-action';
import { FakeJenkins } from '../support/fake-jenkins';
import { FakeJira } from '../support/fake-jira';
import { FakeSlack } from '../support/fake-slack';
import { failureOf } from '../support/failure-of';
import { runAction } from '../support/run-action';
import { SmtpReceiver } from '../support/smtp-receiver';

/**
 * Side effects once (issue 20): a first attempt whose answer is lost after the peer did the work (the peer records
 * the comment, message or build, then answers 500) is followed by a retry, which finds what the first attempt did and
 * returns it instead of doing it again; another step of the same run does it again. Real client libraries (jira.js,
 * @slack/web-api, jenkins, nodemailer) against the local peers.
 */
const RUN = 'release-demo-7f3a';
const step = (stepId: string): Partial<StepMeta> => ({ workflowId: RUN, stepId });

describe('activities: side effects once', () => {
  describe('jira.comment', () => {
    let jira: FakeJira;
    before(async () => {
      jira = await FakeJira.start();
    });
    after(() => jira.stop());
    beforeEach(() => jira.reset());

    it('posts one comment when the answer to the first attempt is lost, and a second for another step', async () => {
      jira.addIssue('REL-70');
      jira.loseNextAnswer('POST');
      const first = await failureOf(
        runAction(jiraComment, { issue: 'REL-70', text: 'Released 2.4.0' }, { env: jira.env(), step: step('note') }),
      );
      assert.equal(first.nonRetryable, false, 'a lost answer is retried');
      assert.equal(jira.issue('REL-70').comments.length, 1, 'Jira took the comment before the answer was lost');

      const retry = await runAction(
        jiraComment,
        { issue: 'REL-70', text: 'Released 2.4.0' },
        { env: jira.env(), step: step('note'), attempt: 2 },
      );
      const comments = jira.issue('REL-70').comments;
      assert.equal(comments.length, 1, 'the retry found the comment instead of posting again');
      assert.deepEqual(retry, { issue: 'REL-70', comment_id: comments[0]!.id });
      assert.deepEqual(comments[0]!.properties, [{ key: DELIVERY_PROPERTY, value: { delivery: `${RUN}/note` } }]);

      await runAction(
        jiraComment,
        { issue: 'REL-70', text: 'Released 2.4.0' },
        { env: jira.env(), step: step('again') },
      );
      assert.equal(jira.issue('REL-70').comments.length, 2, 'another step of the run comments again');
    });

    it('reads the properties through comment/list when the comments come without them', async () => {
      jira.addIssue('REL-72');
      jira.commentsExpandProperties = false;
      jira.loseNextAnswer('POST');
      const input = { issue: 'REL-72', text: 'Released 2.4.0' };
      await failureOf(runAction(jiraComment, input, { env: jira.env(), step: step('note') }));
      const retry = await runAction(jiraComment, input, { env: jira.env(), step: step('note'), attempt: 2 });
      const comments = jira.issue('REL-72').comments;
      assert.equal(comments.length, 1);
      assert.deepEqual(retry, { issue: 'REL-72', comment_id: comments[0]!.id });
      assert.deepEqual(jira.to('POST', '/comment/list').at(-1)?.body, { ids: [Number(comments[0]!.id)] });
    });

    it("finds its comment a page back, behind other people's newer comments", async () => {
      jira.addIssue('REL-71');
      await runAction(jiraComment, { issue: 'REL-71', text: 'Deployed' }, { env: jira.env(), step: step('deploy') });
      const issue = jira.issue('REL-71');
      for (let i = 0; i < 150; i++) issue.comments.push({ id: String(90_000 + i), body: { type: 'doc' } });
      const retry = await runAction(
        jiraComment,
        { issue: 'REL-71', text: 'Deployed' },
        { env: jira.env(), step: step('deploy'), attempt: 2 },
      );
      assert.equal(issue.comments.length, 151);
      assert.deepEqual(retry, { issue: 'REL-71', comment_id: issue.comments[0]!.id });
      assert.equal(jira.to('GET', '/issue/REL-71/comment').length, 3, 'one look before the post, two pages after');
    });
  });

  describe('slack.post_message', () => {
    const TOKEN = 'xoxb-test-0000-flow';
    let slack: FakeSlack;
    let env: Record<string, string>;
    before(async () => {
      slack = await new FakeSlack({ token: TOKEN }).start();
      env = { SLACK_TOKEN: TOKEN, SLACK_API_URL: slack.url };
    });
    after(() => slack.stop());
    beforeEach(() => slack.reset());

    it('posts one message when the answer to the first attempt is lost, and a second for another step', async () => {
      slack.loseNextPostAnswer();
      const first = await failureOf(
        runAction(slackPostMessage, { channel: '#releases', text: 'Release 2.4.0 is out' }, { env, step: step('ann') }),
      );
      assert.equal(first.nonRetryable, false, 'a lost answer is retried');
      assert.equal(slack.messages.length, 1, 'Slack took the message before the answer was lost');
      assert.ok(
        !slack.requests.some((request) => request.apiMethod === 'conversations.history'),
        'a first attempt does not look',
      );

      const retry = await runAction(
        slackPostMessage,
        { channel: '#releases', text: 'Release 2.4.0 is out' },
        { env, step: step('ann'), attempt: 2 },
      );
      assert.equal(slack.messages.length, 1, 'the retry found the message instead of posting again');
      assert.deepEqual(retry, { channel: 'C0RELEASES', ts: slack.messages[0]!.ts });
      assert.deepEqual(slack.messages[0]!.metadata, {
        event_type: STEP_METADATA_TYPE,
        event_payload: { delivery: `${RUN}/ann` },
      });

      await runAction(
        slackPostMessage,
        { channel: '#releases', text: 'Release 2.4.0 is out' },
        { env, step: step('ann-again'), attempt: 2 },
      );
      assert.equal(slack.messages.length, 2, 'another step of the run posts again, even on a retry');
    });

    it('posts again, at least once, when the bot may not read the channel (missing_scope), and waits out a rate limit', async () => {
      slack.loseNextPostAnswer();
      const input = { channel: 'C0RELEASES', text: 'Release 2.4.0 is out' };
      await failureOf(runAction(slackPostMessage, input, { env, step: step('scope') }));
      slack.failNext({ status: 429, retryAfterSeconds: 3 });
      const limited = await failureOf(runAction(slackPostMessage, input, { env, step: step('scope'), attempt: 2 }));
      assert.equal(limited.nonRetryable, false, 'a rate-limited look is retried, not skipped');
      assert.equal(slack.messages.length, 1);
      slack.failNext({ error: 'missing_scope' });
      await runAction(slackPostMessage, input, { env, step: step('scope'), attempt: 3 });
      assert.equal(slack.messages.length, 2, 'without the history scope the retry cannot look, and posts');
    });

    it("finds a lost reply among its thread's replies", async () => {
      const parent = (await runAction(slackPostMessage, { channel: 'C0RELEASES', text: 'Release 2.4.0' }, { env })) as {
        ts: string;
      };
      slack.loseNextPostAnswer(503);
      const reply = { channel: 'C0RELEASES', thread_ts: parent.ts, text: 'Build passed' };
      await failureOf(runAction(slackPostMessage, reply, { env, step: step('reply') }));
      const retry = await runAction(slackPostMessage, reply, { env, step: step('reply'), attempt: 3 });
      const replies = slack.messages.filter((message) => message.thread_ts === parent.ts);
      assert.equal(replies.length, 1);
      assert.deepEqual(retry, { channel: 'C0RELEASES', ts: replies[0]!.ts });
      assert.ok(slack.requests.some((request) => request.apiMethod === 'conversations.replies'));
    });
  });

  describe('jenkins.trigger_build', () => {
    const USER = 'flow-bot';
    const TOKEN = '11aa22bb33cc44dd55ee66ff77aa88bb';
    let jenkins: FakeJenkins;
    let env: Record<string, string>;
    before(async () => {
      jenkins = await new FakeJenkins({ user: USER, token: TOKEN }).start();
      env = { JENKINS_URL: jenkins.url, JENKINS_USER: USER, JENKINS_TOKEN: TOKEN };
    });
    after(() => jenkins.stop());

    it('queues one build when the answer to the first attempt is lost, and a second for another step', async () => {
      jenkins.addJob('release/app', 10, { parameters: ['VERSION', 'FLOW_DELIVERY'] });
      jenkins.loseNextTriggerAnswer();
      const input = { job: 'release/app', parameters: { VERSION: '2.4.0' } };
      const first = await failureOf(runAction(jenkinsTriggerBuild, input, { env, step: step('build') }));
      assert.equal(first.nonRetryable, false, 'a lost answer is retried');
      assert.deepEqual(jenkins.triggered('release/app'), { queued: 1, builds: 0 });

      const retry = (await runAction(jenkinsTriggerBuild, input, { env, step: step('build'), attempt: 2 })) as {
        queue_id: number;
      };
      assert.deepEqual(jenkins.triggered('release/app'), { queued: 1, builds: 0 }, 'found in the queue');

      // Once it started, the retry finds the build (the job declares FLOW_DELIVERY, so the build keeps it).
      const started = jenkins.startQueued('release/app');
      assert.equal(started.parameters['FLOW_DELIVERY'], `${RUN}/build`);
      const later = await runAction(jenkinsTriggerBuild, input, { env, step: step('build'), attempt: 3 });
      assert.deepEqual(later, { job: 'release/app', queue_id: retry.queue_id });
      assert.deepEqual(jenkins.triggered('release/app'), { queued: 0, builds: 1 }, 'found among the builds');

      await runAction(jenkinsTriggerBuild, input, { env, step: step('build-again') });
      assert.deepEqual(jenkins.triggered('release/app'), { queued: 1, builds: 1 }, 'another step queues again');
    });

    it('finds a build only while it is queued when the job does not declare FLOW_DELIVERY (as documented)', async () => {
      jenkins.addJob('release/lib', 1, { parameters: ['VERSION'] });
      const input = { job: 'release/lib', parameters: { VERSION: '1.0.0' } };
      jenkins.loseNextTriggerAnswer();
      await failureOf(runAction(jenkinsTriggerBuild, input, { env, step: step('lib') }));
      await runAction(jenkinsTriggerBuild, input, { env, step: step('lib'), attempt: 2 });
      assert.deepEqual(jenkins.triggered('release/lib'), { queued: 1, builds: 0 });
      // Jenkins drops the undeclared parameter when the build starts (SECURITY-170): a later retry cannot find it.
      assert.deepEqual(jenkins.startQueued('release/lib').parameters, { VERSION: '1.0.0' });
      await runAction(jenkinsTriggerBuild, input, { env, step: step('lib'), attempt: 3 });
      assert.deepEqual(jenkins.triggered('release/lib'), { queued: 1, builds: 1 });
    });

    it('triggers a job without parameters through build, without FLOW_DELIVERY, which Jenkins would refuse', async () => {
      jenkins.addJob('docs', 1, { parameters: [] });
      await runAction(jenkinsTriggerBuild, { job: 'docs' }, { env, step: step('docs') });
      const post = jenkins.requests.filter((request) => request.method === 'POST').at(-1);
      assert.equal(post?.path, '/job/docs/build');
      assert.deepEqual(post?.form, {});
    });

    it('adds FLOW_DELIVERY to a parameterised job triggered without parameters, which then take their defaults', async () => {
      jenkins.addJob('deploy', 1, { parameters: ['TARGET', 'FLOW_DELIVERY'] });
      await runAction(jenkinsTriggerBuild, { job: 'deploy' }, { env, step: step('deploy') });
      await runAction(jenkinsTriggerBuild, { job: 'deploy' }, { env, step: step('deploy'), attempt: 2 });
      const post = jenkins.requests.filter((request) => request.method === 'POST').at(-1);
      assert.equal(post?.path, '/job/deploy/buildWithParameters');
      assert.deepEqual(post?.form, { FLOW_DELIVERY: `${RUN}/deploy` });
      assert.deepEqual(jenkins.triggered('deploy'), { queued: 1, builds: 0 });
    });
  });

  describe('email.send', () => {
    const PASS = 'smtp-secret-0000';
    let smtp: SmtpReceiver;
    let env: Record<string, string>;
    before(async () => {
      smtp = await new SmtpReceiver({ user: 'flow', pass: PASS }).start();
      env = {
        SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${smtp.port}`,
        SMTP_FROM: 'Flow <flow@example.com>',
        FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: '1',
      };
    });
    after(() => smtp.stop());

    it('sends the same Message-ID in every attempt of a step, and another for another step', async () => {
      const mail = { to: ['ada@example.com'], subject: 'Release 2.4.0', text: 'Out now.' };
      const first = (await runAction(emailSend, mail, { env, step: step('mail') })) as { message_id: string };
      const retry = (await runAction(emailSend, mail, { env, step: step('mail'), attempt: 2 })) as {
        message_id: string;
      };
      const other = (await runAction(emailSend, mail, { env, step: step('mail-2') })) as { message_id: string };
      assert.equal(first.message_id, `<flow.${RUN}/mail@example.com>`);
      assert.equal(retry.message_id, first.message_id);
      assert.notEqual(other.message_id, first.message_id);
      assert.deepEqual(
        smtp.received.map((received) => received.mail.messageId),
        [first.message_id, first.message_id, other.message_id],
      );
    });

    it('hashes a run and step that are not plain enough for a Message-ID, keeping it stable', async () => {
      const mail = { to: ['ada@example.com'], subject: 'Release', text: 'Out.', from: 'Bot <bot@ci.example.org>' };
      const odd = { workflowId: 'release-"odd" id', stepId: 'mail' };
      const a = (await runAction(emailSend, mail, { env, step: odd })) as { message_id: string };
      const b = (await runAction(emailSend, mail, { env, step: odd, attempt: 2 })) as { message_id: string };
      assert.match(a.message_id, /^<flow\.[0-9a-f]{40}@ci\.example\.org>$/);
      assert.equal(a.message_id, b.message_id);
    });
  });
});
