import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import { actionsById } from '../../activities';
import { ConfigError, loadConfig } from '../../config';
import type { OidcSettings } from '../../config/load-config';
import { createApp, type GatewayDeps } from '../../gateway/app';
import { createApiAuth, deriveKey, SESSION_KEY_PURPOSE } from '../../gateway/auth';
import { webhookAdapters } from '../../gateway/webhooks/adapters';
import { oidcSessionBinding } from '../../console/oidc';
import { startHarness, type Harness } from '../support/harness';
import { CHROMIUM, csrfOf, exampleText, fetchFromPage } from './support';

/** The few parts of oidc-provider (which ships no types) this test uses. */
interface OidcProvider {
  callback(): http.RequestListener;
}
type OidcProviderClass = new (issuer: string, configuration: object) => OidcProvider;

const CLIENT_ID = 'flow-console';
const CLIENT_SECRET = 'flow-console-test-secret-0123456789';
/** Each test user's groups at the provider; `stranger` is in none that Flow maps. */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  writer: ['staff', 'release-managers'],
  reader: ['staff', 'developers'],
  stranger: ['staff'],
};

/** A server on 127.0.0.1:0 whose handler is given once its address is known (the IdP and the gateway need both). */
async function listen(): Promise<{ server: http.Server; url: string; serve(handler: http.RequestListener): void }> {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve(next) {
      handler = next;
    },
  };
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function settingsFor(issuer: string, gateway: string): OidcSettings {
  return {
    issuer: `${issuer}/`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUrl: `${gateway}/ui/auth/callback`,
    groupsClaim: 'groups',
    writeGroups: ['release-managers'],
    readGroups: ['developers', 'qa'],
    nameClaim: 'email',
  };
}

function gatewayDeps(harness: Harness, oidc: OidcSettings): GatewayDeps {
  return {
    health: {},
    apiToken: harness.token,
    store: harness.store,
    catalog: actionsById(),
    intake: { client: harness.client, taskQueue: harness.taskQueue },
    webhooks: { adapters: webhookAdapters, env: {} },
    oidc,
  };
}

