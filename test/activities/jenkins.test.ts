import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { actionActivity, type ActionDeps, type StepMeta } from '../../activities';
import { jenkinsGetArtifacts } from '../../activities/actions/jenkins-get-artifacts';
import { jenkinsTriggerBuild } from '../../activities/actions/jenkins-trigger-build';
import { jenkinsWaitForBuild } from '../../activities/actions/jenkins-wait-for-build';
import { exampleStepErrors, renderExample } from '../support/example-steps';
import { FakeJenkins } from '../support/fake-jenkins';
import { failureOf } from '../support/failure-of';
import { eventually, HttpReceiver } from '../support/http-receiver';
import { runAction } from '../support/run-action';

const USER = 'flow-bot';
const TOKEN = '11aa22bb33cc44dd55ee66ff77aa88bb99';

describe('activities: jenkins.*', () => {
  let jenkins: FakeJenkins;
  let env: Record<string, string>;
  beforeEach(async () => {
    jenkins = await new FakeJenkins({ user: USER, token: TOKEN }).start();
    jenkins.addJob('release/build-app', 7);
    jenkins.addJob('docs-site', 120);
    env = { JENKINS_URL: jenkins.url, JENKINS_USER: USER, JENKINS_TOKEN: TOKEN };
  });
  afterEach(() => jenkins.stop());

  /** Runs wait_for_build and collects its heartbeats. */
  async function waitFor(input: object, heartbeatDetails?: unknown): Promise<{ output: unknown; beats: unknown[] }> {
    const beats: unknown[] = [];
    const output = await runAction(jenkinsWaitForBuild, input, {
      env,
      heartbeatDetails,
      onHeartbeat: (details) => beats.push(details),
    });
    return { output, beats };
  }

  describe('jenkins.trigger_build', () => {
    it('queues a build with its parameters through buildWithParameters, with basic auth and a CSRF crumb', async () => {
      const output = await runAction(
        jenkinsTriggerBuild,
        { job: 'release/build-app', parameters: { VERSION: '2.4.0', DRY_RUN: false, SHARDS: 4 } },
        { env },
      );

      assert.deepEqual(output, { job: 'release/build-app', queue_id: 41 });
      const posts = jenkins.requests.filter((request) => request.method === 'POST');
      assert.equal(posts.length, 1);
      const post = posts[0]!;
      assert.equal(post.path, '/job/release/job/build-app/buildWithParameters');
      // With the run and step, by which a retry finds this build instead of queueing another.
      assert.deepEqual(post.form, {
        VERSION: '2.4.0',
        DRY_RUN: 'false',
        SHARDS: '4',
        FLOW_DELIVERY: 'test-definition-test-event/step',
      });
      assert.equal(post.headers.authorization, `Basic ${Buffer.from(`${USER}:${TOKEN}`).toString('base64')}`);
      assert.ok(post.headers['jenkins-crumb'], 'the crumb fetched from /crumbIssuer is sent');
      assert.equal(jenkins.to('/crumbIssuer/api/json').length, 1);
    });

    it('queues a build without parameters through build', async () => {
      const output = await runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env });
      assert.deepEqual(output, { job: 'docs-site', queue_id: 41 });
      const post = jenkins.requests.find((request) => request.method === 'POST');
      assert.equal(post?.path, '/job/docs-site/build');
      assert.deepEqual(post?.form, {});
    });

    it('fails without retrying when the job does not exist, naming the job', async () => {
      const failure = await failureOf(runAction(jenkinsTriggerBuild, { job: 'release/no-such-job' }, { env }));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, 'PeerRejected');
      assert.match(failure.message, /could not read job release\/no-such-job: Jenkins answered 404/);
    });

    it('fails without retrying when Jenkins refuses the credentials, never quoting the token', async () => {
      const failure = await failureOf(
        runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env: { ...env, JENKINS_TOKEN: 'wrong-token' } }),
      );
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, 'PeerRejected');
      assert.match(failure.message, /Jenkins answered 401 \(check JENKINS_USER and JENKINS_TOKEN/);
      assert.ok(!failure.message.includes('wrong-token'));
      assert.equal(jenkins.requests.filter((request) => request.method === 'POST').length, 0);
    });

    it('retries when Jenkins fails with a 5xx or cannot be reached', async () => {
      jenkins.failNext(503);
      const unavailable = await failureOf(runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env }));
      assert.equal(unavailable.nonRetryable, false);
      assert.equal(unavailable.type, 'PeerUnavailable');
      assert.match(unavailable.message, /Jenkins answered 503/);

      const unreachable = await failureOf(
        runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env: { ...env, JENKINS_URL: 'http://127.0.0.1:1' } }),
      );
      assert.equal(unreachable.nonRetryable, false);
      assert.equal(unreachable.type, 'PeerUnavailable');
      assert.match(unreachable.message, /Jenkins is unreachable/);
    });

    it('fails with MissingConfiguration naming every missing variable, without calling Jenkins', async () => {
      const failure = await failureOf(
        runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env: { JENKINS_URL: jenkins.url } }),
      );
      assert.equal(failure.type, 'MissingConfiguration');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /JENKINS_USER, JENKINS_TOKEN/);

      const notUrl = await failureOf(
        runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env: { ...env, JENKINS_URL: 'ci.example.com' } }),
      );
      assert.equal(notUrl.type, 'MissingConfiguration');
      assert.match(notUrl.message, /JENKINS_URL/);
      assert.equal(jenkins.requests.length, 0);
    });

    it('refuses job names that would address another path, before calling Jenkins', async () => {
      for (const job of ['../admin', 'release/../../script', '/docs-site', 'a//b', 'docs site', 'docs?x=1']) {
        const failure = await failureOf(runAction(jenkinsTriggerBuild, { job }, { env }));
        assert.equal(failure.type, 'InvalidActionInput', job);
        assert.match(failure.message, /job: /, job);
      }
      assert.equal(jenkins.requests.length, 0);
    });
  });

  describe('jenkins.wait_for_build', () => {
    it('follows the queue item to its build and polls until it finishes, heartbeating every poll', async () => {
      jenkins.scriptNextBuild('release/build-app', { queuedFor: 2, buildingFor: 2, durationMs: 93_000 });
      const { queue_id } = (await runAction(jenkinsTriggerBuild, { job: 'release/build-app' }, { env })) as {
        queue_id: number;
      };

      const { output, beats } = await waitFor({ job: 'release/build-app', queue_id, poll_interval: '50ms' });

      assert.deepEqual(output, {
        job: 'release/build-app',
        number: 7,
        result: 'SUCCESS',
        url: jenkins.buildUrl('release/build-app', 7),
        duration_ms: 93_000,
      });
      assert.deepEqual(beats, [
        { queue_id, polls: 1 },
        { queue_id, polls: 2 },
        { build_number: 7, polls: 3 },
        { build_number: 7, polls: 4 },
        { build_number: 7, polls: 5 },
        { build_number: 7, polls: 6 },
      ]);
      assert.equal(jenkins.to(`/queue/item/${queue_id}/api/json`).length, 3);
      assert.equal(jenkins.to('/job/release/job/build-app/7/api/json').length, 3);
    });

    it('resumes from the heartbeat of an earlier attempt without going back to the queue', async () => {
      jenkins.addBuild('release/build-app', { number: 7, buildingFor: 1, result: 'SUCCESS' });

      const { output, beats } = await waitFor(
        { job: 'release/build-app', queue_id: 41, poll_interval: '50ms' },
        { build_number: 7, polls: 3 },
      );

      assert.equal((output as { number: number }).number, 7);
      assert.deepEqual(beats, [
        { build_number: 7, polls: 4 },
        { build_number: 7, polls: 5 },
      ]);
      assert.equal(jenkins.to('/queue/').length, 0, 'the queue is never asked again');
    });

    it('waits for a build given by number', async () => {
      jenkins.addBuild('docs-site', { number: 118, result: 'UNSTABLE' });
      const { output, beats } = await waitFor({
        job: 'docs-site',
        build_number: 118,
        poll_interval: '50ms',
        fail_on_result: false,
      });
      assert.equal((output as { result: string }).result, 'UNSTABLE');
      assert.deepEqual(beats, [{ build_number: 118, polls: 1 }]);
    });

    it('fails without retrying as BuildFailed, naming job, number and result, when the build fails', async () => {
      for (const result of ['FAILURE', 'UNSTABLE', 'ABORTED'] as const) {
        jenkins.scriptNextBuild('release/build-app', { buildingFor: 1, result });
        const { queue_id } = (await runAction(jenkinsTriggerBuild, { job: 'release/build-app' }, { env })) as {
          queue_id: number;
        };
        const failure = await failureOf(waitFor({ job: 'release/build-app', queue_id, poll_interval: '50ms' }));
        assert.equal(failure.type, 'BuildFailed');
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, new RegExp(`^release/build-app #\\d+ finished with ${result}: http://`));
        const [details] = failure.details as [{ result: string; number: number }];
        assert.equal(details.result, result);
      }
    });

    it('returns a failed result instead of failing when fail_on_result is off', async () => {
      jenkins.addBuild('release/build-app', { number: 9, result: 'FAILURE', durationMs: 5_000 });
      const { output } = await waitFor({
        job: 'release/build-app',
        build_number: 9,
        fail_on_result: false,
        poll_interval: '50ms',
      });
      assert.deepEqual(output, {
        job: 'release/build-app',
        number: 9,
        result: 'FAILURE',
        url: jenkins.buildUrl('release/build-app', 9),
        duration_ms: 5_000,
      });
    });

    it('fails without retrying as BuildCancelled when the queue item is cancelled', async () => {
      jenkins.scriptNextBuild('docs-site', { queuedFor: 1, cancelledInQueue: true });
      const { queue_id } = (await runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env })) as {
        queue_id: number;
      };
      const failure = await failureOf(waitFor({ job: 'docs-site', queue_id, poll_interval: '50ms' }));
      assert.equal(failure.type, 'BuildCancelled');
      assert.equal(failure.nonRetryable, true);
    });

    it('fails without retrying when the build does not exist', async () => {
      const failure = await failureOf(waitFor({ job: 'docs-site', build_number: 999, poll_interval: '50ms' }));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, 'PeerRejected');
      assert.match(failure.message, /could not read build docs-site #999: Jenkins answered 404/);
    });

    it('fails retryably when Jenkins errors in the middle of the wait, and the retry resumes the count', async () => {
      jenkins.scriptNextBuild('docs-site', { buildingFor: 4 });
      const { queue_id } = (await runAction(jenkinsTriggerBuild, { job: 'docs-site' }, { env })) as {
        queue_id: number;
      };
      const beats: unknown[] = [];
      const running = runAction(
        jenkinsWaitForBuild,
        { job: 'docs-site', queue_id, poll_interval: '50ms' },
        { env, onHeartbeat: (details) => beats.push(details) },
      );
      await eventually(() => (beats.length >= 2 ? true : undefined), 5_000, 'two polls');
      jenkins.failNext(502);
      const failure = await failureOf(running);
      assert.equal(failure.nonRetryable, false);
      assert.equal(failure.type, 'PeerUnavailable');
      assert.match(failure.message, /Jenkins answered 502/);

      const last = beats.at(-1) as { build_number: number; polls: number };
      assert.equal(last.build_number, 120);
      const retry = await waitFor({ job: 'docs-site', queue_id, poll_interval: '50ms' }, last);
      assert.equal((retry.output as { result: string }).result, 'SUCCESS');
      assert.deepEqual(retry.beats[0], { build_number: 120, polls: last.polls + 1 });
      assert.equal(jenkins.to(`/queue/item/${queue_id}/`).length, 1, 'only the first attempt read the queue');
    });

    it('stops polling as soon as the step is cancelled', async () => {
      jenkins.addBuild('docs-site', { number: 120, buildingFor: Infinity });
      const deps: ActionDeps = {
        env,
        fetch: globalThis.fetch,
        emitEvent: () => Promise.reject(new Error('not used')),
      };
      const step: StepMeta = {
        eventId: 'e',
        definition: 'd',
        revision: 1,
        stepId: 'wait',
        workflowId: 'd-e',
        causation: { rootEventId: 'e', depth: 0 },
      };
      const environment = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
      const polls = (): number => jenkins.to('/job/docs-site/120/api/json').length;
      const running = environment
        .run(
          actionActivity(jenkinsWaitForBuild, deps),
          { job: 'docs-site', build_number: 120, poll_interval: '5s' },
          step,
        )
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      await eventually(() => (polls() === 1 ? true : undefined), 5_000, 'the first poll');
      const cancelledAt = Date.now();
      environment.cancel();
      const error = await running;
      assert.ok(error instanceof CancelledFailure, `expected a CancelledFailure, got ${String(error)}`);
      assert.ok(Date.now() - cancelledAt < 1_000, 'the 5s pause was cut short');
      assert.equal(polls(), 1);
    });

    it('refuses input with neither or both of queue_id and build_number', async () => {
      for (const input of [
        { job: 'docs-site' },
        { job: 'docs-site', queue_id: 41, build_number: 7 },
        { job: 'docs-site', build_number: 7, poll_interval: 'often' },
        { job: 'docs-site', build_number: 7, poll_interval: '0ms' },
        { job: 'docs-site', build_number: 7, poll_interval: '11m' },
      ]) {
        const failure = await failureOf(runAction(jenkinsWaitForBuild, input, { env }));
        assert.equal(failure.type, 'InvalidActionInput', JSON.stringify(input));
      }
      assert.equal(jenkins.requests.length, 0);
    });
  });

  describe('jenkins.get_artifacts', () => {
    it('lists the archived artifacts with their download URLs', async () => {
      jenkins.addBuild('release/build-app', {
        number: 12,
        artifacts: ['dist/app-2.4.0.tar.gz', 'reports/test results.xml'],
      });
      const output = await runAction(jenkinsGetArtifacts, { job: 'release/build-app', build_number: 12 }, { env });
      const build = jenkins.buildUrl('release/build-app', 12);
      assert.deepEqual(output, {
        artifacts: [
          {
            file_name: 'app-2.4.0.tar.gz',
            relative_path: 'dist/app-2.4.0.tar.gz',
            url: `${build}artifact/dist/app-2.4.0.tar.gz`,
          },
          {
            file_name: 'test results.xml',
            relative_path: 'reports/test results.xml',
            url: `${build}artifact/reports/test%20results.xml`,
          },
        ],
      });
    });

    it('returns URLs without credentials, even when Jenkins reports its root URL with a user and password', async () => {
      // A Jenkins whose configured root URL holds credentials reports them in every build URL.
      const misconfigured = await HttpReceiver.start();
      try {
        const host = new URL(misconfigured.url).host;
        misconfigured.respondWith(() => ({
          status: 200,
          body: {
            number: 9,
            building: false,
            result: 'SUCCESS',
            url: `http://${USER}:${TOKEN}@${host}/job/app/9/`,
            artifacts: [{ fileName: 'app.tar.gz', relativePath: 'dist/app.tar.gz' }],
          },
        }));
        const output = (await runAction(
          jenkinsGetArtifacts,
          { job: 'app', build_number: 9 },
          { env: { ...env, JENKINS_URL: misconfigured.url } },
        )) as { artifacts: { url: string }[] };
        assert.deepEqual(
          output.artifacts.map((artifact) => artifact.url),
          [`http://${host}/job/app/9/artifact/dist/app.tar.gz`],
        );
      } finally {
        await misconfigured.stop();
      }
    });

    it('returns an empty list for a build that archived nothing', async () => {
      jenkins.addBuild('docs-site', { number: 3 });
      assert.deepEqual(await runAction(jenkinsGetArtifacts, { job: 'docs-site', build_number: 3 }, { env }), {
        artifacts: [],
      });
    });

    it('fails without retrying when the job does not exist', async () => {
      const failure = await failureOf(runAction(jenkinsGetArtifacts, { job: 'gone', build_number: 1 }, { env }));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, 'PeerRejected');
      assert.match(failure.message, /gone #1: Jenkins answered 404/);
    });

    it('fails with MissingConfiguration when JENKINS_URL is not set', async () => {
      const failure = await failureOf(
        runAction(
          jenkinsGetArtifacts,
          { job: 'docs-site', build_number: 3 },
          { env: { JENKINS_USER: USER, JENKINS_TOKEN: TOKEN } },
        ),
      );
      assert.equal(failure.type, 'MissingConfiguration');
      assert.match(failure.message, /needs JENKINS_URL in the worker's environment/);
    });
  });

  it('has examples that are valid steps and run against Jenkins once their expressions have values', async () => {
    jenkins.addJob('nightly/integration-tests');
    jenkins.addBuild('nightly/integration-tests', { number: 1287, result: 'FAILURE' });
    jenkins.addBuild('release/build-app', { number: 412, artifacts: ['dist/app.tar.gz'] });
    const values: Record<string, unknown> = {
      'vars.version': '2.4.0',
      'steps.build.output.job': 'release/build-app',
      'steps.build.output.queue_id': 41,
      'steps.wait.output.job': 'release/build-app',
      'steps.wait.output.number': 412,
    };
    for (const action of [jenkinsTriggerBuild, jenkinsWaitForBuild, jenkinsGetArtifacts]) {
      for (const example of action.examples) {
        assert.deepEqual(exampleStepErrors(action, example), [], `${action.id}: ${example.title}`);
        const input = renderExample(example.with, values) as Record<string, unknown>;
        // Keep the examples' realistic poll intervals out of the test's running time.
        if (action === jenkinsWaitForBuild) input['poll_interval'] = '50ms';
        await runAction(action, input, { env });
      }
    }
    assert.deepEqual(
      jenkins.requests.filter((request) => request.method === 'POST').map((request) => request.form),
      [{ VERSION: '2.4.0', DRY_RUN: 'false', FLOW_DELIVERY: 'test-definition-test-event/step' }, {}],
    );
  });
});
