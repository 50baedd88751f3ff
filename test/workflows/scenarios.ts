import type { Definition } from '../../common/definition';
import type { ApprovalAnswer, LifecycleType } from '../../common/run-control';
import type { RateSettings } from '../../activities/subscriptions';
import type { Subscription } from '../../common/subscriptions';

/**
 * Sample runs whose histories are recorded (`npm run record-histories`) and replayed on every test run, so a change
 * to the interpreter or dispatcher that would break runs in flight fails the tests.
 */
export interface Scenario {
  readonly name: string;
  readonly definitions: readonly Omit<Definition, 'enabled'>[];
  readonly event: { readonly source: string; readonly type: string; readonly body: Record<string, unknown> };
  /** Path prefix → status the receiver answers with; default 200. */
  readonly statuses?: Readonly<Record<string, number>>;
  /** Path prefix → how many requests to it the receiver answers 503 before it answers as usual. */
  readonly flaky?: Readonly<Record<string, number>>;
  /** Path prefix → milliseconds the receiver holds such a request open before it answers; default none. */
  readonly delays?: Readonly<Record<string, number>>;
  /** The registry is down when the event arrives, and back once the dispatcher waits in its durable lookup. */
  readonly registryOutage?: boolean;
  /**
   * The dispatcher's local `startRuns` starts only the first run and then fails (as when Temporal refuses a start), so
   * the durable `startRuns` takes over and starts the rest.
   */
  readonly localStartFails?: boolean;
  /**
   * A second event, posted once the run of definition `after` waits for it (its wait is registered); its dispatcher's
   * history is recorded after the runs'.
   */
  readonly later?: {
    readonly after: string;
    readonly event: { readonly source: string; readonly type: string; readonly body: Record<string, unknown> };
  };
  /** More events of the same source and type, posted one after another right after the first (each dispatched). */
  readonly more?: readonly Record<string, unknown>[];
  /** Concurrency groups whose train histories are recorded too, after every run has closed. */
  readonly trains?: readonly string[];
  /** Answers sent one after another through the `answerApproval` update once step `step` of `definition`'s run waits. */
  readonly answers?: {
    readonly definition: string;
    readonly step: string;
    readonly answers: readonly Pick<ApprovalAnswer, 'decision' | 'by' | 'comment'>[];
  };
  /** Once `definition`'s run is in step `step`: the `cancelRun` update with who and why, then Temporal cancellation. */
  readonly cancel?: {
    readonly definition: string;
    readonly step: string;
    readonly by: string;
    readonly reason: string;
  };
  /**
   * Lifecycle types bound (by definitions here): after the runs (those of `more` events too), the dispatchers of the
   * lifecycle events each run emitted are recorded, each followed by the runs it started, whose own lifecycle events
   * follow. A run emits the bound types its path reaches (a run left unrun by its train emits only run_superseded).
   */
  readonly lifecycle?: readonly LifecycleType[];
  /**
   * Task queues the definitions' steps are routed to (`task_queue:`): the recorder starts an activity-only worker
   * with the built-in actions on each, beside the harness's Flow worker.
   */
  readonly queues?: readonly string[];
  /**
   * Subscriptions written straight into the store before the event; the recorder's worker then has a fake Slack
   * (with `#releases`) and its token, so their notifications are sent.
   */
  readonly subscriptions?: readonly Subscription[];
  /**
   * The worker's rate windows (shorter than a minute, so the recording does not wait one): the digest of every window
   * that held a notification back is recorded after the dispatchers and runs.
   */
  readonly rate?: RateSettings;
}

/** Two definitions bound to `git/tagged`, each posting to the receiver: the start-runs-local scenarios. */
const onTag: Scenario['definitions'] = ['build-docs', 'publish-image'].map((id) => ({
  id,
  name: `On tag ${id}`,
  on: [{ source: 'git', type: 'tagged' }],
  steps: [{ id: 'post', action: 'http.request', with: { method: 'POST', url: `RECEIVER/${id}` } }],
}));

