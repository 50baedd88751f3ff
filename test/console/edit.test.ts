import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { FakeSlack } from '../support/fake-slack';
import { ALICE, READER, csrfOf, fetchFromPage, signIn, startConsoleWorld, type ConsoleWorld } from './support';

const SLACK_TOKEN = 'xoxb-console-edit-test-token';
/** The reason a read session's edit controls give (console/src/controls.ts). */
const READ_SCOPE_REASON = /^Your token has the read scope: you can see everything but change nothing\./;

/** A small definition with one Slack step: a fixed channel, an expression for the text, and comments to keep. */
function announceYaml(id: string, channel = "'#releases'"): string {
  return `# Tells the team when a release is out.
id: ${id}
name: Announce ${id}
on:
  - source: demo
    type: ${id}
steps:
  # The channel is what teams change most.
  - id: post
    name: Tell the team
    action: slack.post_message
    with:
      channel: ${channel}
      text: 'Release \${{ event.version }} is out'
`;
}

/** The 1-based line of `text` that holds `fragment`. */
function lineOf(text: string, fragment: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(fragment));
  assert.ok(index >= 0, `the text holds ${fragment}`);
  return index + 1;
}

/** The cells of a table's data rows (the header row left out), row by row. */
async function rowsOf(table: Locator): Promise<string[][]> {
  const rows = table.getByRole('row');
  const cells: string[][] = [];
  for (let index = 1; index < (await rows.count()); index++) {
    cells.push(await rows.nth(index).getByRole('cell').allTextContents());
  }
  return cells;
}

/** The editor's text, line by line, as it shows it. */
async function editorText(editor: Locator): Promise<string> {
  return (await editor.locator('.cm-line').allTextContents()).join('\n');
}

/** Replaces the editor's whole text, as a person selecting all and pasting. */
async function replaceEditorText(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  for (let tries = 0; (await editorText(editor)) !== text; tries++) {
    assert.ok(tries < 50, `the editor shows the new text: ${await editorText(editor)}`);
    await page.waitForTimeout(100);
  }
}

