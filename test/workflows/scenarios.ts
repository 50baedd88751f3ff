import type { Definition } from '../../common/definition';

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
  /** The registry is down when the event arrives, and back once the dispatcher waits in its durable lookup. */
  readonly registryOutage?: boolean;
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
}

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
];
