import assert from 'node:assert/strict';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { MAIN_TOKEN_NAME, projectRoot } from '../../config';
import { createApiAuth, deriveKey, SESSION_KEY_PURPOSE, type ApiToken } from '../../gateway/auth';
import {
  ALICE,
  csrfOf,
  fetchFromPage,
  READER,
  saveDefinition,
  signIn,
  startConsoleWorld,
  type ConsoleWorld,
} from './support';

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';

/** Every dialog a page opens, and every request it makes, from now on. */
function watch(page: Page): { dialogs: string[]; requests: string[] } {
  const seen = { dialogs: [] as string[], requests: [] as string[] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('request', (req) => seen.requests.push(new URL(req.url()).pathname));
  return seen;
}

describe('console: user data is text, read sessions cannot write, tampered sessions are refused, logout ends it', function () {
  this.timeout(120_000);
  let world: ConsoleWorld;
  before(async () => {
    world = await startConsoleWorld();
    await saveDefinition(world.harness, 'xss-probe', {
      name: `Probe ${SCRIPT}`,
      description: `Release notes: ${IMG} and ${SCRIPT}`,
      on: [{ source: 'demo', type: 'probe', if: `event.note == "${IMG}"` }],
      steps: [{ id: 'note', name: SCRIPT, action: 'flow.set', with: { note: IMG, said: '${{ event.note }}' } }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  it('shows markup in a definition (description, name, step, params, condition) as text: no dialog, no request to /x, no image', async () => {
    const { page } = await world.newPage();
    const seen = watch(page);
    await signIn(page, ALICE);
    const list = page.getByRole('list', { name: 'Definitions bound to demo / probe' });
    await list.getByRole('link', { name: `Probe ${SCRIPT}`, exact: true }).waitFor();
    await list.getByText(`event.note == "${IMG}"`, { exact: true }).waitFor();

    await page.getByRole('link', { name: 'probe', exact: true }).click();
    await page.getByRole('heading', { name: 'demo / probe', level: 1 }).waitFor();
    const section = page.getByRole('region', { name: `Probe ${SCRIPT}`, exact: true });
    await section.getByText(`Release notes: ${IMG} and ${SCRIPT}`, { exact: true }).waitFor();
    const step = section.getByRole('article', { name: SCRIPT, exact: true });
    assert.ok(await step.getByText(IMG, { exact: true }).isVisible(), 'the fixed param is shown as text');

    await section.getByRole('link', { name: `Probe ${SCRIPT}`, exact: true }).click();
    await page.getByRole('heading', { name: `Probe ${SCRIPT}`, level: 1 }).waitFor();
    await page.getByText(`Release notes: ${IMG} and ${SCRIPT}`, { exact: true }).waitFor();
    assert.equal(await page.getByRole('img').count(), 0);
    assert.equal(await page.title(), `Probe ${SCRIPT} · Flow console`);

    // Give an injected handler time to run, had there been one.
    await page.waitForTimeout(300);
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(
      seen.requests.filter((pathname) => pathname.endsWith('/x')),
      [],
      'no image source was fetched',
    );
    assert.ok(seen.requests.includes('/api/definitions/xss-probe'), 'the page did read the definition');
  });

  it("the shell's CSP stops inline script even where markup gets into the page", async () => {
    const { page } = await world.newPage();
    const seen = watch(page);
    await signIn(page, READER);
    await page.evaluate(
      `document.body.insertAdjacentHTML('beforeend', '<img alt="probe" src="/ui/assets/none.png" onerror="alert(3)"><script>alert(4)</script>')`,
    );
    await page.waitForTimeout(300);
    assert.deepEqual(seen.dialogs, []);
  });

  it('lets a read session see everything but write nothing: a forged PUT gets 403 without the CSRF header, and 403 with it', async () => {
    const { page } = await world.newPage();
    await signIn(page, READER);
    await page.getByRole('banner').getByText('read scope', { exact: true }).waitFor();
    await page.getByRole('link', { name: `Probe ${SCRIPT}`, exact: true }).click();
    await page.getByRole('heading', { name: 'Revisions' }).waitFor();

    const body = JSON.stringify({
      name: 'Forged',
      on: [{ source: 'demo', type: 'forged' }],
      steps: [{ id: 'noop', action: 'flow.set', with: {} }],
    });
    const noCsrf = await fetchFromPage(page, '/api/definitions/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.body.detail ?? '', /must carry the X-Flow-CSRF header/);
    const withCsrf = await fetchFromPage(page, '/api/definitions/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-flow-csrf': await csrfOf(page) },
      body,
    });
    assert.equal(withCsrf.status, 403);
    assert.match(
      withCsrf.body.detail ?? '',
      /read scope; PUT \/api\/definitions\/x needs a token with the write scope/,
    );
    const event = await fetchFromPage(page, '/events/demo/forged', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-flow-csrf': await csrfOf(page) },
      body: '{}',
    });
    assert.equal(event.status, 403);
    const missing = await request(world.harness.app).get('/api/definitions/x').set('Authorization', world.harness.auth);
    assert.equal(missing.status, 404, 'nothing was saved');
  });

  it('disables edit controls for a read session, with the reason as a tooltip, and leaves them to a write session', async () => {
    const bundled = await build({
      stdin: {
        contents: "export { editButton, READ_SCOPE_REASON } from './controls';",
        resolveDir: path.join(projectRoot, 'console/src'),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'FlowControls',
      logLevel: 'silent',
    });
    const { page } = await world.newPage();
    await page.goto('about:blank');
    await page.addScriptTag({ content: bundled.outputFiles[0]?.text ?? '' });
    await page.evaluate(`
      window.clicks = [];
      document.body.append(
        FlowControls.editButton({ scope: 'read' }, 'Save as reader', () => window.clicks.push('reader')),
        FlowControls.editButton({ scope: 'write' }, 'Save as writer', () => window.clicks.push('writer')),
      );
    `);
    const reason = await page.evaluate('FlowControls.READ_SCOPE_REASON');
    assert.match(String(reason), /read scope/);
    const readOnly = page.getByRole('button', { name: 'Save as reader' });
    assert.ok(await readOnly.isDisabled());
    assert.equal(await readOnly.getAttribute('title'), reason);
    await readOnly.focus();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Save as reader', 'reachable by keyboard');
    await readOnly.press('Enter');
    await readOnly.dispatchEvent('click');
    const writer = page.getByRole('button', { name: 'Save as writer' });
    assert.ok(await writer.isEnabled());
    await writer.click();
    assert.deepEqual(await page.evaluate('window.clicks'), ['writer']);
  });

  it('refuses a tampered or expired cookie with 401, and the console then asks to sign in again', async () => {
    const { context, page } = await world.newPage();
    await signIn(page, READER);
    const original = (await context.cookies()).find((cookie) => cookie.name === 'flow_session');
    assert.ok(original);
    assert.equal(original.httpOnly, true);
    assert.equal(original.sameSite, 'Strict');
    const [payload = '', mac = ''] = original.value.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const escalated = Buffer.from(JSON.stringify({ ...claims, scope: 'write', actor: 'api-token' })).toString(
      'base64url',
    );
    const tokens: ApiToken[] = [{ token: world.harness.token, scope: 'write', name: MAIN_TOKEN_NAME }, ALICE, READER];
    const expired = createApiAuth(
      tokens,
      deriveKey(world.harness.token, SESSION_KEY_PURPOSE),
      () => Date.now() - 8 * 3600_000 - 1_000,
    ).startSession(READER).value;

    for (const [what, value] of [
      ['a payload raised to the write scope', `${escalated}.${mac}`],
      ['an expired session', expired],
    ] as const) {
      await context.addCookies([{ ...original, value }]);
      const res = await fetchFromPage(page, '/api/definitions');
      assert.equal(res.status, 401, what);
      assert.match(res.body.detail ?? '', /console session is not valid or has expired/, what);
      const write = await fetchFromPage(page, '/api/definitions/x', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-flow-csrf': String(claims['csrf']) },
        body: '{}',
      });
      assert.equal(write.status, 401, what);
    }
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Flow' }).waitFor();
  });

  it('logs out: the header button clears the session, and the next API call from the page is 401', async () => {
    const { context, page } = await world.newPage();
    await signIn(page, ALICE);
    assert.equal((await fetchFromPage(page, '/api/definitions')).status, 200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Flow' }).waitFor();
    await page.getByRole('status').getByText('You are signed out.').waitFor();
    assert.deepEqual(
      (await context.cookies()).filter((cookie) => cookie.name === 'flow_session'),
      [],
    );
    const after = await fetchFromPage(page, '/api/definitions');
    assert.equal(after.status, 401);
    assert.match(after.body.detail ?? '', /sign in to the console at \/ui/);
    assert.equal((await fetchFromPage(page, '/ui/session')).status, 401);
  });
});
