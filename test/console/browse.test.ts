import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { parse } from 'yaml';
import { eventually } from '../support/http-receiver';
import {
  ALICE,
  READER,
  csrfOf,
  exampleText,
  fetchFromPage,
  saveDefinition,
  signIn,
  startConsoleWorld,
  type ConsoleWorld,
} from './support';

interface YamlStep {
  id: string;
  name?: string;
  action: string;
  if?: string;
  timeout?: string;
  with?: Record<string, unknown>;
}

interface CatalogAction {
  id: string;
  description: string;
  kind: 'activity' | 'meta';
  defaults?: { timeout?: string };
}

/** Every value of a step's `with` with its dotted path, and whether it holds a `${{ }}` expression. */
function withValues(
  values: Record<string, unknown>,
  prefix = '',
): { path: string; text: string; expression: boolean }[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
      return withValues(value as Record<string, unknown>, path);
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return [{ path, text, expression: text.includes('${{') }];
  });
}

/** The value cell of the row headed `label` in the table named `table`. */
function cellOf(scope: Locator, page: Page, table: string, label: string): Locator {
  return scope
    .getByRole('table', { name: table, exact: true })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: label, exact: true }) })
    .getByRole('cell');
}

describe('console: signing in and browsing events, definitions and actions', function () {
  this.timeout(180_000);
  let world: ConsoleWorld;
  let catalog: Map<string, CatalogAction>;
  const release = parse(exampleText('release.yaml')) as { description: string; steps: YamlStep[] };

  before(async () => {
    world = await startConsoleWorld({ worker: true });
    await saveDefinition(world.harness, 'release', exampleText('release.yaml'));
    await saveDefinition(world.harness, 'hello', exampleText('hello.yaml'));
    const listed = await request(world.harness.app).get('/api/actions').set('Authorization', world.harness.auth);
    catalog = new Map((listed.body.actions as CatalogAction[]).map((action) => [action.id, action]));
  });
  after(async () => {
    await world?.stop();
  });

  it('refuses a wrong token on the sign-in page, then signs in and shows the actor and scope in the header', async () => {
    const { page } = await world.newPage();
    await page.goto('/ui');
    await page.getByRole('heading', { name: 'Sign in to Flow' }).waitFor();
    await page.getByLabel('API token').fill('not-a-token-of-this-gateway');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/not a valid API token/)
      .waitFor();

    await page.getByLabel('API token').fill(ALICE.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const header = page.getByRole('banner');
    await header.getByText('alice@example.com', { exact: true }).waitFor();
    await header.getByText('write scope', { exact: true }).waitFor();
    assert.ok(await header.getByRole('button', { name: 'Log out' }).isVisible());
    assert.ok(
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Events' }).isVisible(),
    );
    // The token is never kept in the page: the session is an HttpOnly cookie the page's scripts cannot read.
    assert.equal(await page.evaluate('document.cookie'), '');
  });

  it('lists every source, its event types and the definitions bound to them, with their conditions and state, from the events index alone', async () => {
    const { page } = await world.newPage();
    const requested: string[] = [];
    page.on('request', (sent) => requested.push(new URL(sent.url()).pathname));
    await signIn(page, ALICE);
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    const jira = page.getByRole('region', { name: 'jira', exact: true });
    await jira.getByRole('link', { name: 'issue_transitioned', exact: true }).waitFor();
    const bound = jira
      .getByRole('list', { name: 'Definitions bound to jira / issue_transitioned' })
      .getByRole('listitem');
    assert.equal(await bound.count(), 1);
    assert.ok(await bound.getByRole('link', { name: 'Release', exact: true }).isVisible());
    await bound.getByText('enabled', { exact: true }).waitFor();
    await bound.getByText('event.to == "Start Release"', { exact: true }).waitFor();

    const demo = page.getByRole('region', { name: 'demo', exact: true });
    const hello = demo.getByRole('list', { name: 'Definitions bound to demo / hello' }).getByRole('listitem');
    await hello.getByText('every such event (no if)').waitFor();
    assert.deepEqual(await page.getByRole('main').getByRole('heading', { level: 2 }).allTextContents(), [
      'demo',
      'jira',
      'Recently unmatched',
    ]);
    // One request to the events index (and one for the events that matched nothing): no definition list is paged
    // through, and no definition is read on its own.
    assert.deepEqual(requested.filter((pathname) => pathname.startsWith('/api/')).sort(), [
      '/api/events',
      '/api/events/unmatched',
    ]);
  });

  it('filters the event types as one types, keeps the filter in the address, gives each source a page, and shows a save at once', async () => {
    const { page } = await world.newPage();
    await signIn(page, ALICE);
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    await page.getByText(/2 definitions react to 2 event types from 2 sources/).waitFor();
    const filter = page.getByLabel('Filter', { exact: true });
    await filter.fill('RELEASE');
    await page.getByRole('status').getByText('1 event type of 2 match “RELEASE”.').waitFor();
    assert.ok(await page.getByRole('region', { name: 'jira', exact: true }).isVisible());
    assert.equal(await page.getByRole('region', { name: 'demo', exact: true }).isVisible(), false);
    assert.equal(new URL(page.url()).search, '?q=RELEASE');

    // The filtered address, opened anew, shows the same.
    await page.reload();
    await page.getByRole('status').getByText('1 event type of 2 match “RELEASE”.').waitFor();
    assert.equal(await page.getByRole('region', { name: 'demo', exact: true }).isVisible(), false);

    await page.goto('/ui');
    await page
      .getByRole('region', { name: 'demo', exact: true })
      .getByRole('link', { name: 'demo', exact: true })
      .click();
    await page.getByRole('heading', { name: 'Events from demo', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/events/demo');
    assert.deepEqual(await page.getByRole('main').getByRole('heading', { level: 2 }).allTextContents(), [
      'demo',
      'Recently unmatched',
    ]);
    await page.goto('/ui/events/nobody-sends-this');
    await page.getByText('No definition reacts to an event from nobody-sends-this.').waitFor();

    // A definition saved through the API shows on the next load: the index follows the registry's changes.
    await saveDefinition(
      world.harness,
      'hello-again',
      exampleText('hello.yaml')
        .replace(/^id: hello$/m, 'id: hello-again')
        .replace(/^name: .*$/m, 'name: Hello again'),
    );
    await page.goto('/ui');
    const hello = page.getByRole('list', { name: 'Definitions bound to demo / hello' }).getByRole('listitem');
    await hello.getByRole('link', { name: 'Hello again', exact: true }).waitFor();
    assert.equal(await hello.count(), 2);
    await request(world.harness.app)
      .delete('/api/definitions/hello-again')
      .set('Authorization', world.harness.auth)
      .expect(200);
    await page.reload();
    await page.getByText(/2 definitions react to 2 event types/).waitFor();
    assert.equal(await hello.count(), 1);
  });

  it("browses jira → issue_transitioned → release: every step's action description, fixed params and expressions are shown", async () => {
    const { page } = await world.newPage();
    await signIn(page, ALICE);
    await page
      .getByRole('region', { name: 'jira', exact: true })
      .getByRole('link', { name: 'issue_transitioned', exact: true })
      .click();
    await page.getByRole('heading', { name: 'jira / issue_transitioned', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/events/jira/issue_transitioned');
    const section = page.getByRole('region', { name: 'Release', exact: true });
    await section.getByText(release.description, { exact: true }).waitFor();

    assert.ok(release.steps.length > 10);
    for (const step of release.steps) {
      const article = section.getByRole('article', { name: step.name ?? step.id, exact: true });
      const action = catalog.get(step.action);
      assert.ok(action, `the catalog has ${step.action}`);
      assert.ok(
        await article.getByText(action.description, { exact: true }).isVisible(),
        `step ${step.id} shows what ${step.action} does`,
      );
      assert.equal(
        await article.getByRole('link', { name: step.action, exact: true }).getAttribute('href'),
        `/ui/actions#action-${step.action}`,
      );
      assert.equal(
        await cellOf(article, page, 'When and how it runs', 'Runs when').textContent(),
        step.if ?? 'always (no if)',
        `step ${step.id}'s condition`,
      );
      if (action.kind === 'activity') {
        const timeout =
          step.timeout ??
          (action.defaults?.timeout
            ? `${action.defaults.timeout} (the action's default)`
            : "not set: Flow's default applies");
        assert.equal(await cellOf(article, page, 'When and how it runs', 'Timeout').textContent(), timeout);
      }
      const values = withValues(step.with ?? {});
      for (const value of values.filter((entry) => !entry.expression)) {
        const cell = cellOf(article, page, 'Fixed params', value.path);
        assert.ok(await cell.isVisible(), `step ${step.id} shows its fixed param ${value.path}`);
        assert.equal(await cell.textContent(), value.text, `step ${step.id}, fixed param ${value.path}`);
      }
      for (const value of values.filter((entry) => entry.expression)) {
        const cell = cellOf(article, page, 'Expressions', value.path);
        assert.equal(
          await cell.getByRole('code').textContent(),
          value.text,
          `step ${step.id}, expression ${value.path}`,
        );
        assert.ok(await cell.getByText('expression', { exact: true }).isVisible());
      }
      if (values.every((entry) => entry.expression)) {
        assert.ok(
          await article.getByText('No fixed params.').isVisible(),
          `step ${step.id} says it has no fixed params`,
        );
      }
    }
    // A few fixed params a team would change, spelled out, so the test does not only agree with itself.
    const cell = (step: string, table: string, label: string) =>
      cellOf(section.getByRole('article', { name: step, exact: true }), page, table, label).textContent();
    assert.equal(await cell('Tag the version built', 'Fixed params', 'tag_prefix'), 'v');
    assert.equal(await cell('Tell the team the release started', 'Fixed params', 'channel'), '#releases');
    assert.equal(await cell('Trigger the preproduction build', 'Fixed params', 'job'), 'shop-preproduction');
    assert.equal(await cell('Deploy the build to the test environment', 'Fixed params', 'excludes'), '["*.sha256"]');
    assert.equal(
      await cell('Deploy the build to the test environment', 'When and how it runs', 'Timeout'),
      "1h (the action's default)",
    );
    assert.equal(
      await cell('Trigger the preproduction build', 'Expressions', 'parameters.BRANCH'),
      '${{ vars.branch }} expression',
    );
    assert.match(
      (await cellOf(section, page, 'About this definition', 'Concurrency').textContent()) ?? '',
      /^group release-\$\{\{ event\.project \}\}; when busy: reject/,
    );
  });

  it('shows a definition with its revisions (author and change message, also for a save from a console session) and its runs with a Temporal UI link', async () => {
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/events/demo/hello');
    await page
      .getByRole('region', { name: 'Say hello', exact: true })
      .getByRole('link', { name: 'Say hello', exact: true })
      .click();
    await page.getByRole('heading', { name: 'Say hello', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/definitions/hello');

    // A save from the page: the session's cookie, and the CSRF header the console's own requests carry.
    const stored = await request(world.harness.app)
      .get('/api/definitions/hello')
      .set('Authorization', world.harness.auth);
    const changed = { ...stored.body.definition, description: 'Greets whoever the event names, in the console test.' };
    const csrf = await csrfOf(page);
    const withoutCsrf = await fetchFromPage(page, '/api/definitions/hello', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(changed),
    });
    assert.equal(withoutCsrf.status, 403);
    assert.match(withoutCsrf.body.detail ?? '', /X-Flow-CSRF/);
    const saved = await fetchFromPage(page, '/api/definitions/hello', {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        'x-flow-csrf': csrf,
        'x-flow-change-message': 'Say who it greets',
      },
      body: JSON.stringify(changed),
    });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));

    const runId = await world.harness.startRun('demo', 'hello', {});
    const run = await eventually(async () => {
      const listed = await request(world.harness.app)
        .get('/api/runs?definition=hello')
        .set('Authorization', world.harness.auth);
      const item = (listed.body.items as { workflowId: string; status: string; ui: string }[] | undefined)?.find(
        (candidate) => candidate.workflowId === runId,
      );
      return item?.status === 'completed' ? item : undefined;
    });

    await page.reload();
    await page.getByRole('heading', { name: 'Say hello', level: 1 }).waitFor();
    await page.getByText('Greets whoever the event names, in the console test.', { exact: true }).waitFor();
    const revisions = page.getByRole('table', { name: 'Revisions, newest first' }).getByRole('row');
    assert.deepEqual(
      (await revisions.nth(1).getByRole('cell').allTextContents()).filter((_text, index) => index !== 1),
      ['2 (current)', 'alice@example.com', 'Say who it greets'],
    );
    assert.deepEqual(
      (await revisions.nth(2).getByRole('cell').allTextContents()).filter((_text, index) => index !== 1),
      ['1', 'api-token', '—'],
    );

    const row = page
      .getByRole('table', { name: 'Recent runs, newest first' })
      .getByRole('row')
      .filter({ hasText: runId });
    await row.waitFor();
    assert.equal(await row.getByRole('cell').nth(1).textContent(), 'completed');
    assert.equal(await row.getByRole('link', { name: `${runId} in the Temporal UI` }).getAttribute('href'), run.ui);
  });

  it("lists the action catalog with inputs and examples, and a step's action links to its entry", async () => {
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/events/jira/issue_transitioned');
    await page
      .getByRole('article', { name: 'Tag the version built', exact: true })
      .getByRole('link', { name: 'git.tag', exact: true })
      .click();
    await page.getByRole('heading', { name: 'Actions', level: 1 }).waitFor();
    const gitTag = page.getByRole('article', { name: 'git.tag', exact: true });
    await page.waitForFunction("document.activeElement?.id === 'action-git.tag'");
    await gitTag.getByText(catalog.get('git.tag')?.description ?? '?', { exact: true }).waitFor();
    const inputs = gitTag.getByRole('table', { name: 'Inputs of git.tag' });
    assert.ok(await inputs.getByRole('row').filter({ hasText: 'tag_prefix' }).isVisible());
    assert.ok(await gitTag.getByRole('heading', { name: 'Examples' }).isVisible());
    // What a retry does to its side effect, as the catalog says it.
    const guarantee = (catalog.get('git.tag') as { guarantee?: { explanation: string } } | undefined)?.guarantee;
    assert.ok(guarantee, 'the catalog states git.tag guarantee');
    assert.equal(
      await cellOf(gitTag, page, 'About this action', 'Guarantee').textContent(),
      `exactly once: ${guarantee.explanation}`,
    );
    assert.equal(
      await page.getByRole('main').getByRole('article').count(),
      catalog.size,
      'every action of the catalog has its entry',
    );
    assert.equal(
      await page
        .getByRole('navigation', { name: 'Console' })
        .getByRole('link', { name: 'Actions' })
        .getAttribute('aria-current'),
      'page',
    );
  });

  it('dry-runs a pasted event body on the definition page, for a read session too: what would run, why, and the first input as text', async () => {
    const { page } = await world.newPage();
    const planned: string[] = [];
    page.on('request', (sent) => {
      if (new URL(sent.url()).pathname.startsWith('/api/plan/')) planned.push(sent.postData() ?? '');
    });
    // Two subscriptions to the event: the dry run says whom the event would notify, and whom not and why.
    for (const [id, condition, slack] of [
      ['reader-rel', 'event.project == "REL"', '#rel-releases'],
      ['reader-other', 'event.project == "OTHER"', '#other'],
    ] as const) {
      await request(world.harness.app)
        .put(`/api/subscriptions/${id}`)
        .set('Authorization', `Bearer ${READER.token}`)
        .send({ on: { source: 'jira', type: 'issue_transitioned', if: condition }, deliver: { slack } })
        .expect(201);
    }
    await signIn(page, READER, '/ui/definitions/release');
    const panel = page.getByRole('region', { name: 'Try an event (dry run)' });
    await panel
      .getByLabel('Event', { exact: true })
      .selectOption({ label: 'jira / issue_transitioned (if event.to == "Start Release")' });
    const body = panel.getByLabel('Event body (JSON)');
    const plan = panel.getByRole('button', { name: 'Plan this event' });

    // A body that is not JSON is said at once, and nothing is asked.
    await body.fill('{"to": "Start Release",');
    await plan.click();
    await panel
      .getByRole('alert')
      .getByText(/The event body is not valid JSON/)
      .waitFor();
    assert.deepEqual(planned, []);

    const issue = 'REL-7<img src=x onerror=alert(1)>';
    await body.fill(JSON.stringify({ issue, to: 'Start Release', project: 'REL' }));
    await plan.click();
    await panel.getByText(/^Would run: Release, revision \d+\.$/).waitFor();
    const facts = panel.getByRole('table', { name: 'Why and what for jira / issue_transitioned' });
    assert.equal(
      await cellOf(panel, page, 'Why and what for jira / issue_transitioned', 'Why').textContent(),
      'its condition event.to == "Start Release" holds for this body',
    );
    assert.match(
      (await cellOf(panel, page, 'Why and what for jira / issue_transitioned', 'Workflow id').textContent()) ?? '',
      /^release-jira-/,
    );
    assert.equal(
      await cellOf(panel, page, 'Why and what for jira / issue_transitioned', 'First step').textContent(),
      `${release.steps[0]?.id ?? '?'}, action ${release.steps[0]?.action ?? '?'}`,
    );
    // The input as rendered from the body, shown as text: the tag in the issue is characters, not an image.
    assert.deepEqual(JSON.parse((await facts.getByLabel('First step input').textContent()) ?? ''), { issue });
    assert.equal(await panel.locator('img').count(), 0);
    assert.deepEqual(JSON.parse(planned[0] ?? ''), { issue, to: 'Start Release', project: 'REL' });
    const told = panel.getByRole('list', { name: 'Subscriptions to jira / issue_transitioned' }).getByRole('listitem');
    assert.deepEqual(await told.allTextContents(), [
      'reader-rel (reader): would notify #rel-releases',
      'reader-other: would not notify, if "event.project == \\"OTHER\\"" is false',
    ]);

    await body.fill(JSON.stringify({ issue: 'REL-7', to: 'Open', project: 'REL' }));
    await plan.click();
    await panel.getByText(/^Would not run: Release, revision \d+\.$/).waitFor();
    assert.match(
      (await cellOf(panel, page, 'Why not, for jira / issue_transitioned', 'Why not').textContent()) ?? '',
      /if "event.to == \\"Start Release\\"" is false/,
    );
  });
});