/** Signs in at the provider's development login and consent pages, as `login`, starting from the console. */
async function signInWithProvider(page: Page, idp: string, login: string): Promise<void> {
  await page.goto('/ui');
  await page.getByRole('link', { name: `Sign in with ${new URL(idp).host}` }).click();
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Opens a definition's page and answers the `aria-disabled` of its Disable button (an edit control). */
async function disableButtonOf(page: Page, id: string): Promise<string | null> {
  await page.goto(`/ui/definitions/${id}`);
  const disable = page.getByRole('form', { name: 'Disable this definition' }).getByRole('button', { name: 'Disable' });
  await disable.waitFor();
  return disable.getAttribute('aria-disabled');
}

describe('console: sign-in with OpenID Connect against a real provider (oidc-provider)', () => {
  let harness: Harness;
  let idp: Awaited<ReturnType<typeof listen>>;
  let gateway: Awaited<ReturnType<typeof listen>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const newPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ baseURL: gateway.url });
    contexts.push(context);
    return { context, page: await context.newPage() };
  };

  before(async () => {
    harness = await startHarness({ worker: false });
    idp = await listen();
    gateway = await listen();
    // oidc-provider is an ES module without types; its name in a variable keeps TypeScript from asking for them.
    const moduleName: string = 'oidc-provider';
    const { default: Provider } = (await import(moduleName)) as { default: OidcProviderClass };
    const provider = new Provider(idp.url, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${gateway.url}/ui/auth/callback`],
          post_logout_redirect_uris: [`${gateway.url}/ui`],
          response_types: ['code'],
          grant_types: ['authorization_code'],
        },
      ],
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'email', 'groups'],
      findAccount: (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: () => ({ sub: id, email: `${id}@example.com`, groups: GROUPS[id] ?? [] }),
      }),
      features: { devInteractions: { enabled: true } },
      cookies: { keys: ['oidc-provider-test-cookie-key-0123456789'] },
    });
    idp.serve(provider.callback());
    gateway.serve(createApp(gatewayDeps(harness, settingsFor(idp.url, gateway.url))));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    if (gateway) await close(gateway.server);
    if (idp) await close(idp.server);
    await harness?.stop();
  });

  it('signs a writer in through the provider: the console shows the email and write scope, and a save is authored by it', async () => {
    const { page } = await newPage();
    await signInWithProvider(page, idp.url, 'writer');
    const banner = page.getByRole('banner');
    await banner.getByText('writer@example.com', { exact: true }).waitFor();
    await banner.getByText('write scope').waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui');

    const saved = await fetchFromPage(page, '/api/definitions/hello', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/yaml', 'X-Flow-CSRF': await csrfOf(page) },
      body: exampleText('hello.yaml'),
    });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const revisions = await request(gateway.server)
      .get('/api/definitions/hello/revisions')
      .set('Authorization', harness.auth);
    assert.equal(revisions.body.revisions[0].author, 'writer@example.com');

    assert.notEqual(await disableButtonOf(page, 'hello'), 'true');
  });

  it('signs a reader in with the read scope: edit controls disabled, and a forged save refused', async () => {
    const { page } = await newPage();
    await signInWithProvider(page, idp.url, 'reader');
    await page.getByRole('banner').getByText('reader@example.com', { exact: true }).waitFor();
    await page.getByRole('banner').getByText('read scope').waitFor();
    const saved = await request(gateway.server)
      .put('/api/definitions/hello')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(exampleText('hello.yaml'));
    assert.ok([200, 201].includes(saved.status), JSON.stringify(saved.body));

    assert.equal(await disableButtonOf(page, 'hello'), 'true');
    const forged = await fetchFromPage(page, '/api/definitions/hello', {
      method: 'DELETE',
      headers: { 'X-Flow-CSRF': await csrfOf(page) },
    });
    assert.equal(forged.status, 403);
  });

  it('refuses a user in none of the groups with a page saying why, and starts no session', async () => {
    const { page, context } = await newPage();
    const refused = page.waitForResponse((response) => response.url().includes('/ui/auth/callback'));
    await signInWithProvider(page, idp.url, 'stranger');
    assert.equal((await refused).status(), 403);
    await page.getByRole('heading', { name: 'No access to Flow' }).waitFor();
    await page.getByText(/signed you in as stranger@example\.com, but none of your groups/).waitFor();
    assert.ok(!(await context.cookies()).some((cookie) => cookie.name === 'flow_session'));
    await page.getByRole('link', { name: 'Back to the sign-in page' }).click();
    await page.getByLabel('API token').waitFor();
  });

  it('logs out, and offers to sign out of the provider too', async () => {
    const { page, context } = await newPage();
    await signInWithProvider(page, idp.url, 'writer');
    await page.getByRole('banner').getByText('writer@example.com', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are signed out.').waitFor();
    assert.ok(!(await context.cookies()).some((cookie) => cookie.name === 'flow_session'));
    assert.equal((await fetchFromPage(page, '/ui/session')).status, 401);

    await page.getByRole('link', { name: `Also sign out of ${new URL(idp.url).host}` }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(new URL(page.url()).origin, gateway.url);
    // Signed out at the provider as well: the next sign-in asks for a login again.
    await page.getByRole('link', { name: `Sign in with ${new URL(idp.url).host}` }).click();
    await page.getByPlaceholder('Enter any login').waitFor();
  });

  it('refuses a session cookie that was changed', async () => {
    const { page, context } = await newPage();
    await signInWithProvider(page, idp.url, 'reader');
    await page.getByRole('banner').getByText('reader@example.com', { exact: true }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'flow_session');
    assert.ok(cookie);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.httpOnly);
    const [payload, signature] = cookie.value.split('.');
    const session = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...session, scope: 'write' })).toString('base64url');
    for (const value of [
      `${forged}.${signature}`,
      `${payload}.${(signature ?? '').replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`,
    ]) {
      const res = await request(gateway.server).get('/ui/session').set('Cookie', `flow_session=${value}`);
      assert.equal(res.status, 401);
      const api = await request(gateway.server).get('/api/definitions').set('Cookie', `flow_session=${value}`);
      assert.equal(api.status, 401);
    }
  });

  it('refuses a callback whose state is not the one this browser was given, with 400 and no session', async () => {
    const login = await request(gateway.server).get('/ui/auth/login');
    assert.equal(login.status, 303);
    const location = new URL(login.headers['location'] as string);
    assert.equal(location.origin, idp.url);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(location.searchParams.get('nonce'));
    const cookies = login.headers['set-cookie'] as unknown as string[];
    const flow = cookies.find((c) => c.startsWith('flow_oidc=')) ?? '';
    assert.match(flow, /; Path=\/ui\/auth; HttpOnly; SameSite=Lax; Max-Age=600$/);

    const wrong = await request(gateway.server)
      .get('/ui/auth/callback?code=stolen-code&state=not-the-state')
      .set('Cookie', flow.split(';')[0] ?? '');
    assert.equal(wrong.status, 400);
    assert.match(wrong.text, /does not belong to the sign-in this browser started/);
    const set = (wrong.headers['set-cookie'] as unknown as string[]) ?? [];
    assert.ok(!set.some((c) => c.startsWith('flow_session=')), 'no session cookie');

    const noFlow = await request(gateway.server).get(
      `/ui/auth/callback?code=x&state=${location.searchParams.get('state') ?? ''}`,
    );
    assert.equal(noFlow.status, 400);
    assert.match(noFlow.text, /no sign-in under way/);
  });

  it('starts a gateway whose provider is down, says so on the sign-in page, and keeps token sign-in', async () => {
    const down = await listen();
    const deadIdp = down.url;
    await close(down.server);
    const other = await listen();
    other.serve(createApp(gatewayDeps(harness, settingsFor(deadIdp, other.url))));
    try {
      const status = await request(other.server).get('/ui/auth/provider');
      assert.equal(status.status, 200);
      assert.equal(status.body.reachable, false);
      const context = await browser.newContext({ baseURL: other.url });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto('/ui');
      await page
        .getByRole('alert')
        .getByText(/cannot be reached/)
        .waitFor();
      await page.getByLabel('API token').fill(harness.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('banner').getByText('api-token', { exact: true }).waitFor();
      const login = await request(other.server).get('/ui/auth/login');
      assert.equal(login.status, 503);
    } finally {
      await close(other.server);
    }
  });

  it('asks for the scopes of FLOW_OIDC_SCOPES as given (openid always), and by default for the usual ones the provider lists', async () => {
    const scopeOf = async (server: http.Server): Promise<string | null> => {
      const login = await request(server).get('/ui/auth/login');
      assert.equal(login.status, 303);
      return new URL(login.headers['location'] as string).searchParams.get('scope');
    };
    // The provider lists openid, email and groups (not profile): those are asked for by default.
    assert.equal(await scopeOf(gateway.server), 'openid email groups');

    // Only the groups scope (openid added): the provider answers the groups claim and no email, so the writer is
    // named by its subject. The gateway at the same address, so the client's redirect URL stays registered.
    const gatewayWith = (scopes: readonly string[] | undefined) =>
      createApp(
        gatewayDeps(harness, {
          ...settingsFor(idp.url, gateway.url),
          ...(scopes === undefined ? {} : { scopes }),
        }),
      );
    gateway.serve(gatewayWith(['openid', 'groups']));
    try {
      assert.equal(await scopeOf(gateway.server), 'openid groups');
      const { page } = await newPage();
      await signInWithProvider(page, idp.url, 'writer');
      const banner = page.getByRole('banner');
      await banner.getByText('writer', { exact: true }).waitFor();
      await banner.getByText('write scope').waitFor();

      // A scope the provider does not list is asked for all the same when it is configured.
      const settings = loadConfig({
        FLOW_OIDC_ISSUER: idp.url,
        FLOW_OIDC_CLIENT_ID: CLIENT_ID,
        FLOW_OIDC_CLIENT_SECRET: CLIENT_SECRET,
        FLOW_OIDC_REDIRECT_URL: `${gateway.url}/ui/auth/callback`,
        FLOW_OIDC_WRITE_GROUPS: 'release-managers',
        FLOW_OIDC_SCOPES: 'groups,email  profile',
      }).gateway.oidc;
      assert.deepEqual(settings?.scopes, ['openid', 'groups', 'email', 'profile']);
      gateway.serve(gatewayWith(settings?.scopes));
      assert.equal(await scopeOf(gateway.server), 'openid groups email profile');
    } finally {
      gateway.serve(gatewayWith(undefined));
    }
  });

  it('ends OIDC sessions when who may sign in changes, and reads its settings from FLOW_OIDC_*', () => {
    const settings = settingsFor('https://login.example.com', 'https://flow.example.com');
    const key = deriveKey('a session secret of at least 32 characters', SESSION_KEY_PURPOSE);
    const value = createApiAuth([], key, Date.now, oidcSessionBinding(settings)).startOidcSession(
      'a@b.c',
      'write',
    ).value;
    const withCookie = { get: (name: string) => (name === 'cookie' ? `flow_session=${value}` : undefined) };
    const sessionUnder = (changed: OidcSettings): unknown =>
      createApiAuth([], key, Date.now, oidcSessionBinding(changed)).sessionOf(withCookie as never);
    assert.equal((sessionUnder(settings) as { actor: string }).actor, 'a@b.c');
    assert.equal(sessionUnder({ ...settings, writeGroups: ['everyone'] }), 'invalid');
    assert.equal(sessionUnder({ ...settings, clientId: 'another-client' }), 'invalid');
    assert.equal(createApiAuth([], key).sessionOf(withCookie as never), 'invalid', 'OIDC turned off');

    const env = {
      FLOW_OIDC_ISSUER: 'https://login.example.com/realms/main',
      FLOW_OIDC_CLIENT_ID: 'flow',
      FLOW_OIDC_CLIENT_SECRET: 'secret',
      FLOW_OIDC_WRITE_GROUPS: 'release-managers, admins',
    };
    assert.deepEqual(loadConfig(env).gateway.oidc, {
      issuer: 'https://login.example.com/realms/main',
      clientId: 'flow',
      clientSecret: 'secret',
      redirectUrl: 'http://localhost:3000/ui/auth/callback',
      groupsClaim: 'groups',
      writeGroups: ['release-managers', 'admins'],
      readGroups: [],
      nameClaim: 'email',
    });
    const refused: [Record<string, string>, string][] = [
      [{ FLOW_OIDC_ISSUER: 'http://login.example.com' }, 'FLOW_OIDC_ISSUER'],
      [{ FLOW_OIDC_CLIENT_SECRET: '' }, 'FLOW_OIDC_CLIENT_SECRET'],
      [{ FLOW_OIDC_WRITE_GROUPS: '' }, 'FLOW_OIDC_WRITE_GROUPS'],
      [{ FLOW_OIDC_REDIRECT_URL: 'https://flow.example.com/callback' }, 'FLOW_OIDC_REDIRECT_URL'],
      [{ FLOW_OIDC_ISSUER: '' }, 'FLOW_OIDC_CLIENT_ID'],
    ];
    for (const [change, variable] of refused) {
      assert.throws(
        () => loadConfig({ ...env, ...change }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    }
    assert.equal(
      loadConfig({ ...env, FLOW_OIDC_ISSUER: 'http://127.0.0.1:9000' }).gateway.oidc?.issuer,
      'http://127.0.0.1:9000/',
    );
    // FLOW_OIDC_SCOPES: spaces or commas, openid first and once; blank is unset (the default set).
    const scopes = (value: string) => loadConfig({ ...env, FLOW_OIDC_SCOPES: value }).gateway.oidc?.scopes;
    assert.deepEqual(scopes('groups'), ['openid', 'groups']);
    assert.deepEqual(scopes(' email, groups openid,groups '), ['openid', 'email', 'groups']);
    assert.deepEqual(scopes('openid'), ['openid']);
    assert.equal(scopes('   '), undefined);
    for (const wrong of [
      ', ,',
      'groups "email"',
      'back\\slash',
      'ünïcode',
      Array.from({ length: 40 }, (_, i) => `s${i}`).join(' '),
    ]) {
      assert.throws(
        () => scopes(wrong),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'FLOW_OIDC_SCOPES' &&
          /FLOW_OIDC_SCOPES/.test(error.message),
        wrong,
      );
    }
    assert.throws(
      () => loadConfig({ FLOW_OIDC_SCOPES: 'groups' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'FLOW_OIDC_SCOPES',
      'set without the issuer',
    );
  });
});