/** `RECEIVER` in a URL is replaced with the local receiver's base URL. */
export const scenarios: readonly Scenario[] = [
  {
    name: 'release-happy-path',
    definitions: [
      {
        id: 'start-release',
        name: 'Start release',
        on: [{ source: 'jira', type: 'issue_transitioned', if: 'event.to == "Start Release"' }],
        steps: [
          {
            id: 'version',
            name: 'Read the fix version',
            action: 'http.request',
            with: { url: 'RECEIVER/issue/${{ event.issue }}' },
          },
          { id: 'remember', action: 'flow.set', with: { version: '${{ steps.version.output.body.fixVersion }}' } },
          { id: 'skipped', if: 'vars.version == ""', action: 'http.request', with: { url: 'RECEIVER/never' } },
          {
            id: 'announce',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/chat', json: { text: 'Release ${{ vars.version }}' } },
          },
        ],
      },
      {
        id: 'other-transition',
        name: 'Only on Done',
        on: [{ source: 'jira', type: 'issue_transitioned', if: 'event.to == "Done"' }],
        steps: [{ id: 'noop', action: 'flow.set', with: { x: 1 } }],
      },
    ],
    event: { source: 'jira', type: 'issue_transitioned', body: { issue: 'REL-7', to: 'Start Release', user: 'ana' } },
  },
  {
    name: 'failing-step',
    definitions: [
      {
        id: 'fails',
        name: 'Fails on 404',
        on: [{ source: 'ci', type: 'build_finished' }],
        steps: [
          { id: 'ok', action: 'http.request', with: { url: 'RECEIVER/ok' } },
          { id: 'missing', action: 'http.request', with: { url: 'RECEIVER/missing' } },
        ],
      },
    ],
    event: { source: 'ci', type: 'build_finished', body: { job: 'app', number: 12 } },
    statuses: { '/missing': 404 },
  },
  {
    name: 'soak-sleep',
    definitions: [
      {
        id: 'soak',
        name: 'Soak, then promote',
        on: [{ source: 'deploy', type: 'finished' }],
        steps: [
          { id: 'stage', action: 'flow.set', with: { target: '${{ event.env }}' } },
          { id: 'soak', action: 'flow.sleep', with: { duration: '1s' } },
          {
            id: 'promote',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/promote/${{ vars.target }}' },
          },
        ],
      },
    ],
    event: { source: 'deploy', type: 'finished', body: { env: 'staging' } },
  },
  {
    // Recorded with the legacy `dispatch` workflow after START_RUNS_ACTIVITY_PATCH: runs started from `startRuns`.
    name: 'fan-out-activity',
    definitions: [
      ...['notify-qa', 'notify-ops', 'tag-build'].map((id) => ({
        id,
        name: `Fan-out ${id}`,
        on: [{ source: 'ci', type: 'build_green', if: 'event.branch == "main"' }],
        steps: [{ id: 'post', action: 'http.request', with: { method: 'POST', url: `RECEIVER/${id}` } }],
      })),
      {
        id: 'release-only',
        name: 'Only for release branches',
        on: [{ source: 'ci', type: 'build_green', if: 'event.branch.startsWith("release/")' }],
        steps: [{ id: 'noop', action: 'flow.set', with: { x: 1 } }],
      },
    ],
    event: { source: 'ci', type: 'build_green', body: { branch: 'main', build: 41 } },
  },
  {
    // Recorded with `dispatchEvent`: the registry lookup is a local activity, the runs start from `startRuns`.
    name: 'dispatch-event',
    definitions: [
      ...['deploy-staging', 'announce'].map((id) => ({
        id,
        name: `On merge ${id}`,
        on: [{ source: 'git', type: 'merged', if: 'event.target == "main"' }],
        steps: [{ id: 'post', action: 'http.request', with: { method: 'POST', url: `RECEIVER/${id}` } }],
      })),
      {
        id: 'hotfix-only',
        name: 'Only for hotfix targets',
        on: [{ source: 'git', type: 'merged', if: 'event.target.startsWith("hotfix/")' }],
        steps: [{ id: 'noop', action: 'flow.set', with: { x: 1 } }],
      },
    ],
    event: { source: 'git', type: 'merged', body: { target: 'main', pr: 88 } },
  },
  {
    // Recorded with `dispatchEvent` while MongoDB was down: the local lookup failed, the durable activity took over.
    name: 'lookup-outage',
    definitions: [
      {
        id: 'ping-on-push',
        name: 'Ping on push',
        on: [{ source: 'git', type: 'push' }],
        steps: [{ id: 'ping', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/ping' } }],
      },
    ],
    event: { source: 'git', type: 'push', body: { ref: 'main' } },
    registryOutage: true,
  },
  {
    // Recorded behind `start-runs-local`: the lookup and the starts are local activities in one workflow task.
    name: 'start-runs-local',
    definitions: onTag,
    event: { source: 'git', type: 'tagged', body: { tag: 'v2.4.0' } },
  },
  {
    // Behind `start-runs-local`, the local startRuns failed after one start and the durable activity started the rest.
    name: 'start-runs-fallback',
    definitions: onTag,
    event: { source: 'git', type: 'tagged', body: { tag: 'v2.4.1' } },
    localStartFails: true,
  },
  {
    // Recorded before expressions refused results JSON cannot hold: the infinite ratio was sent as null.
    name: 'non-finite-result',
    definitions: [
      {
        id: 'report-ratio',
        name: 'Report the pass ratio',
        on: [{ source: 'ci', type: 'tests_finished' }],
        steps: [
          {
            id: 'report',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/ratio',
              json: { ratio: '${{ double(event.passed) / double(event.total) }}' },
            },
          },
        ],
      },
    ],
    event: { source: 'ci', type: 'tests_finished', body: { passed: 3, total: 0 } },
  },
  {
    // Recorded before the meta-action table: each meta-action with rendered input, and both kinds of refused input.
    name: 'meta-actions',
    definitions: [
      {
        id: 'cut-candidate',
        name: 'Cut a release candidate',
        on: [{ source: 'ci', type: 'release_requested' }],
        steps: [
          { id: 'read', action: 'http.request', with: { url: 'RECEIVER/version' } },
          {
            id: 'remember',
            action: 'flow.set',
            with: { base: '${{ steps.read.output.body.fixVersion }}', bump: '${{ event.bump }}' },
          },
          { id: 'next', action: 'version.next', with: { version: '${{ vars.base }}', bump: '${{ vars.bump }}' } },
          {
            id: 'candidate',
            action: 'version.next',
            with: { version: '${{ steps.next.output.version }}', bump: 'prerelease', preid: '${{ event.preid }}' },
          },
          { id: 'soak', action: 'flow.sleep', with: { duration: '${{ event.soak }}' } },
          {
            id: 'announce',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/announce',
              json: {
                version: '${{ steps.candidate.output.version }}',
                after: '${{ steps.soak.output.duration }}',
              },
            },
          },
        ],
      },
      {
        id: 'bad-version',
        name: 'A version from the event that is not one',
        on: [{ source: 'ci', type: 'release_requested' }],
        steps: [{ id: 'next', action: 'version.next', with: { version: '${{ event.tag }}' } }],
      },
      {
        id: 'too-long-soak',
        name: 'A soak from the event longer than 90 days',
        on: [{ source: 'ci', type: 'release_requested' }],
        steps: [{ id: 'soak', action: 'flow.sleep', with: { duration: '${{ event.long }}' } }],
      },
    ],
    event: {
      source: 'ci',
      type: 'release_requested',
      body: { bump: 'minor', preid: 'beta', soak: '1s', tag: 'not-a-version', long: '100d' },
    },
  },
  {
    // Recorded with flow.wait_for_event: a run woken by a later event's dispatcher (after its look-backs found
    // nothing), a run whose wait times out and goes on, and one whose wait times out and fails.
    name: 'wait-for-event',
    definitions: [
      {
        id: 'await-build',
        name: 'Trigger, then wait for the build',
        on: [{ source: 'jira', type: 'issue_transitioned' }],
        steps: [
          { id: 'trigger', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/build/${{ event.issue }}' } },
          {
            id: 'build',
            action: 'flow.wait_for_event',
            with: {
              source: 'jenkins',
              type: 'build_finished',
              where: { 'parameters.RELEASE_TICKET': '${{ event.issue }}' },
              if: 'event.status == "SUCCESS"',
              timeout: '10m',
            },
          },
          {
            id: 'tag',
            if: '!steps.build.output.timed_out',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/tag/${{ steps.build.output.body.number }}' },
          },
        ],
      },
      {
        id: 'await-approval',
        name: 'Wait briefly for an approval, then go on',
        on: [{ source: 'jira', type: 'issue_transitioned' }],
        steps: [
          {
            id: 'approval',
            action: 'flow.wait_for_event',
            with: {
              source: 'jira',
              type: 'approved',
              where: { issue: '${{ event.issue }}' },
              timeout: '1s',
              on_timeout: 'continue',
            },
          },
          {
            id: 'unapproved',
            if: 'steps.approval.output.timed_out',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/unapproved' },
          },
        ],
      },
      {
        id: 'await-signoff',
        name: 'Fail without a sign-off',
        on: [{ source: 'jira', type: 'issue_transitioned' }],
        steps: [
          { id: 'signoff', action: 'flow.wait_for_event', with: { source: 'jira', type: 'signed_off', timeout: '1s' } },
        ],
      },
    ],
    event: { source: 'jira', type: 'issue_transitioned', body: { issue: 'REL-9', to: 'Start Release' } },
    later: {
      after: 'await-build',
      event: {
        source: 'jenkins',
        type: 'build_finished',
        body: { name: 'release', number: 42, status: 'SUCCESS', parameters: { RELEASE_TICKET: 'REL-9' } },
      },
    },
  },
  {
    // A train through every path of its admission: the first run holds the group, the second waits, the third
    // replaces the second (which ends without a step), then the holder closes and the third runs.
    name: 'train',
    definitions: [
      {
        id: 'deploy-test-env',
        name: 'Deploy to a test environment',
        on: [{ source: 'ci', type: 'deploy' }],
        concurrency: { group: 'deploy-${{ event.env }}', when_busy: 'replace', max_queue: 50 },
        steps: [
          { id: 'soak', action: 'flow.sleep', with: { duration: '2s' } },
          { id: 'deploy', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/deploy/${{ event.n }}' } },
        ],
      },
    ],
    event: { source: 'ci', type: 'deploy', body: { env: 'test', n: 1 } },
    more: [
      { env: 'test', n: 2 },
      { env: 'test', n: 3 },
    ],
    trains: ['deploy-test'],
  },
  {
    // Recorded with flow.approval: a 2 of 2 answered by two answerApproval updates (accepted updates in the history),
    // then a step that reads the decision.
    name: 'approval',
    definitions: [
      {
        id: 'go-live',
        name: 'Approve, then go live',
        on: [{ source: 'release', type: 'ready' }],
        steps: [
          {
            id: 'sign_off',
            action: 'flow.approval',
            with: { title: 'Ship ${{ event.version }}?', approvers: ['alice', 'bob'], required: 2, timeout: '1h' },
          },
          {
            id: 'go_live',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/go-live',
              json: { decision: '${{ steps.sign_off.output.decision }}', by: '${{ steps.sign_off.output.by }}' },
            },
          },
        ],
      },
    ],
    event: { source: 'release', type: 'ready', body: { version: '2.4.0' } },
    answers: {
      definition: 'go-live',
      step: 'sign_off',
      answers: [
        { decision: 'approved', by: 'alice' },
        { decision: 'approved', by: 'bob', comment: 'green on staging' },
      ],
    },
  },
  {
    // Recorded with on_failure: a step fails, then the cleanup steps run with `failure` (one skipped by its `if`, one
    // failing, and the next one still runs), and the run ends with the original failure.
    name: 'on-failure',
    definitions: [
      {
        id: 'deploy-or-roll-back',
        name: 'Deploy, roll back on failure',
        on: [{ source: 'ci', type: 'deploy_requested' }],
        steps: [
          { id: 'stage', action: 'flow.set', with: { target: '${{ event.env }}' } },
          { id: 'deploy', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/deploy/${{ vars.target }}' } },
          { id: 'never', action: 'flow.set', with: { deployed: true } },
        ],
        on_failure: [
          {
            id: 'only_on_cancel',
            if: 'failure.cancelled',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/cancelled' },
          },
          {
            id: 'roll_back',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/rollback/${{ vars.target }}' },
          },
          {
            id: 'report',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/report',
              json: { step: '${{ failure.step }}', type: '${{ failure.type }}', message: '${{ failure.message }}' },
            },
          },
        ],
      },
    ],
    event: { source: 'ci', type: 'deploy_requested', body: { env: 'prod' } },
    statuses: { '/deploy': 409, '/rollback': 410 },
  },
  {
    // Recorded with continue_on_error: the failed step is recorded with its error and the next step reads it.
    name: 'continue-on-error',
    definitions: [
      {
        id: 'best-effort-notice',
        name: 'Notify if possible, then report',
        on: [{ source: 'ci', type: 'build_green' }],
        steps: [
          {
            id: 'notify',
            action: 'http.request',
            continue_on_error: true,
            with: { method: 'POST', url: 'RECEIVER/notify' },
          },
          {
            id: 'report',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/report',
              json: { type: '${{ steps.notify.error.type }}', message: '${{ steps.notify.error.message }}' },
            },
          },
        ],
      },
    ],
    event: { source: 'ci', type: 'build_green', body: { build: 77 } },
    statuses: { '/notify': 403 },
  },
  {
    // Recorded with a cancel: the cancelRun update (who and why), then Temporal cancellation while the run sleeps;
    // the on_failure step runs in a non-cancellable scope and sees who cancelled, and the run ends cancelled.
    name: 'cancel-during-sleep',
    definitions: [
      {
        id: 'soak-then-promote',
        name: 'Soak, then promote',
        on: [{ source: 'deploy', type: 'finished' }],
        steps: [
          { id: 'stage', action: 'flow.set', with: { target: '${{ event.env }}' } },
          { id: 'soak', action: 'flow.sleep', with: { duration: '1h' } },
          { id: 'promote', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/promote' } },
        ],
        on_failure: [
          {
            id: 'tell',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/cancelled/${{ vars.target }}',
              json: { by: '${{ failure.by }}', why: '${{ failure.message }}', step: '${{ failure.step }}' },
            },
          },
        ],
      },
    ],
    event: { source: 'deploy', type: 'finished', body: { env: 'staging' } },
    cancel: { definition: 'soak-then-promote', step: 'soak', by: 'alice', reason: 'a newer build is out' },
  },
  {
    // Recorded with lifecycle events bound: the run emits run_started and run_completed (emitRunEvent); their
    // dispatchers start the listeners, whose own lifecycle events their `if` turns away.
    name: 'lifecycle',
    definitions: [
      {
        id: 'publish',
        name: 'Publish a tag',
        on: [{ source: 'git', type: 'tagged' }],
        steps: [
          { id: 'upload', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/publish/${{ event.tag }}' } },
        ],
      },
      ...(['run_started', 'run_completed'] as const).map((type) => ({
        id: `hear-${type.replace('_', '-')}`,
        name: `Hear ${type} of publish`,
        on: [{ source: 'flow', type, if: 'event.definition == "publish"' }],
        steps: [
          {
            id: 'tell',
            action: 'http.request',
            with: {
              method: 'POST',
              url: `RECEIVER/heard/${type}`,
              json: { workflowId: '${{ event.workflowId }}', status: '${{ event.status }}' },
            },
          },
        ],
      })),
    ],
    event: { source: 'git', type: 'tagged', body: { tag: 'v2.4.0' } },
    lifecycle: ['run_started', 'run_completed'],
  },
  {
    // Recorded with a cancel while an activity runs (the receiver holds the request open): the cancelled activity
    // ends the run cancelled behind the cancel-stays-cancelled patch (its marker is in the history), and the
    // on_failure step runs in a non-cancellable scope and sees who cancelled.
    name: 'cancel-during-activity',
    definitions: [
      {
        id: 'publish-then-announce',
        name: 'Publish, then announce',
        on: [{ source: 'ci', type: 'artifact_ready' }],
        steps: [
          { id: 'stage', action: 'flow.set', with: { artifact: '${{ event.artifact }}' } },
          {
            id: 'publish',
            action: 'http.request',
            with: { method: 'POST', url: 'RECEIVER/slow/publish/${{ vars.artifact }}' },
          },
          { id: 'announce', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/announce' } },
        ],
        on_failure: [
          {
            id: 'tell',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/cancelled/${{ vars.artifact }}',
              json: {
                by: '${{ failure.by }}',
                why: '${{ failure.message }}',
                step: '${{ failure.step }}',
                cancelled: '${{ failure.cancelled }}',
              },
            },
          },
        ],
      },
    ],
    event: { source: 'ci', type: 'artifact_ready', body: { artifact: 'app-2.4.0' } },
    delays: { '/slow/': 5_000 },
    cancel: { definition: 'publish-then-announce', step: 'publish', by: 'carol', reason: 'published by hand' },
  },
  {
    // Recorded after run_superseded came from the superseded run itself: the first run holds the group, the second
    // waits, the third replaces it; the second, told by its train, emits run_superseded (emitRunEvent) and ends
    // unrun. That event's dispatcher starts the listener; the train's history follows.
    name: 'superseded-lifecycle',
    definitions: [
      {
        id: 'deploy-preview',
        name: 'Deploy a preview environment',
        on: [{ source: 'ci', type: 'preview' }],
        concurrency: { group: 'preview-${{ event.env }}', when_busy: 'replace', max_queue: 10 },
        steps: [
          { id: 'soak', action: 'flow.sleep', with: { duration: '3s' } },
          { id: 'deploy', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/preview/${{ event.n }}' } },
        ],
      },
      {
        id: 'hear-run-superseded',
        name: 'Hear run_superseded of deploy-preview',
        on: [{ source: 'flow', type: 'run_superseded', if: 'event.definition == "deploy-preview"' }],
        steps: [
          {
            id: 'tell',
            action: 'http.request',
            with: {
              method: 'POST',
              url: 'RECEIVER/heard/run_superseded',
              json: {
                workflowId: '${{ event.workflowId }}',
                replacedBy: '${{ event.replacedBy }}',
                group: '${{ event.group }}',
              },
            },
          },
        ],
      },
    ],
    event: { source: 'ci', type: 'preview', body: { env: 'pr-12', n: 1 } },
    more: [
      { env: 'pr-12', n: 2 },
      { env: 'pr-12', n: 3 },
    ],
    lifecycle: ['run_superseded'],
    trains: ['preview-pr-12'],
  },
  {
    // Recorded with routing: a step routed by task_queue (with schedule_to_start) to an activity-only worker, between
    // steps on the run's own queue; its ActivityTaskScheduled names the routed queue.
    name: 'routed-step',
    definitions: [
      {
        id: 'deploy-inside',
        name: 'Deploy from inside the network',
        on: [{ source: 'ci', type: 'deploy_inside' }],
        steps: [
          { id: 'version', action: 'http.request', with: { url: 'RECEIVER/version' } },
          {
            id: 'deploy',
            name: 'Deploy on the inside worker',
            action: 'http.request',
            task_queue: 'flow-recorded-inside',
            schedule_to_start: '1m',
            with: {
              method: 'POST',
              url: 'RECEIVER/deploy',
              json: { version: '${{ steps.version.output.body.fixVersion }}' },
            },
          },
          { id: 'announce', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/announce' } },
        ],
      },
    ],
    event: { source: 'ci', type: 'deploy_inside', body: { env: 'prod' } },
    queues: ['flow-recorded-inside'],
  },
  {
    // Recorded behind the mark-unmatched patch: the one definition bound is skipped (its condition is false), so the
    // dispatcher starts and wakes nothing, records the patch's marker and upserts FlowMatchedRuns = 0 before it
    // completes (GET /api/events/unmatched lists it).
    name: 'unmatched',
    definitions: [
      {
        id: 'prod-deploys-only',
        name: 'Announce production deploys',
        on: [{ source: 'ci', type: 'deployed', if: 'event.env == "prod"' }],
        steps: [{ id: 'announce', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/announce' } }],
      },
    ],
    event: { source: 'ci', type: 'deployed', body: { env: 'staging' } },
  },
  {
    // Recorded behind the notify-subscribers patch: the lookup finds three subscriptions; one's if is false (skipped
    // by the dispatcher), one is muted (skipped by the activity), one is notified in Slack, in one notifySubscribers
    // activity beside startRuns.
    name: 'subscriptions',
    definitions: [
      {
        id: 'announce-release',
        name: 'Announce a release',
        on: [{ source: 'ci', type: 'released' }],
        steps: [{ id: 'announce', action: 'http.request', with: { method: 'POST', url: 'RECEIVER/announce' } }],
      },
    ],
    subscriptions: [
      {
        id: 'alice-shop',
        owner: 'alice',
        on: { source: 'ci', type: 'released', if: 'event.project == "SHOP"' },
        deliver: { slack: '#releases' },
        message: 'Release ${{ event.version }} of ${{ event.project }} is out',
      },
      {
        id: 'bob-ops',
        owner: 'bob',
        on: { source: 'ci', type: 'released', if: 'event.project == "OPS"' },
        deliver: { slack: '#releases' },
      },
      {
        id: 'carol-muted',
        owner: 'carol',
        on: { source: 'ci', type: 'released' },
        deliver: { slack: '#releases' },
        muted_until: '2999-01-01T00:00:00Z',
      },
    ],
    event: { source: 'ci', type: 'released', body: { project: 'SHOP', version: '2.4.0' } },
  },
  {
    // A subscription with a limit of one a window: the first event's dispatcher notifies it, the next ones' hold their
    // notifications back, and the first held back starts the window's subscriptionDigest workflow, which sleeps to the
    // window's end and sends one message counting them through sendSubscriptionDigest.
    name: 'subscription-digest',
    definitions: [],
    subscriptions: [
      {
        id: 'noisy-builds',
        owner: 'alice',
        on: { source: 'ci', type: 'built' },
        deliver: { slack: '#releases' },
        rate_per_minute: 1,
      },
    ],
    event: { source: 'ci', type: 'built', body: { build: 1 } },
    more: [{ build: 2 }, { build: 3 }, { build: 4 }, { build: 5 }],
    rate: { windowMs: 10_000, graceMs: 500 },
  },
  {
    // Recorded with local steps (docs/engine.md#local-steps): http.request defaulted to local then (its snapshot says
    // so, which the replay follows); the steps now say execution: local themselves, so that a new recording has the
    // same shape. The first three steps are markers in one workflow task; the fourth is remote, an activity task.
    name: 'local-steps',
    definitions: [
      {
        id: 'announce-locally',
        name: 'Announce with local steps',
        on: [{ source: 'git', type: 'released' }],
        steps: [
          {
            id: 'read',
            name: 'Read the notes',
            action: 'http.request',
            execution: 'local',
            with: { url: 'RECEIVER/notes' },
          },
          { id: 'remember', action: 'flow.set', with: { version: '${{ steps.read.output.body.fixVersion }}' } },
          {
            id: 'chat',
            action: 'http.request',
            execution: 'local',
            with: { method: 'POST', url: 'RECEIVER/chat', json: { text: 'Released ${{ vars.version }}' } },
          },
          {
            id: 'mail',
            action: 'http.request',
            execution: 'local',
            with: { method: 'POST', url: 'RECEIVER/mail', json: { version: '${{ vars.version }}' } },
          },
          {
            id: 'remote',
            action: 'http.request',
            execution: 'remote',
            with: { method: 'POST', url: 'RECEIVER/remote' },
          },
        ],
      },
    ],
    event: { source: 'git', type: 'released', body: { tag: 'v2.4.0' } },
  },
  {
    // Recorded with local retries: the first step fails twice and is retried in the worker (one marker, attempt 3);
    // the second fails once and backs off 11 s, past the 10 s local retry threshold, on a durable timer.
    name: 'local-retry',
    definitions: [
      {
        id: 'retry-locally',
        name: 'Retry local steps',
        on: [{ source: 'git', type: 'retried' }],
        steps: [
          {
            id: 'flaky',
            action: 'http.request',
            execution: 'local',
            with: { url: 'RECEIVER/flaky' },
            retry: { initialInterval: '100ms' },
          },
          {
            id: 'patient',
            action: 'http.request',
            execution: 'local',
            with: { url: 'RECEIVER/patient' },
            retry: { initialInterval: '11s' },
          },
        ],
      },
    ],
    event: { source: 'git', type: 'retried', body: {} },
    flaky: { '/flaky': 2, '/patient': 1 },
  },
];
