import assert from 'node:assert/strict';
import type { AnyAction } from '../../activities';
import { jiraAddWatchers } from '../../activities/actions/jira-add-watchers';
import { jiraComment } from '../../activities/actions/jira-comment';
import { jiraGetIssue } from '../../activities/actions/jira-get-issue';
import { jiraLinkIssues } from '../../activities/actions/jira-link-issues';
import { jiraSearch } from '../../activities/actions/jira-search';
import { jiraTransition } from '../../activities/actions/jira-transition';
import { exampleStepErrors, renderExample } from '../support/example-steps';
import { FakeJira } from '../support/fake-jira';
import { failureOf } from '../support/failure-of';
import { runAction, type RunActionOptions } from '../support/run-action';

const jiraActions: readonly AnyAction[] = [
  jiraTransition,
  jiraComment,
  jiraLinkIssues,
  jiraAddWatchers,
  jiraGetIssue,
  jiraSearch,
];

describe('activities: jira.*', () => {
  let jira: FakeJira;
  before(async () => {
    jira = await FakeJira.start();
  });
  after(() => jira.stop());
  beforeEach(() => jira.reset());

  /** Runs an action as the worker does, with the worker environment pointing at the fake. */
  const run = (action: AnyAction, input: unknown, options: RunActionOptions = {}) =>
    runAction(action, input, { env: jira.env(), ...options });

  /** The requests Jira received, without the auth header (checked once per test by {@link assertAuthenticated}). */
  const sent = () => jira.requests.map(({ method, path, query, body }) => ({ method, path, query, body }));

  /** Every request carried basic auth for the configured account. */
  const assertAuthenticated = () => {
    const expected = `Basic ${Buffer.from(`${jira.email}:${jira.apiToken}`).toString('base64')}`;
    assert.ok(jira.requests.length > 0);
    for (const request of jira.requests) assert.equal(request.authorization, expected);
  };

  describe('jira.transition', () => {
    it('applies a transition named case-insensitively and reports the new status', async () => {
      jira.addIssue('REL-1', { status: 'To Do' });
      const heartbeats: unknown[] = [];
      const result = await run(
        jiraTransition,
        { issue: 'REL-1', transition: 'dONE' },
        { onHeartbeat: (details) => heartbeats.push(details) },
      );

      assert.deepEqual(result, {
        issue: 'REL-1',
        transition: { id: '31', name: 'Done' },
        status: 'Done',
        changed: true,
      });
      assert.deepEqual(sent(), [
        { method: 'GET', path: '/rest/api/3/issue/REL-1', query: { fields: 'status' }, body: undefined },
        { method: 'GET', path: '/rest/api/3/issue/REL-1/transitions', query: {}, body: undefined },
        { method: 'POST', path: '/rest/api/3/issue/REL-1/transitions', query: {}, body: { transition: { id: '31' } } },
      ]);
      assertAuthenticated();
      assert.equal(jira.issue('REL-1').status, 'Done');
      assert.equal(heartbeats.length, 1, 'the attempt records the transition before applying it');
    });

    it('applies a transition given by numeric id, as a number or a string', async () => {
      jira.addIssue('REL-2', { status: 'To Do' });
      const byNumber = await run(jiraTransition, { issue: 'REL-2', transition: 21 });
      assert.deepEqual(byNumber, {
        issue: 'REL-2',
        transition: { id: '21', name: 'In Progress' },
        status: 'In Progress',
        changed: true,
      });
      const byString = await run(jiraTransition, { issue: 'REL-2', transition: '31' });
      assert.deepEqual(byString, {
        issue: 'REL-2',
        transition: { id: '31', name: 'Done' },
        status: 'Done',
        changed: true,
      });
      assert.deepEqual(
        jira.to('POST', '/issue/REL-2/transitions').map((r) => r.body),
        [{ transition: { id: '21' } }, { transition: { id: '31' } }],
      );
    });

    it('fails without retrying when the issue offers no such transition, listing the ones it offers', async () => {
      jira.addIssue('REL-3', {
        status: 'In Progress',
        transitions: [
          { id: '11', name: 'Start', to: 'In Progress', from: ['To Do'] },
          { id: '31', name: 'Resolve', to: 'Done', from: ['In Progress'] },
          { id: '51', name: 'Block', to: 'Blocked', from: ['In Progress'] },
        ],
      });
      const failure = await failureOf(run(jiraTransition, { issue: 'REL-3', transition: 'Ship it' }));

      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, 'JiraTransitionNotFound');
      assert.equal(
        failure.message,
        'jira.transition: REL-3 (status "In Progress") offers no transition "Ship it"; available: "Resolve" (31), "Block" (51)',
      );
      assert.deepEqual(jira.to('POST', '/issue/REL-3/transitions'), []);
      assert.equal(jira.issue('REL-3').status, 'In Progress');
    });

    it('succeeds without transitioning when the issue already has the target status', async () => {
      jira.addIssue('REL-4', { status: 'Done' });
      const result = await run(jiraTransition, { issue: 'REL-4', transition: 'Done' });

      assert.deepEqual(result, {
        issue: 'REL-4',
        transition: { id: '31', name: 'Done' },
        status: 'Done',
        changed: false,
      });
      assert.deepEqual(
        sent().map((r) => `${r.method} ${r.path}`),
        ['GET /rest/api/3/issue/REL-4', 'GET /rest/api/3/issue/REL-4/transitions'],
      );
    });

    it('treats a retry whose previous attempt already moved the issue as done, even once Jira stops offering the transition', async () => {
      const workflow = [
        { id: '31', name: 'Resolve', to: 'Done', from: ['In Progress'] },
        { id: '41', name: 'Reopen', to: 'To Do', from: ['Done'] },
      ];
      jira.addIssue('REL-5', { status: 'In Progress', transitions: workflow });
      const heartbeats: unknown[] = [];
      await run(jiraTransition, { issue: 'REL-5', transition: '31' }, { onHeartbeat: (d) => heartbeats.push(d) });
      assert.equal(jira.issue('REL-5').status, 'Done');
      jira.requests.length = 0;

      // The answer to the POST was lost, so Temporal retries; the issue is now Done and only offers Reopen.
      const retry = await run(
        jiraTransition,
        { issue: 'REL-5', transition: '31' },
        { heartbeatDetails: heartbeats.at(-1) },
      );

      assert.deepEqual(retry, {
        issue: 'REL-5',
        transition: { id: '31', name: 'Resolve' },
        status: 'Done',
        changed: false,
      });
      assert.deepEqual(jira.to('POST', '/issue/REL-5/transitions'), []);
      // Without the previous attempt's record, an id that is no longer offered cannot be known to be done.
      const fresh = await failureOf(run(jiraTransition, { issue: 'REL-5', transition: '31' }));
      assert.equal(fresh.type, 'JiraTransitionNotFound');
      assert.match(fresh.message, /available: "Reopen" \(41\)$/);
    });

    it('succeeds without transitioning when the status has the requested name but Jira no longer offers the transition', async () => {
      jira.addIssue('REL-6', {
        status: 'Done',
        transitions: [{ id: '41', name: 'Reopen', to: 'To Do', from: ['Done'] }],
      });
      const result = await run(jiraTransition, { issue: 'REL-6', transition: 'done' });

      assert.deepEqual(result, { issue: 'REL-6', transition: { name: 'Done' }, status: 'Done', changed: false });
      assert.deepEqual(jira.to('POST', '/issue/REL-6/transitions'), []);
    });
  });

  describe('jira.comment', () => {
    it('posts the text as an Atlassian document with one paragraph per line and returns the comment id', async () => {
      jira.addIssue('REL-10');
      const result = await run(jiraComment, {
        issue: 'REL-10',
        text: 'Released 1.4.0 to production.\n\nBuild: https://ci.example/job/app/812/\r\n- *not* markup\n',
      });

      const document = {
        type: 'doc',
        version: 1,
        content: [
          { type: 'paragraph', content: [{ type: 'text', text: 'Released 1.4.0 to production.' }] },
          { type: 'paragraph', content: [] },
          { type: 'paragraph', content: [{ type: 'text', text: 'Build: https://ci.example/job/app/812/' }] },
          { type: 'paragraph', content: [{ type: 'text', text: '- *not* markup' }] },
        ],
      };
      const properties = [{ key: 'flow.delivery', value: { delivery: 'test-definition-test-event/step' } }];
      assert.deepEqual(sent(), [
        {
          method: 'GET',
          path: '/rest/api/3/issue/REL-10/comment',
          query: { startAt: '0', maxResults: '100', orderBy: '-created', expand: 'properties' },
          body: undefined,
        },
        { method: 'POST', path: '/rest/api/3/issue/REL-10/comment', query: {}, body: { body: document, properties } },
      ]);
      assertAuthenticated();
      const stored = jira.issue('REL-10').comments;
      assert.equal(stored.length, 1);
      assert.deepEqual(result, { issue: 'REL-10', comment_id: stored[0]?.id });
    });

    it('rejects blank text before calling Jira', async () => {
      const failure = await failureOf(run(jiraComment, { issue: 'REL-10', text: ' \n ' }));
      assert.equal(failure.type, 'InvalidActionInput');
      assert.match(failure.message, /text: must not be empty/);
      assert.deepEqual(jira.requests, []);
    });
  });

  describe('jira.link_issues', () => {
    it('links the issue to each listed key once, skipping the issue itself', async () => {
      for (const key of ['REL-20', 'APP-1', 'APP-2']) jira.addIssue(key);
      const result = await run(jiraLinkIssues, { issue: 'REL-20', links_to: ['APP-1', 'REL-20', 'APP-2', 'APP-1'] });

      assert.deepEqual(result, { issue: 'REL-20', linked: ['APP-1', 'APP-2'] });
      assert.deepEqual(sent(), [
        {
          method: 'POST',
          path: '/rest/api/3/issueLink',
          query: {},
          body: { type: { name: 'Relates' }, inwardIssue: { key: 'REL-20' }, outwardIssue: { key: 'APP-1' } },
        },
        {
          method: 'POST',
          path: '/rest/api/3/issueLink',
          query: {},
          body: { type: { name: 'Relates' }, inwardIssue: { key: 'REL-20' }, outwardIssue: { key: 'APP-2' } },
        },
      ]);
      assertAuthenticated();
      assert.deepEqual(jira.issue('APP-2').links, [{ type: 'Relates', inwardIssue: 'REL-20', outwardIssue: 'APP-2' }]);
    });

    it('uses the given link type, and fails without retrying when Jira has no such type', async () => {
      for (const key of ['REL-21', 'APP-3']) jira.addIssue(key);
      await run(jiraLinkIssues, { issue: 'REL-21', links_to: ['APP-3'], link_type: 'Blocks' });
      assert.deepEqual(jira.to('POST', '/issueLink')[0]?.body, {
        type: { name: 'Blocks' },
        inwardIssue: { key: 'REL-21' },
        outwardIssue: { key: 'APP-3' },
      });

      const failure = await failureOf(
        run(jiraLinkIssues, { issue: 'REL-21', links_to: ['APP-3'], link_type: 'Fixes' }),
      );
      assert.equal(failure.type, 'PeerRejected');
      assert.equal(failure.nonRetryable, true);
      assert.match(
        failure.message,
        /could not link REL-21 to APP-3 \("Fixes"\): Jira answered 404: No issue link type/,
      );
    });

    it('resumes after a retryable failure without re-sending the links already made', async () => {
      for (const key of ['REL-22', 'APP-4', 'APP-5', 'APP-6']) jira.addIssue(key);
      const heartbeats: unknown[] = [];
      const input = { issue: 'REL-22', links_to: ['APP-4', 'APP-5', 'APP-6'] };
      const first = await failureOf(
        run(jiraLinkIssues, input, {
          onHeartbeat: (details) => {
            heartbeats.push(details);
            // Jira goes down right after the first link is made.
            jira.failNext(503);
          },
        }),
      );
      assert.equal(first.type, 'PeerUnavailable');
      assert.equal(first.nonRetryable, false);
      jira.requests.length = 0;

      const retry = await run(jiraLinkIssues, input, { heartbeatDetails: heartbeats.at(-1) });

      assert.deepEqual(retry, { issue: 'REL-22', linked: ['APP-4', 'APP-5', 'APP-6'] });
      assert.deepEqual(
        jira.to('POST', '/issueLink').map((r) => (r.body as { outwardIssue: { key: string } }).outwardIssue.key),
        ['APP-5', 'APP-6'],
      );
    });
  });

  describe('jira.add_watchers', () => {
    it('adds each account once, sending the account id as a bare JSON string', async () => {
      jira.addIssue('REL-30', { watchers: ['5b10ac8d82e05b22cc7d4ef5'] });
      const watchers = [
        '5b10ac8d82e05b22cc7d4ef5',
        '557058:f58131cb-b67d-43c7-b30d-6b58d40bd077',
        '5b10ac8d82e05b22cc7d4ef5',
        // All digits: a body sent without JSON quoting would arrive as a number.
        '712020123456789012345678',
      ];
      const result = await run(jiraAddWatchers, { issue: 'REL-30', watchers });

      const unique = [
        '5b10ac8d82e05b22cc7d4ef5',
        '557058:f58131cb-b67d-43c7-b30d-6b58d40bd077',
        '712020123456789012345678',
      ];
      assert.deepEqual(result, { issue: 'REL-30', added: unique, unresolved: [] });
      assert.deepEqual(
        sent(),
        unique.map((body) => ({ method: 'POST', path: '/rest/api/3/issue/REL-30/watchers', query: {}, body })),
      );
      assertAuthenticated();
      assert.deepEqual(jira.issue('REL-30').watchers, unique);
    });

    it('resolves committer emails to accounts with user search and reports emails without a Jira user', async () => {
      jira.addIssue('REL-31');
      jira.addUser('5b10ac8d82e05b22cc7d4ef5', 'ana@example.com', 'Ana');
      jira.addUser('60f1aa9f2c3b4d0069a1b2c3', 'bo@example.com', 'Bo');
      const result = await run(jiraAddWatchers, {
        issue: 'REL-31',
        emails: ['Ana@Example.com', 'bo@example.com', 'ghost@example.com', 'ana@example.com'],
      });

      assert.deepEqual(result, {
        issue: 'REL-31',
        added: ['5b10ac8d82e05b22cc7d4ef5', '60f1aa9f2c3b4d0069a1b2c3'],
        unresolved: ['ghost@example.com'],
      });
      assert.deepEqual(
        jira.requests.filter((r) => r.path === '/rest/api/3/user/search').map((r) => r.query['query']),
        ['ana@example.com', 'bo@example.com', 'ghost@example.com'],
      );
      assert.deepEqual(jira.issue('REL-31').watchers, ['5b10ac8d82e05b22cc7d4ef5', '60f1aa9f2c3b4d0069a1b2c3']);
    });

    it('rejects account ids that could be read as options before calling Jira', async () => {
      const failure = await failureOf(run(jiraAddWatchers, { issue: 'REL-30', watchers: ['--all'] }));
      assert.equal(failure.type, 'InvalidActionInput');
      assert.match(failure.message, /watchers\.0: must be an Atlassian account id/);
      assert.deepEqual(jira.requests, []);
    });
  });

  describe('jira.get_issue', () => {
    it('returns summary, status, fix versions, assignee and labels', async () => {
      jira.addIssue('APP-40', {
        summary: 'Checkout fails for empty carts',
        status: 'In Review',
        fixVersions: ['1.4.0', '1.3.2'],
        labels: ['payments', 'regression'],
        assignee: '5b10ac8d82e05b22cc7d4ef5',
      });
      const result = await run(jiraGetIssue, { issue: 'APP-40' });

      assert.deepEqual(result, {
        key: 'APP-40',
        summary: 'Checkout fails for empty carts',
        status: 'In Review',
        fix_versions: ['1.4.0', '1.3.2'],
        assignee: '5b10ac8d82e05b22cc7d4ef5',
        labels: ['payments', 'regression'],
      });
      assert.deepEqual(sent(), [
        {
          method: 'GET',
          path: '/rest/api/3/issue/APP-40',
          query: { fields: 'summary,status,fixVersions,assignee,labels' },
          body: undefined,
        },
      ]);
      assertAuthenticated();
    });

    it('also reads the fields asked for, and leaves out the assignee of an unassigned issue', async () => {
      jira.addIssue('APP-41', { fields: { customfield_10010: 'Ships behind a flag' } });
      const result = await run(jiraGetIssue, { issue: 'APP-41', fields: ['customfield_10010', 'customfield_10404'] });

      assert.deepEqual(result, {
        key: 'APP-41',
        summary: 'Issue APP-41',
        status: 'To Do',
        fix_versions: [],
        labels: [],
        fields: { customfield_10010: 'Ships behind a flag', customfield_10404: null },
      });
      assert.deepEqual(jira.requests[0]?.query, {
        fields: 'summary,status,fixVersions,assignee,labels,customfield_10010,customfield_10404',
      });
    });
  });

  describe('jira.search', () => {
    const addIssues = () => {
      for (let n = 1; n <= 5; n++) {
        jira.addIssue(`APP-${n}`, {
          summary: `Fix ${n}`,
          status: n % 2 ? 'Done' : 'In Progress',
          fixVersions: ['1.4.0'],
        });
      }
      jira.addIssue('APP-6', { fixVersions: ['1.5.0'] });
      jira.addIssue('REL-1', { fixVersions: ['1.4.0'] });
    };
    const jql = 'project = APP AND fixVersion = "1.4.0" ORDER BY key DESC';

    it('follows nextPageToken and stops at max_results', async () => {
      addIssues();
      jira.searchPageLimit = 2;
      const result = await run(jiraSearch, { jql, max_results: 3 });

      assert.deepEqual(result, {
        issues: [
          { key: 'APP-5', summary: 'Fix 5', status: 'Done' },
          { key: 'APP-4', summary: 'Fix 4', status: 'In Progress' },
          { key: 'APP-3', summary: 'Fix 3', status: 'Done' },
        ],
        count: 3,
      });
      const [first, second, ...rest] = sent();
      assert.deepEqual(first, {
        method: 'GET',
        path: '/rest/api/3/search/jql',
        query: { jql, maxResults: '3', fields: 'summary,status' },
        body: undefined,
      });
      assert.ok(second?.query['nextPageToken'], 'the second page is asked for with the token of the first');
      assert.deepEqual(second, {
        method: 'GET',
        path: '/rest/api/3/search/jql',
        query: { jql, nextPageToken: second.query['nextPageToken'], maxResults: '1', fields: 'summary,status' },
        body: undefined,
      });
      assert.deepEqual(rest, []);
      assertAuthenticated();
    });

    it('reads every page when fewer issues match than max_results', async () => {
      addIssues();
      jira.searchPageLimit = 2;
      const result = (await run(jiraSearch, { jql })) as { issues: { key: string }[]; count: number };

      assert.deepEqual(
        result.issues.map((issue) => issue.key),
        ['APP-5', 'APP-4', 'APP-3', 'APP-2', 'APP-1'],
      );
      assert.equal(result.count, 5);
      assert.deepEqual(
        sent().map((r) => [r.query['maxResults'], r.query['nextPageToken'] !== undefined]),
        [
          ['50', false],
          ['48', true],
          ['46', true],
        ],
      );
    });

    it('fails without retrying when Jira rejects the query, quoting its reason', async () => {
      const failure = await failureOf(run(jiraSearch, { jql: 'ORDER BY created DESC' }));
      assert.equal(failure.type, 'PeerRejected');
      assert.equal(failure.nonRetryable, true);
      assert.equal(
        failure.message,
        'jira.search could not search issues: Jira answered 400: Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      );
    });
  });

  describe('failures', () => {
    it('fails without retrying on an unknown issue (404)', async () => {
      const failure = await failureOf(run(jiraTransition, { issue: 'NOPE-1', transition: 'Done' }));
      assert.equal(failure.type, 'PeerRejected');
      assert.equal(failure.nonRetryable, true);
      assert.equal(
        failure.message,
        'jira.transition could not read the status of NOPE-1: Jira answered 404: Issue does not exist or you do not have permission to see it.',
      );
      assert.deepEqual(failure.details, [
        { status: 404, reasons: ['Issue does not exist or you do not have permission to see it.'] },
      ]);
    });

    it('retries when Jira is unavailable (503), rate-limits (429) or times out (408)', async () => {
      jira.addIssue('REL-50');
      for (const status of [503, 429, 408]) {
        jira.failNext(status);
        const failure = await failureOf(run(jiraComment, { issue: 'REL-50', text: 'hello' }));
        assert.equal(failure.type, 'PeerUnavailable', `status ${status}`);
        assert.equal(failure.nonRetryable, false, `status ${status}`);
        // The first request is the look for an earlier attempt's comment.
        assert.match(
          failure.message,
          new RegExp(`^jira.comment could not read the comments of REL-50: Jira answered ${status}`),
        );
      }
      assert.deepEqual(jira.issue('REL-50').comments, []);
    });

    it('fails without retrying when Jira refuses the credentials (401), without revealing them', async () => {
      jira.addIssue('REL-51');
      const failure = await failureOf(
        runAction(jiraGetIssue, { issue: 'REL-51' }, { env: { ...jira.env(), JIRA_API_TOKEN: 'wrong-token-value' } }),
      );
      assert.equal(failure.type, 'PeerRejected');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /Jira answered 401 \(check JIRA_EMAIL and JIRA_API_TOKEN\)/);
      assert.doesNotMatch(JSON.stringify([failure.message, failure.details]), /wrong-token-value/);
      assert.equal(
        jira.requests[0]?.authorization,
        `Basic ${Buffer.from(`${jira.email}:wrong-token-value`).toString('base64')}`,
      );
    });

    it('fails without retrying, naming the variable, when JIRA_URL is not set', async () => {
      const { JIRA_EMAIL, JIRA_API_TOKEN } = jira.env();
      for (const action of [jiraTransition, jiraGetIssue]) {
        const input = action === jiraTransition ? { issue: 'REL-1', transition: 'Done' } : { issue: 'REL-1' };
        const failure = await failureOf(runAction(action, input, { env: { JIRA_EMAIL, JIRA_API_TOKEN } }));
        assert.equal(failure.type, 'MissingConfiguration');
        assert.equal(failure.nonRetryable, true);
        assert.equal(
          failure.message,
          `${action.id} needs JIRA_URL in the worker's environment; set it and retry the run`,
        );
      }
      const none = await failureOf(runAction(jiraSearch, { jql: 'project = APP' }, { env: {} }));
      assert.match(none.message, /^jira.search needs JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN in the worker's environment/);
      assert.deepEqual(jira.requests, []);
    });

    it('fails without retrying when JIRA_URL is not an http(s) URL', async () => {
      const failure = await failureOf(
        runAction(jiraGetIssue, { issue: 'REL-1' }, { env: { ...jira.env(), JIRA_URL: 'jira.example.com' } }),
      );
      assert.equal(failure.type, 'MissingConfiguration');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /JIRA_URL to be the http\(s\) base URL/);
    });

    it('retries when Jira cannot be reached', async () => {
      const failure = await failureOf(
        runAction(jiraGetIssue, { issue: 'REL-1' }, { env: { ...jira.env(), JIRA_URL: 'http://127.0.0.1:1' } }),
      );
      assert.equal(failure.type, 'PeerUnavailable');
      assert.equal(failure.nonRetryable, false);
      assert.match(failure.message, /^jira.get_issue could not read REL-1: Jira is unreachable \(.*ECONNREFUSED/);
    });

    it('rejects issue keys that are not Jira keys before calling Jira', async () => {
      for (const issue of ['-REL-1', 'rel-1', 'REL-1/../../admin', 'REL-1?x=1', 'R-1']) {
        const failure = await failureOf(run(jiraGetIssue, { issue }));
        assert.equal(failure.type, 'InvalidActionInput', issue);
        assert.match(failure.message, /issue: must be a Jira issue key/, issue);
      }
      assert.deepEqual(jira.requests, []);
    });
  });

  describe('examples', () => {
    /** What the examples' expressions stand for in a run. */
    const values = {
      'event.issue': 'REL-42',
      'vars.version': '1.4.0',
      'vars.release_managers': ['5b10ac8d82e05b22cc7d4ef5', '557058:f58131cb-b67d-43c7-b30d-6b58d40bd077'],
      'steps.build.output.url': 'https://ci.example/job/app/812/',
      'steps.fixed.output.keys': ['APP-1', 'APP-2'],
      'steps.changelog.output.authors.map(a, a.email)': ['ana@example.com'],
    };
    for (const action of jiraActions) {
      for (const example of action.examples) {
        it(`${action.id}: "${example.title}" is a valid step and runs against Jira`, async () => {
          assert.deepEqual(exampleStepErrors(action, example), []);
          jira.addIssue('REL-42');
          for (const key of ['APP-1', 'APP-2', 'APP-7', 'APP-9']) jira.addIssue(key, { fixVersions: ['1.4.0'] });
          await run(action, renderExample(example.with, values));
          assert.ok(jira.requests.length > 0);
        });
      }
    }
  });
});