describe('console: editing definitions (fixed params, YAML, revisions, enable and disable, new from the catalog)', function () {
  this.timeout(180_000);
  let world: ConsoleWorld;
  let slack: FakeSlack;

  const api = () => request(world.harness.app);
  const save = async (id: string, yaml: string): Promise<void> => {
    const saved = await api()
      .put(`/api/definitions/${id}`)
      .set('Authorization', world.harness.auth)
      .type('application/yaml')
      .send(yaml);
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  };
  const revisionsOf = async (id: string) =>
    (await api().get(`/api/definitions/${id}/revisions`).set('Authorization', world.harness.auth).expect(200)).body
      .revisions as { revision: number; current: boolean; author: string | null; message: string | null }[];
  const yamlOf = async (id: string): Promise<string> =>
    (
      await api()
        .get(`/api/definitions/${id}`)
        .set('Authorization', world.harness.auth)
        .set('Accept', 'application/yaml')
        .expect(200)
    ).text;

  before(async () => {
    slack = await new FakeSlack({
      token: SLACK_TOKEN,
      channels: [
        { id: 'C0RELEASES', name: 'releases', member: true },
        { id: 'C0DEPLOYS', name: 'deploys', member: true },
      ],
    }).start();
    world = await startConsoleWorld({ worker: true, deps: { env: { SLACK_TOKEN, SLACK_API_URL: slack.url } } });
  });
  after(async () => {
    await world?.stop();
    await slack?.stop();
  });

  it("changes a step's Slack channel in the form and saves it with a message: a new revision by the actor, the YAML's comments kept, and the next run posts to the new channel", async () => {
    const id = 'announce-form';
    await save(id, announceYaml(id));
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}`);
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Edit fixed params' }).click();
    await page.getByRole('heading', { name: `Edit Announce ${id}`, level: 1 }).waitFor();

    const step = page.getByRole('group', { name: 'Tell the team' });
    const channel = step.getByLabel('channel', { exact: true });
    assert.equal(await channel.inputValue(), '#releases');
    // The text holds an expression: shown as such, not a field of the form.
    assert.equal(await step.getByLabel('text', { exact: true }).count(), 0);
    await step.getByText('Release ${{ event.version }} is out', { exact: true }).waitFor();
    // Inputs the step does not set yet are fields too, from the action's schema.
    assert.equal(await step.getByLabel('thread_ts', { exact: true }).inputValue(), '');

    await channel.fill('#deploys');
    await page.getByLabel('Change message').fill('Announce releases in #deploys — the new channel');
    await page.getByRole('button', { name: 'Save' }).click();

    // Saved, the console shows the definition again, with the new revision on top.
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    await page.getByText('Revision 2, saved by alice@example.com').waitFor();
    const revisions = await rowsOf(page.getByRole('table', { name: 'Revisions, newest first' }));
    assert.deepEqual(
      revisions.map((cells) => cells.filter((_text, index) => index !== 1)),
      [
        ['2 (current)', 'alice@example.com', 'Announce releases in #deploys — the new channel'],
        ['1', 'api-token', '—'],
      ],
    );
    assert.equal(
      await page
        .getByRole('article', { name: 'Tell the team' })
        .getByRole('table', { name: 'Fixed params' })
        .textContent(),
      'Fixed paramschannel#deploys',
    );
    // Only the value changed in the stored YAML: its comments and quoting are as they were written.
    assert.equal(await yamlOf(id), announceYaml(id, "'#deploys'"));

    const runId = await world.harness.startRun('demo', id, { version: '1.4.0' });
    await world.harness.client.workflow.getHandle(runId).result();
    assert.deepEqual(
      slack.messages.map((message) => [message.channel, message.text]),
      [['C0DEPLOYS', 'Release 1.4.0 is out']],
    );
  });

  it('saves a list one item a line, and a step written as a flow map through a rewrite that keeps the comments', async () => {
    const id = 'deploy-lists';
    const yaml = `# Copies the build to the test environment.
id: ${id}
name: Deploy ${id}
on:
  - source: demo
    type: ${id}
steps:
  - id: copy
    name: Copy the build
    action: deploy.rsync
    with:
      source: /srv/artifacts/shop/
      destination: deploy@test.example:/srv/shop/
      excludes:
        - "*.sha256" # checksums stay behind
      delete: true
  # Said in one line, as a flow map.
  - id: post
    name: Say it is there
    action: slack.post_message
    with: { channel: '#releases', text: 'Deployed' }
`;
    await save(id, yaml);
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}/edit`);
    const copy = page.getByRole('group', { name: 'Copy the build' });
    const excludes = copy.getByLabel('excludes', { exact: true });
    assert.equal(await excludes.inputValue(), '*.sha256');
    await excludes.fill('*.sha256\n*.map\n\n');
    assert.equal(await copy.getByLabel('delete', { exact: true }).inputValue(), 'true');
    await copy.getByLabel('dry_run', { exact: true }).selectOption('true');
    await page.getByRole('group', { name: 'Say it is there' }).getByLabel('channel', { exact: true }).fill('#deploys');
    await page.getByLabel('Change message').fill('Keep maps out, dry run, and say it in #deploys');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Revision 2, saved by alice@example.com').waitFor();

    const stored = await api().get(`/api/definitions/${id}`).set('Authorization', world.harness.auth).expect(200);
    assert.deepEqual(stored.body.definition.steps[0].with, {
      source: '/srv/artifacts/shop/',
      destination: 'deploy@test.example:/srv/shop/',
      excludes: ['*.sha256', '*.map'],
      delete: true,
      dry_run: true,
    });
    assert.deepEqual(stored.body.definition.steps[1].with, { channel: '#deploys', text: 'Deployed' });
    // A flow map cannot take the change in place, so the document was written out again: comments stay.
    const saved = await yamlOf(id);
    for (const comment of ['# Copies the build to the test environment.', '# Said in one line, as a flow map.']) {
      assert.ok(saved.includes(comment), `${comment} is kept in:\n${saved}`);
    }
  });

  it("shows the API's refusal next to the field it is about, and saves nothing", async () => {
    const id = 'announce-refused';
    await save(id, announceYaml(id));
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}/edit`);
    const step = page.getByRole('group', { name: 'Tell the team' });
    const channel = step.getByLabel('channel', { exact: true });
    await channel.fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Not saved.').waitFor();
    assert.equal(await channel.getAttribute('aria-invalid'), 'true');
    const describedBy = ((await channel.getAttribute('aria-describedby')) ?? '').split(' ');
    const fieldError = page.locator(`[id="${describedBy[1] ?? ''}"]`);
    assert.match((await fieldError.textContent()) ?? '', /expected string|required/i);
    await page
      .getByRole('alert')
      .getByText(/The definition was not saved: 1 error, the first at steps\[0\]\.with\.channel/)
      .waitFor();
    assert.equal((await revisionsOf(id)).length, 1);
  });

  it('marks an invalid edit in the YAML editor at its line and saves nothing; a valid edit shows its diff before it is saved', async () => {
    const id = 'announce-yaml';
    const original = announceYaml(id);
    await save(id, original);
    const { page } = await world.newPage();
    const policyErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text()))
        policyErrors.push(message.text());
    });
    await signIn(page, ALICE, `/ui/definitions/${id}`);
    await page.getByRole('link', { name: 'Edit YAML' }).click();
    await page.getByRole('heading', { name: `YAML of Announce ${id}`, level: 1 }).waitFor();
    const editor = page.getByRole('textbox', { name: `YAML of Announce ${id}` });
    await editor.waitFor();
    assert.equal(await editorText(editor), original, 'the YAML as written, comments included');
    // CodeMirror's own styles apply under the console's CSP (adopted in the editor's shadow root, no inline <style>):
    // the line numbers stand beside the text, not above it as they would unstyled.
    const gutter = await page.locator('.cm-gutters').boundingBox();
    const content = await editor.boundingBox();
    assert.ok(gutter && content, 'the editor is drawn');
    assert.ok(
      gutter.x + gutter.width <= content.x + 1 && Math.abs(gutter.y - content.y) < 8,
      JSON.stringify({ gutter, content }),
    );
    assert.deepEqual(policyErrors, []);

    const broken = original.replace('action: slack.post_message', 'action: slack.post_mesage');
    await replaceEditorText(page, editor, broken);
    const saveButton = page.getByRole('button', { name: 'Save', exact: true });
    assert.ok(await saveButton.isDisabled(), 'nothing can be saved before a review');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const line = lineOf(broken, 'action: slack.post_mesage');
    const error = page.getByRole('list', { name: 'Errors' }).getByRole('listitem');
    await error.first().waitFor();
    assert.match(
      (await error.allTextContents()).join('\n'),
      new RegExp(`^Line ${line}: steps\\[0\\]\\.action: unknown action "slack\\.post_mesage"`),
    );
    // In the editor, the error is marked on that line; "Go to line" puts the cursor there.
    assert.equal(await page.locator('.cm-lintRange-error').textContent(), 'action: slack.post_mesage');
    await error.getByRole('button', { name: `Go to line ${line}` }).click();
    assert.equal((await page.locator('.cm-activeLine').textContent())?.trim(), 'action: slack.post_mesage');
    assert.ok(await saveButton.isDisabled());
    assert.equal((await revisionsOf(id)).length, 1, 'the invalid edit stored nothing');

    const edited = original.replace("channel: '#releases'", "channel: '#deploys' # moved in the console");
    await replaceEditorText(page, editor, edited);
    await page.getByRole('button', { name: 'Review changes' }).click();
    const review = page.getByRole('region', { name: 'Review' });
    const values = review.getByRole('table', { name: 'Values that change from revision 1' });
    await values.waitFor();
    assert.deepEqual(await rowsOf(values), [['steps[0].with.channel', '#releases', '#deploys']]);
    const diff = review.getByRole('table', { name: 'Lines that change from revision 1: 1 added, 1 removed' });
    assert.equal(await diff.getByRole('deletion').textContent(), "-      channel: '#releases'");
    assert.equal(await diff.getByRole('insertion').textContent(), "+      channel: '#deploys' # moved in the console");

    // A change after the review needs a new review before it can be saved.
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('# one more line\n');
    assert.ok(await saveButton.isDisabled());
    await page.getByRole('button', { name: 'Review changes' }).click();
    await review.getByRole('table', { name: 'Lines that change from revision 1: 2 added, 1 removed' }).waitFor();
    assert.ok(await saveButton.isEnabled(), 'the reviewed text can be saved');
    await page.getByLabel('Change message').fill('Move to #deploys, in YAML');
    await saveButton.click();
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    await page.getByText('Revision 2, saved by alice@example.com').waitFor();
    assert.equal(await yamlOf(id), `${edited}# one more line\n`);
    assert.deepEqual(
      (await revisionsOf(id)).map((revision) => [revision.revision, revision.author, revision.message]),
      [
        [2, 'alice@example.com', 'Move to #deploys, in YAML'],
        [1, 'api-token', null],
      ],
    );
  });

  it("refuses a save made after someone else's (If-Match, 412): the editor and the form keep the change, say which revision won and link to the comparison; nothing is stored", async () => {
    const id = 'announce-conflict';
    const original = announceYaml(id);
    await save(id, original);
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}/yaml`);
    const editor = page.getByRole('textbox', { name: `YAML of Announce ${id}` });
    await editor.waitFor();
    const edited = original.replace("channel: '#releases'", "channel: '#deploys' # mine");
    await replaceEditorText(page, editor, edited);
    await page.getByRole('button', { name: 'Review changes' }).click();
    const saveButton = page.getByRole('button', { name: 'Save', exact: true });
    await page.getByRole('table', { name: 'Values that change from revision 1' }).waitFor();
    assert.ok(await saveButton.isEnabled());

    // Someone else saves revision 2 behind the page's back.
    const theirs = announceYaml(id, "'#theirs'");
    await save(id, theirs);
    await page.getByLabel('Change message').fill('Mine');
    await saveButton.click();
    const conflict = page.getByRole('alert').filter({ hasText: 'someone else saved revision 2' });
    await conflict.waitFor();
    assert.match(
      (await conflict.textContent()) ?? '',
      /Not saved: someone else saved revision 2 of announce-conflict while you were changing revision 1\./,
    );
    const compare = conflict.getByRole('link', { name: 'Compare revision 1 with revision 2' });
    assert.equal(await compare.getAttribute('href'), `/ui/definitions/${id}/compare?from=1&to=2`);
    assert.equal(await compare.getAttribute('target'), '_blank', 'the comparison opens beside the edit');
    await conflict.getByRole('button', { name: 'reload revision 2' }).waitFor();
    await page.getByRole('status').getByText('Not saved: the definition changed meanwhile.').waitFor();
    assert.ok(await saveButton.isDisabled());
    assert.equal(await editorText(editor), edited, "the editor keeps the person's text");
    assert.equal(await yamlOf(id), theirs, 'nothing was stored over revision 2');
    assert.equal((await revisionsOf(id)).length, 2);
    // Reviewing again names the same revision, so the review says so too rather than offering a save.
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByRole('status').getByText('The definition changed meanwhile: nothing was saved.').waitFor();
    assert.ok(await saveButton.isDisabled());

    // The form of fixed params: the same refusal, and the field keeps the typed value.
    await page.goto(`/ui/definitions/${id}/edit`);
    const channel = page.getByRole('group', { name: 'Tell the team' }).getByLabel('channel', { exact: true });
    assert.equal(await channel.inputValue(), '#theirs');
    await channel.fill('#mine');
    await save(id, announceYaml(id, "'#third'"));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'someone else saved revision 3' }).waitFor();
    await page.getByRole('alert').getByRole('link', { name: 'Compare revision 2 with revision 3' }).waitFor();
    assert.equal(await channel.inputValue(), '#mine');
    assert.equal((await revisionsOf(id)).length, 3);
    assert.match(await yamlOf(id), /#third/);
  });

  it('compares any two revisions line by line and restores one as the newest, with a message', async () => {
    const id = 'announce-restore';
    await save(id, announceYaml(id));
    await save(id, announceYaml(id, "'#deploys'"));
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}`);
    const compare = page.getByRole('form', { name: 'Compare revisions' });
    assert.equal(await compare.getByLabel('From revision').inputValue(), '1');
    assert.equal(await compare.getByLabel('To revision').inputValue(), '2');
    await compare.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('heading', { name: `Compare revisions of Announce ${id}`, level: 1 }).waitFor();
    assert.equal(new URL(page.url()).search, '?from=1&to=2');
    const diff = page.getByRole('table', {
      name: 'Lines that change from revision 1 to revision 2: 1 added, 1 removed',
    });
    assert.equal(await diff.getByRole('deletion').textContent(), "-      channel: '#releases'");
    assert.equal(await diff.getByRole('insertion').textContent(), "+      channel: '#deploys'");

    // Any two: the same revision twice has no differences.
    await page.getByRole('form', { name: 'Compare revisions' }).getByLabel('To revision').selectOption('1');
    await page.getByRole('form', { name: 'Compare revisions' }).getByRole('button', { name: 'Compare' }).click();
    await page.getByText('Lines that change from revision 1 to revision 1: no differences.').waitFor();
    await page.goBack();
    await diff.waitFor();

    const restore = page.getByRole('form', { name: 'Restore revision 1' });
    await restore.getByLabel('Change message').fill('Back to #releases');
    await restore.getByRole('button', { name: 'Restore revision 1' }).click();
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    await page.getByText('Revision 3, saved by alice@example.com').waitFor();
    assert.deepEqual(
      (await revisionsOf(id)).map((revision) => [revision.revision, revision.current, revision.message]),
      [
        [3, true, 'Back to #releases'],
        [2, false, null],
        [1, false, null],
      ],
    );
    assert.equal(await yamlOf(id), announceYaml(id));
  });

  it('disables and enables a definition, each a revision with its message', async () => {
    const id = 'announce-toggle';
    await save(id, announceYaml(id));
    const { page } = await world.newPage();
    await signIn(page, ALICE, `/ui/definitions/${id}`);
    const facts = page.getByRole('table', { name: 'About this definition' });
    await facts.getByText('enabled', { exact: true }).waitFor();
    const disable = page.getByRole('form', { name: 'Disable this definition' });
    await disable.getByLabel('Change message').fill('Pause announcements');
    await disable.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('Revision 2, saved by alice@example.com').waitFor();
    await facts.getByText('disabled', { exact: true }).waitFor();
    const stored = await api().get(`/api/definitions/${id}`).set('Authorization', world.harness.auth).expect(200);
    assert.equal(stored.body.definition.enabled, false);
    assert.equal(await yamlOf(id), `${announceYaml(id)}enabled: false\n`);

    const enable = page.getByRole('form', { name: 'Enable this definition' });
    await enable.getByLabel('Change message').fill('Resume announcements');
    await enable.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('Revision 3, saved by alice@example.com').waitFor();
    await facts.getByText('enabled', { exact: true }).waitFor();
    assert.deepEqual(
      (await revisionsOf(id)).map((revision) => revision.message),
      ['Resume announcements', 'Pause announcements', null],
    );
  });

  it('starts a new definition from an action of the catalog with its example, refusing an id that is taken', async () => {
    await save('announce-taken', announceYaml('announce-taken'));
    const catalog = await api().get('/api/actions').set('Authorization', world.harness.auth).expect(200);
    const slackAction = (catalog.body.actions as { id: string; examples: { with: Record<string, unknown> }[] }[]).find(
      (action) => action.id === 'slack.post_message',
    );
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/actions');
    await page.getByRole('link', { name: 'New definition with slack.post_message' }).click();
    await page.getByRole('heading', { name: 'New definition', level: 1 }).waitFor();
    const start = page.getByRole('form', { name: 'Start from an action' });
    assert.equal(await start.getByLabel('Action').inputValue(), 'slack.post_message');
    await start.getByLabel('Definition id').fill('announce-taken');
    await start.getByLabel('Name', { exact: true }).fill('Greet the team');
    await start.getByLabel('Event type').fill('greet');
    await start.getByRole('button', { name: 'Write the YAML' }).click();
    const editor = page.getByRole('textbox', { name: 'YAML of announce-taken' });
    await editor.waitFor();
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page
      .getByRole('alert')
      .getByText(/A definition with the id announce-taken exists already \(revision 1\)/)
      .waitFor();
    assert.ok(await page.getByRole('button', { name: 'Save', exact: true }).isDisabled());

    await start.getByLabel('Definition id').fill('greet-team');
    await start.getByRole('button', { name: 'Write the YAML' }).click();
    const fresh = page.getByRole('textbox', { name: 'YAML of greet-team' });
    await fresh.waitFor();
    const text = (await fresh.textContent()) ?? '';
    assert.match(text, /action: slack\.post_message/);
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByRole('region', { name: 'Review' }).getByText('A new definition, greet-team.').waitFor();
    await page.getByLabel('Change message').fill('A greeting for the team');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Greet the team', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/definitions/greet-team');

    const stored = await api().get('/api/definitions/greet-team').set('Authorization', world.harness.auth).expect(200);
    assert.deepEqual(stored.body.definition.on, [{ source: 'demo', type: 'greet' }]);
    assert.equal(stored.body.definition.steps[0].action, 'slack.post_message');
    assert.equal(stored.body.definition.steps[0].with.channel, slackAction?.examples[0]?.with['channel']);
    assert.deepEqual([stored.body.author, stored.body.message], ['alice@example.com', 'A greeting for the team']);
  });

  it('loads the editor (CodeMirror) only on the pages that edit YAML, not on the others', async () => {
    const id = 'announce-light';
    await save(id, announceYaml(id));
    const { page } = await world.newPage();
    const editorScripts: string[] = [];
    page.on('request', (sent) => {
      if (/\/ui\/assets\/editor-[0-9a-f]{16}\.js$/.test(sent.url())) editorScripts.push(sent.url());
    });
    await signIn(page, ALICE, `/ui/definitions/${id}`);
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    assert.deepEqual(editorScripts, []);
    await page.goto(`/ui/definitions/${id}/yaml`);
    await page.getByRole('textbox', { name: `YAML of Announce ${id}` }).waitFor();
    assert.equal(editorScripts.length, 1);
  });

  it('shows a read session every edit control disabled with the reason, and the YAML read-only; its forged dry save gets 403', async () => {
    const id = 'announce-read';
    await save(id, announceYaml(id));
    const { page } = await world.newPage();
    await signIn(page, READER, `/ui/definitions/${id}`);
    await page.getByRole('heading', { name: `Announce ${id}`, level: 1 }).waitFor();
    const disabledWithReason = async (button: Locator): Promise<void> => {
      assert.equal(await button.getAttribute('aria-disabled'), 'true');
      assert.match((await button.getAttribute('title')) ?? '', READ_SCOPE_REASON);
    };
    await disabledWithReason(page.getByRole('button', { name: 'Edit fixed params' }));
    await disabledWithReason(
      page.getByRole('form', { name: 'Disable this definition' }).getByRole('button', { name: 'Disable' }),
    );
    assert.ok(await page.getByLabel('Change message').isDisabled());
    // Comparing changes nothing, so a reader may compare.
    await save(id, announceYaml(id, "'#deploys'"));
    await page.reload();
    await page.getByRole('form', { name: 'Compare revisions' }).getByRole('button', { name: 'Compare' }).click();
    await disabledWithReason(
      page.getByRole('form', { name: 'Restore revision 1' }).getByRole('button', { name: 'Restore revision 1' }),
    );

    await page.goto(`/ui/definitions/${id}`);
    await page.getByRole('link', { name: 'View YAML' }).click();
    const editor = page.getByRole('textbox', { name: `YAML of Announce ${id}` });
    await editor.waitFor();
    assert.equal(await editor.getAttribute('aria-readonly'), 'true');
    const shown = await editorText(editor);
    await editor.click();
    await page.keyboard.insertText('typed by a reader');
    assert.equal(await editorText(editor), shown, 'the YAML cannot be changed');
    await disabledWithReason(page.getByRole('button', { name: 'Review changes' }));
    await disabledWithReason(page.getByRole('button', { name: 'Save', exact: true }));

    await page.goto(`/ui/definitions/${id}/edit`);
    const channel = page.getByRole('group', { name: 'Tell the team' }).getByLabel('channel', { exact: true });
    assert.ok(await channel.isDisabled());
    assert.match((await channel.getAttribute('title')) ?? '', READ_SCOPE_REASON);
    await disabledWithReason(page.getByRole('button', { name: 'Save' }));

    await page.goto('/ui/new');
    assert.ok(await page.getByLabel('Definition id').isDisabled());

    const forged = await fetchFromPage(page, `/api/definitions/${id}/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml', 'x-flow-csrf': await csrfOf(page) },
      body: announceYaml(id),
    });
    assert.equal(forged.status, 403);
    assert.equal((await revisionsOf(id)).length, 2);
  });
});
