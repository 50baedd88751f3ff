import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AdapterResult, WebhookRequest } from '../../gateway/webhooks/adapter';
import { github, gitlab, jenkins, jira, webhookAdapters } from '../../gateway/webhooks/adapters';

/** A trimmed copy of a real delivery from `fixtures/webhooks/`, parsed afresh so tests can change it. */
function fixture(name: string): Record<string, unknown> {
  const file = path.join(__dirname, 'fixtures', 'webhooks', `${name}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function req(body: Record<string, unknown>, headers: Record<string, string | undefined> = {}): WebhookRequest {
  return { headers, body };
}

/** Narrows a result to an event, failing with the result itself so a wrong kind is easy to read. */
function eventOf(result: AdapterResult): Extract<AdapterResult, { kind: 'event' }> {
  assert.equal(result.kind, 'event', JSON.stringify(result));
  return result;
}

describe('webhook adapters', () => {
  describe('jira', () => {
    it('turns an admin issue_updated webhook with a status change into issue_transitioned, acted by the account id', () => {
      const result = jira.normalize(
        req(fixture('jira-issue-updated-status'), { 'x-atlassian-webhook-identifier': '7f3c9a52-1c1e-4f7b-9a1d' }),
      );
      assert.deepEqual(result, {
        kind: 'event',
        type: 'issue_transitioned',
        deliveryKey: '7f3c9a52-1c1e-4f7b-9a1d',
        actor: '5b10a2844c20165700ede21g',
        body: {
          issue: 'REL-17',
          project: 'REL',
          from: 'In Review',
          to: 'Ready for release',
          user: 'Mia Krystof',
          user_id: '5b10a2844c20165700ede21g',
        },
      });
    });

    it('turns a workflow post-function webhook into issue_transitioned with the transition name, acted by the username', () => {
      const result = jira.normalize(req(fixture('jira-post-function')));
      assert.deepEqual(result, {
        kind: 'event',
        type: 'issue_transitioned',
        actor: 'jsmith',
        body: {
          issue: 'OPS-204',
          project: 'OPS',
          transition: 'Approve deployment',
          from: 'Awaiting approval',
          to: 'Approved',
          user: 'jsmith',
          user_id: 'jsmith',
        },
      });
    });

    it("takes the user's id from Cloud's accountId, else Server's name, else its key, and shows the display name", () => {
      const transition = (user: Record<string, unknown>) => {
        const result = eventOf(jira.normalize(req({ ...fixture('jira-post-function'), user })));
        return [result.body['user'], result.body['user_id'], result.actor];
      };
      assert.deepEqual(transition({ accountId: '5b10ac8d', name: 'ignored', displayName: 'Mia Krystof' }), [
        'Mia Krystof',
        '5b10ac8d',
        '5b10ac8d',
      ]);
      assert.deepEqual(transition({ name: 'jsmith', key: 'JIRAUSER10100', displayName: 'John Smith' }), [
        'John Smith',
        'jsmith',
        'jsmith',
      ]);
      assert.deepEqual(transition({ key: 'JIRAUSER10100', displayName: 'John Smith' }), [
        'John Smith',
        'JIRAUSER10100',
        'JIRAUSER10100',
      ]);
      // A name to show but no id: nobody to hold responsible, so no actor.
      assert.deepEqual(transition({ displayName: 'John Smith', accountId: 42 }), ['John Smith', null, undefined]);
    });

    it('prefers the transition object even when a post-function payload also names a webhookEvent', () => {
      const body = { ...fixture('jira-post-function'), webhookEvent: 'jira:issue_updated' };
      assert.equal(eventOf(jira.normalize(req(body))).type, 'issue_transitioned');
    });

    it('reports issue_updated when the changelog has no status item, and omits the delivery key without the header', () => {
      const body = fixture('jira-issue-updated-status');
      const changelog = body['changelog'] as { items: { field: string }[] };
      changelog.items = changelog.items.filter((item) => item.field !== 'status');
      assert.deepEqual(jira.normalize(req(body)), {
        kind: 'event',
        type: 'issue_updated',
        actor: '5b10a2844c20165700ede21g',
        body: { issue: 'REL-17', project: 'REL', user: 'Mia Krystof', user_id: '5b10a2844c20165700ede21g' },
      });
    });

    it('maps issue_created and issue_deleted to their own types', () => {
      for (const [webhookEvent, type] of [
        ['jira:issue_created', 'issue_created'],
        ['jira:issue_deleted', 'issue_deleted'],
      ] as const) {
        const body: Record<string, unknown> = { ...fixture('jira-issue-updated-status'), webhookEvent };
        delete body['changelog'];
        assert.equal(eventOf(jira.normalize(req(body))).type, type);
      }
    });

    it('maps comment_created with the comment text and falls back to the comment author, as user and actor', () => {
      const { issue } = fixture('jira-issue-updated-status');
      const result = jira.normalize(
        req({
          timestamp: 1715678400999,
          webhookEvent: 'comment_created',
          comment: { id: '10200', body: 'Ship it.', author: { accountId: '5b10ac8d82e05b22cc7d4ef5' } },
          issue,
        }),
      );
      assert.deepEqual(eventOf(result).body, {
        issue: 'REL-17',
        project: 'REL',
        user: '5b10ac8d82e05b22cc7d4ef5',
        user_id: '5b10ac8d82e05b22cc7d4ef5',
        comment: 'Ship it.',
      });
      assert.equal(eventOf(result).type, 'comment_created');
      assert.equal(eventOf(result).actor, '5b10ac8d82e05b22cc7d4ef5');
    });

    it('maps jira:version_released to version_released with the version name and project id', () => {
      const result = jira.normalize(
        req({
          timestamp: 1715678400999,
          webhookEvent: 'jira:version_released',
          version: {
            self: 'https://acme.atlassian.net/rest/api/2/version/10010',
            id: '10010',
            name: '1.4.0',
            released: true,
            projectId: 10000,
          },
        }),
      );
      assert.deepEqual(result, {
        kind: 'event',
        type: 'version_released',
        body: { version: '1.4.0', project: '10000' },
      });
    });

    it('passes other tame event names through without their prefix and rejects the rest', () => {
      assert.equal(eventOf(jira.normalize(req({ webhookEvent: 'jira:worklog_updated' }))).type, 'worklog_updated');
      assert.equal(eventOf(jira.normalize(req({ webhookEvent: 'sprint_started' }))).type, 'sprint_started');
      const rejected = jira.normalize(req({ webhookEvent: 'jira:Issue Updated!' }));
      assert.deepEqual(rejected, {
        kind: 'invalid',
        status: 422,
        detail: 'Jira webhookEvent "jira:Issue Updated!" does not name an event Flow can match',
      });
    });

    it('rejects issue events without issue.key', () => {
      const body = fixture('jira-issue-updated-status');
      delete (body['issue'] as Record<string, unknown>)['key'];
      assert.deepEqual(jira.normalize(req(body)), {
        kind: 'invalid',
        status: 422,
        detail: 'Jira "jira:issue_updated" payload has no issue.key',
      });
      const postFunction = fixture('jira-post-function');
      delete postFunction['issue'];
      assert.deepEqual(jira.normalize(req(postFunction)), {
        kind: 'invalid',
        status: 422,
        detail: 'Jira transition payload has no issue.key',
      });
    });

    it('rejects a payload with neither shape', () => {
      assert.deepEqual(jira.normalize(req({ issue: { key: 'REL-1' } })), {
        kind: 'invalid',
        status: 422,
        detail: 'Jira payload has no webhookEvent and no transition object',
      });
    });

    it('reads only own fields, so a status item without toString gives null, not Object.prototype.toString', () => {
      const result = jira.normalize(
        req({
          webhookEvent: 'jira:issue_updated',
          issue: { key: 'REL-2' },
          changelog: { items: [{ field: 'status' }] },
        }),
      );
      assert.deepEqual(eventOf(result).body, {
        issue: 'REL-2',
        project: null,
        from: null,
        to: null,
        user: null,
        user_id: null,
      });
      assert.equal(Object.hasOwn(result, 'actor'), false, 'an event without a user has no actor');
    });
  });

  describe('jenkins', () => {
    it('turns a FINALIZED notification into build_finished keyed by job, number and phase', () => {
      assert.deepEqual(jenkins.normalize(req(fixture('jenkins-finalized'))), {
        kind: 'event',
        type: 'build_finished',
        deliveryKey: 'flow-release#128#FINALIZED',
        body: {
          job: 'flow-release',
          job_name: 'flow-release',
          number: 128,
          status: 'SUCCESS',
          url: 'https://ci.example.com/job/flow-release/128/',
          parameters: { VERSION: '1.4.0', DRY_RUN: 'false' },
          scm: {
            url: 'https://github.com/acme/flow.git',
            branch: 'origin/main',
            commit: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
            changes: ['CHANGELOG.md'],
            culprits: ['octocat'],
          },
        },
      });
    });

    it('maps each phase to its own type and delivery key', () => {
      const seen = ['QUEUED', 'STARTED', 'COMPLETED', 'FINALIZED'].map((phase) => {
        const body = fixture('jenkins-finalized');
        (body['build'] as Record<string, unknown>)['phase'] = phase;
        const result = eventOf(jenkins.normalize(req(body)));
        return [result.type, result.deliveryKey];
      });
      assert.deepEqual(seen, [
        ['build_queued', 'flow-release#128#QUEUED'],
        ['build_started', 'flow-release#128#STARTED'],
        ['build_completed', 'flow-release#128#COMPLETED'],
        ['build_finished', 'flow-release#128#FINALIZED'],
      ]);
    });

    it('accepts parameters as a list of name/value pairs, a string build number, no status and no scm', () => {
      const result = jenkins.normalize(
        req({
          name: 'deploy',
          url: 'job/deploy/',
          build: {
            number: '7',
            phase: 'STARTED',
            parameters: [
              { name: 'ENV', value: 'prod' },
              { name: 'CANARY', value: true },
              { name: '__proto__', value: 'kept as a plain parameter' },
              { value: 'no name' },
            ],
          },
        }),
      );
      const event = eventOf(result);
      assert.deepEqual(event.body, {
        job: 'deploy',
        job_name: 'deploy',
        number: 7,
        status: null,
        url: 'job/deploy/',
        parameters: Object.fromEntries([
          ['ENV', 'prod'],
          ['CANARY', true],
          ['__proto__', 'kept as a plain parameter'],
        ]),
        scm: {},
      });
      assert.equal(event.deliveryKey, 'deploy#7#STARTED');
    });

    it('names a job in folders by its full path from the URL, keeping the short name as job_name', () => {
      const event = eventOf(jenkins.normalize(req(fixture('jenkins-multibranch-finalized'))));
      // Jenkins writes the branch job `feature%2Fcheckout` as `feature%252Fcheckout`; one decoding gives its name.
      assert.equal(event.body['job'], 'acme/shop/feature%2Fcheckout');
      assert.equal(event.body['job_name'], 'feature%2Fcheckout');
      assert.equal(event.body['url'], 'https://ci.example.com/jenkins/job/acme/job/shop/job/feature%252Fcheckout/12/');
      assert.equal(event.deliveryKey, 'acme/shop/feature%2Fcheckout#12#FINALIZED');
    });

    it('keys two jobs with one name in different folders apart, for the same build number and phase', () => {
      const inFolder = (folder: string) =>
        eventOf(
          jenkins.normalize(
            req({
              name: 'main',
              url: `job/${folder}/job/main/`,
              build: { number: 12, phase: 'FINALIZED', full_url: `https://ci/job/${folder}/job/main/12/` },
            }),
          ),
        );
      const [a, b] = [inFolder('team-a'), inFolder('team-b')];
      assert.deepEqual(
        [a.deliveryKey, a.body['job'], b.deliveryKey, b.body['job']],
        ['team-a/main#12#FINALIZED', 'team-a/main', 'team-b/main#12#FINALIZED', 'team-b/main'],
      );
    });

    it('falls back to build.url, then build.full_url (under a path prefix), when the job URL is missing or odd', () => {
      const jobOf = (body: Record<string, unknown>) => eventOf(jenkins.normalize(req(body))).body['job'];
      const build = { number: 5, phase: 'STARTED' };
      assert.equal(jobOf({ name: 'app', build: { ...build, url: 'job/ops/job/app/5/' } }), 'ops/app');
      assert.equal(
        jobOf({
          name: 'app',
          url: 'job/../job/app/',
          build: { ...build, full_url: 'http://ci/jenkins/job/ops/job/app/5/' },
        }),
        'ops/app',
      );
      assert.equal(jobOf({ name: 'my app', url: 'https://ci/job/Ops%20Team/job/my%20app/', build }), 'Ops Team/my app');
    });

    it('ignores URLs that are odd or name another job or build, keeping the short name', () => {
      const odd = [
        'job/../job/app/', // a dot segment
        'job/%2e%2e/job/app/', // an encoded dot segment
        'job/a%2Fb/job/app/', // an encoded "/" would make a path that names other folders
        'job/a%5Cb/job/app/', // an encoded backslash
        'job/a%00b/job/app/', // a control character
        'job/a%E0%A4%A/job/app/', // a malformed escape
        'job/a b/job/app/', // an unencoded space, which Jenkins never writes
        'job/\u00e9/job/app/', // unencoded non-ASCII text
        'job/ops/job/app/?x=1', // a query
        'job/ops/job/other/', // a URL of another job
        'job/ops/job/app/6/', // a build URL where a job URL belongs
        'job/ops/app/', // no job/<name> pairs
        `job/${'f'.repeat(200)}/job/app/`, // a path too long to keep whole
        `${'job/f/'.repeat(25)}job/app/`, // too deeply nested
        'job//job/app/', // an empty folder name
      ];
      for (const url of odd) {
        const event = eventOf(
          jenkins.normalize(
            req({ name: 'app', url, build: { number: 5, phase: 'STARTED', url: 'job/ops/job/app/9/', full_url: url } }),
          ),
        );
        assert.deepEqual([event.body['job'], event.deliveryKey], ['app', 'app#5#STARTED'], url);
      }
    });

    it('rejects an unknown phase, a missing name and a missing build number, naming the field', () => {
      const unknown = fixture('jenkins-finalized');
      (unknown['build'] as Record<string, unknown>)['phase'] = 'DELETED';
      assert.deepEqual(jenkins.normalize(req(unknown)), {
        kind: 'invalid',
        status: 422,
        detail: 'Jenkins build.phase "DELETED" is not QUEUED, STARTED, COMPLETED or FINALIZED',
      });
      const nameless = fixture('jenkins-finalized');
      delete nameless['name'];
      assert.deepEqual(jenkins.normalize(req(nameless)), {
        kind: 'invalid',
        status: 422,
        detail: 'Jenkins payload has no job name (name)',
      });
      const numberless = fixture('jenkins-finalized');
      delete (numberless['build'] as Record<string, unknown>)['number'];
      assert.deepEqual(jenkins.normalize(req(numberless)), {
        kind: 'invalid',
        status: 422,
        detail: 'Jenkins payload has no build number (build.number)',
      });
    });
  });

  describe('github', () => {
    const headers = (event: string): Record<string, string> => ({
      'x-github-event': event,
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-hub-signature-256': 'sha256=not-checked-by-adapters',
    });

    it('turns a branch push into push with the branch, commits, the delivery id and the sender as actor', () => {
      assert.deepEqual(github.normalize(req(fixture('github-push'), headers('push'))), {
        kind: 'event',
        type: 'push',
        deliveryKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        actor: 'octocat',
        body: {
          ref: 'refs/heads/main',
          branch: 'main',
          tag: null,
          before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
          after: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
          repository: 'acme/flow',
          pusher: 'octocat',
          commits: [
            {
              id: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
              message: 'Add release notes for 1.4.0',
              author: 'octocat@github.com',
            },
          ],
          created: false,
          deleted: false,
          forced: false,
        },
      });
    });

    it('reports a tag push with the tag and no branch', () => {
      const body = { ...fixture('github-push'), ref: 'refs/tags/v1.4.0', created: true, commits: [] };
      const event = eventOf(github.normalize(req(body, headers('push'))));
      assert.deepEqual([event.body['branch'], event.body['tag'], event.body['created']], [null, 'v1.4.0', true]);
    });

    it('keeps at most 100 commits and caps each message at 1,000 characters', () => {
      const commit = { id: 'c0ffee', message: 'x'.repeat(5_000), author: { email: 'a@example.com' } };
      const body = { ...fixture('github-push'), commits: Array.from({ length: 250 }, () => commit) };
      const commits = eventOf(github.normalize(req(body, headers('push')))).body['commits'] as { message: string }[];
      assert.equal(commits.length, 100);
      assert.equal(commits[0]?.message.length, 1_000);
    });

    it('turns pull_request into pull_request_<action>', () => {
      assert.deepEqual(github.normalize(req(fixture('github-pull-request-closed'), headers('pull_request'))), {
        kind: 'event',
        type: 'pull_request_closed',
        deliveryKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        // The sender closed it; the pull request's author stays in `user`.
        actor: 'hubot',
        body: {
          action: 'closed',
          number: 42,
          title: 'Bump semver to 7.8.6',
          state: 'closed',
          merged: true,
          base: 'main',
          head: 'bump-semver',
          repository: 'acme/flow',
          user: 'octocat',
          url: 'https://github.com/acme/flow/pull/42',
        },
      });
    });

    it('turns release into release_<action>', () => {
      assert.deepEqual(github.normalize(req(fixture('github-release-published'), headers('release'))), {
        kind: 'event',
        type: 'release_published',
        deliveryKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        actor: 'octocat',
        body: {
          action: 'published',
          tag: 'v1.4.0',
          name: 'Flow 1.4.0',
          prerelease: false,
          draft: false,
          repository: 'acme/flow',
          url: 'https://github.com/acme/flow/releases/tag/v1.4.0',
        },
      });
    });

    it('ignores ping and events Flow does not handle, naming the event', () => {
      assert.deepEqual(github.normalize(req({ zen: 'Design for failure.', hook_id: 1 }, headers('ping'))), {
        kind: 'ignored',
        reason: 'GitHub ping',
      });
      assert.deepEqual(github.normalize(req({ action: 'opened' }, headers('issues'))), {
        kind: 'ignored',
        reason: 'GitHub event "issues" is not handled by Flow',
      });
    });

    it('rejects a delivery without X-GitHub-Event with 400 and an action it cannot use with 422', () => {
      assert.deepEqual(github.normalize(req(fixture('github-push'))), {
        kind: 'invalid',
        status: 400,
        detail: 'GitHub delivery has no X-GitHub-Event header',
      });
      const body = { ...fixture('github-pull-request-closed'), action: 'Closed Now' };
      assert.deepEqual(github.normalize(req(body, headers('pull_request'))), {
        kind: 'invalid',
        status: 422,
        detail: 'GitHub pull_request payload has no valid action',
      });
    });
  });

  describe('gitlab', () => {
    it('turns a push hook into push, preferring Idempotency-Key as the delivery key', () => {
      const result = gitlab.normalize(
        req(fixture('gitlab-push'), {
          'x-gitlab-event': 'Push Hook',
          'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e',
          'idempotency-key': 'f5fb6f87-9e11-4b2b-9b7c-3c2f2b6a1d10',
        }),
      );
      assert.deepEqual(result, {
        kind: 'event',
        type: 'push',
        deliveryKey: 'f5fb6f87-9e11-4b2b-9b7c-3c2f2b6a1d10',
        actor: 'jsmith',
        body: {
          ref: 'refs/heads/release/1.4',
          branch: 'release/1.4',
          tag: null,
          before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
          after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
          repository: 'platform/flow',
          user: 'jsmith',
          commits: [
            {
              id: 'b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327',
              message: 'Update Catalan translation to e38cb41.\n',
              author: 'jordi@softcatala.org',
            },
            {
              id: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
              message: 'fixed readme',
              author: 'gitlabdev@dv6700.(none)',
            },
          ],
        },
      });
    });

    it('turns a tag push hook into tag_push keyed by X-Gitlab-Event-UUID when there is no Idempotency-Key', () => {
      const result = gitlab.normalize(
        req(fixture('gitlab-tag-push'), { 'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e' }),
      );
      assert.deepEqual(result, {
        kind: 'event',
        type: 'tag_push',
        deliveryKey: '13792a34-cac6-4fda-95a8-c58e00a3954e',
        actor: 'jsmith',
        body: {
          ref: 'refs/tags/v1.4.0',
          branch: null,
          tag: 'v1.4.0',
          before: '0000000000000000000000000000000000000000',
          after: '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7',
          repository: 'platform/flow',
          user: 'jsmith',
          commits: [],
        },
      });
    });

    it('ignores other object kinds and rejects a payload without object_kind', () => {
      assert.deepEqual(gitlab.normalize(req({ object_kind: 'merge_request', event_type: 'merge_request' })), {
        kind: 'ignored',
        reason: 'GitLab "merge_request" events are not handled by Flow',
      });
      assert.deepEqual(gitlab.normalize(req({ event_name: 'push' })), {
        kind: 'invalid',
        status: 422,
        detail: 'GitLab payload has no object_kind',
      });
    });
  });

  describe('the adapter list', () => {
    it('lists every source once, each with its auth scheme', () => {
      assert.deepEqual(
        webhookAdapters.map((adapter) => [adapter.source, adapter.auth]),
        [
          ['jira', { kind: 'hmac-sha256', header: 'x-hub-signature', prefix: 'sha256=' }],
          ['jenkins', { kind: 'token', header: 'x-flow-token' }],
          ['github', { kind: 'hmac-sha256', header: 'x-hub-signature-256', prefix: 'sha256=' }],
          ['gitlab', { kind: 'token', header: 'x-gitlab-token' }],
        ],
      );
    });
  });
});
