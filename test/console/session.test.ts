import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Request } from 'express';
import request from 'supertest';
import { actionsById } from '../../activities';
import { ConfigError, loadConfig, MAIN_TOKEN_NAME, projectRoot } from '../../config';
import { consoleRouter } from '../../console/router';
import { createApp } from '../../gateway/app';
import { createApiAuth, deriveKey, SESSION_KEY_PURPOSE, type ApiToken } from '../../gateway/auth';
import { problemErrorHandler } from '../../gateway/problem';
import { startHarness, type Harness } from '../support/harness';
import { hasOpenssl, selfSignedCertificate } from '../support/self-signed-certificate';
import { ALICE, READER } from './support';

/** The `flow_session` Set-Cookie of a response, if any. */
function sessionSetCookie(res: request.Response): string | undefined {
  const cookies = res.headers['set-cookie'] as unknown as string[] | undefined;
  return cookies?.find((cookie) => cookie.startsWith('flow_session='));
}

/** The `Cookie` header that sends back the session a response set. */
function cookieFrom(res: request.Response): string {
  const cookie = sessionSetCookie(res);
  assert.ok(cookie, 'a session cookie was set');
  return cookie.split(';')[0] ?? '';
}

/** A request as `sessionOf` reads it: only its Cookie header. */
function withCookie(value: string): Request {
  return { get: (name: string) => (name.toLowerCase() === 'cookie' ? `flow_session=${value}` : undefined) } as Request;
}

describe('console: sessions, the shell and its assets', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ worker: false, gateway: { extraTokens: [ALICE, READER] } });
  });
  after(() => harness.stop());

  describe('signing in and out', () => {
    it('signs in with a token (JSON): an HttpOnly, SameSite=Strict cookie for 8 hours, and the actor, scope and csrf', async () => {
      const res = await request(harness.app).post('/ui/session').send({ token: READER.token });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), ['actor', 'csrf', 'expiresAt', 'scope']);
      assert.equal(res.body.actor, 'reader');
      assert.equal(res.body.scope, 'read');
      assert.match(res.body.csrf, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(res.headers['cache-control'], 'no-store');
      const cookie = sessionSetCookie(res) ?? '';
      assert.match(
        cookie,
        /^flow_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
      );
      assert.ok(!cookie.includes(READER.token), 'the cookie does not hold the token');
      const expires = Date.parse(res.body.expiresAt) - Date.now();
      assert.ok(expires > 8 * 3600_000 - 60_000 && expires <= 8 * 3600_000, `expires in 8 hours, not ${expires} ms`);

      const again = await request(harness.app).get('/ui/session').set('Cookie', cookieFrom(res));
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, res.body);
    });

    it('signs in with a form post, redirecting to the console', async () => {
      const res = await request(harness.app).post('/ui/session').type('form').send({ token: ALICE.token });
      assert.equal(res.status, 303);
      assert.equal(res.headers['location'], '/ui');
      const session = await request(harness.app).get('/ui/session').set('Cookie', cookieFrom(res));
      assert.equal(session.body.actor, 'alice@example.com');
      assert.equal(session.body.scope, 'write');
    });

    it('refuses a wrong token, a missing one, another body type and a sign-in from another site, setting no cookie', async () => {
      const cases: { send: (req: request.Test) => request.Test; status: number; detail: RegExp }[] = [
        { send: (req) => req.send({ token: 'not-a-token' }), status: 401, detail: /not a valid API token/ },
        { send: (req) => req.send({}), status: 401, detail: /not a valid API token/ },
        { send: (req) => req.send({ token: 42 }), status: 401, detail: /not a valid API token/ },
        { send: (req) => req.type('text/plain').send(READER.token), status: 415, detail: /as JSON, or token=/ },
        {
          send: (req) => req.set('Sec-Fetch-Site', 'cross-site').send({ token: READER.token }),
          status: 403,
          detail: /only from the console's own pages; this request came from a cross-site page/,
        },
        {
          send: (req) => req.set('Sec-Fetch-Site', 'same-site').type('form').send({ token: READER.token }),
          status: 403,
          detail: /same-site page/,
        },
      ];
      for (const { send, status, detail } of cases) {
        const res = await send(request(harness.app).post('/ui/session'));
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
        assert.match(res.body.detail, detail);
        assert.equal(sessionSetCookie(res), undefined);
      }
      const sameOrigin = await request(harness.app)
        .post('/ui/session')
        .set('Sec-Fetch-Site', 'same-origin')
        .send({ token: READER.token });
      assert.equal(sameOrigin.status, 200);
    });

    it('answers 401 for no session, and clears a cookie that is not valid', async () => {
      const none = await request(harness.app).get('/ui/session');
      assert.equal(none.status, 401);
      assert.match(none.body.detail, /Not signed in/);
      const bad = await request(harness.app).get('/ui/session').set('Cookie', 'flow_session=forged.value');
      assert.equal(bad.status, 401);
      assert.match(bad.body.detail, /not valid or has expired/);
      assert.match(sessionSetCookie(bad) ?? '', /^flow_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    });

    it('logs out by clearing the cookie', async () => {
      const res = await request(harness.app).post('/ui/session/logout');
      assert.equal(res.status, 204);
      assert.match(sessionSetCookie(res) ?? '', /^flow_session=; .*Max-Age=0/);
      const crossSite = await request(harness.app).post('/ui/session/logout').set('Sec-Fetch-Site', 'cross-site');
      assert.equal(crossSite.status, 403);
      assert.equal(sessionSetCookie(crossSite), undefined);
    });

    it('marks the cookie Secure when the request came over https', async function () {
      if (!hasOpenssl()) this.skip();
      const certificate = selfSignedCertificate();
      const server = https.createServer(certificate, harness.app).listen(0, '127.0.0.1');
      try {
        await new Promise((resolve) => server.once('listening', resolve));
        const port = (server.address() as AddressInfo).port;
        const cookie = await new Promise<string | undefined>((resolve, reject) => {
          const req = https.request(
            {
              host: '127.0.0.1',
              port,
              path: '/ui/session',
              method: 'POST',
              ca: certificate.cert,
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              res.resume();
              resolve(res.headers['set-cookie']?.find((value) => value.startsWith('flow_session=')));
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify({ token: READER.token }));
        });
        assert.match(cookie ?? '', /; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });

  describe('the API with a session cookie', () => {
    it('reads with the cookie alone; writes need X-Flow-CSRF and the write scope, and record the session actor', async () => {
      const reader = cookieFrom(await request(harness.app).post('/ui/session').send({ token: READER.token }));
      const writerSession = await request(harness.app).post('/ui/session').send({ token: ALICE.token });
      const writer = cookieFrom(writerSession);
      const definition = {
        name: 'Session save',
        on: [{ source: 'demo', type: 'session' }],
        steps: [{ id: 'noop', action: 'flow.set', with: {} }],
      };

      assert.equal((await request(harness.app).get('/api/definitions').set('Cookie', reader)).status, 200);
      const noCsrf = await request(harness.app)
        .put('/api/definitions/session-save')
        .set('Cookie', writer)
        .send(definition);
      assert.equal(noCsrf.status, 403);
      assert.match(noCsrf.body.detail, /must carry the X-Flow-CSRF header/);
      const wrongCsrf = await request(harness.app)
        .put('/api/definitions/session-save')
        .set('Cookie', writer)
        .set('X-Flow-CSRF', 'not-the-session-value')
        .send(definition);
      assert.equal(wrongCsrf.status, 403);
      const readerCsrf = (await request(harness.app).get('/ui/session').set('Cookie', reader)).body.csrf as string;
      const readScope = await request(harness.app)
        .put('/api/definitions/session-save')
        .set('Cookie', reader)
        .set('X-Flow-CSRF', readerCsrf)
        .send(definition);
      assert.equal(readScope.status, 403);
      assert.match(
        readScope.body.detail,
        /read scope; PUT \/api\/definitions\/session-save needs a token with the write scope/,
      );
      const plan = await request(harness.app).post('/api/plan/demo/session').set('Cookie', reader).send({});
      assert.equal(plan.status, 403, 'a POST with a cookie needs the CSRF header even when it only reads');

      const saved = await request(harness.app)
        .put('/api/definitions/session-save')
        .set('Cookie', writer)
        .set('X-Flow-CSRF', writerSession.body.csrf as string)
        .set('X-Flow-Change-Message', 'saved from a console session')
        .send(definition);
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
      const revisions = await request(harness.app)
        .get('/api/definitions/session-save/revisions')
        .set('Authorization', harness.auth);
      assert.deepEqual(
        revisions.body.revisions.map((revision: { author: string; message: string }) => [
          revision.author,
          revision.message,
        ]),
        [['alice@example.com', 'saved from a console session']],
      );
    });

    it('lets a bearer token win over a cookie sent with it', async () => {
      const reader = cookieFrom(await request(harness.app).post('/ui/session').send({ token: READER.token }));
      const res = await request(harness.app)
        .delete('/api/definitions/not-there')
        .set('Cookie', reader)
        .set('Authorization', harness.auth);
      assert.equal(res.status, 404, 'authorised by the bearer token, without a CSRF header');
      const badBearer = await request(harness.app)
        .get('/api/definitions')
        .set('Cookie', reader)
        .set('Authorization', 'Bearer wrong');
      assert.equal(badBearer.status, 401);
    });

    it('refuses a cookie with a changed payload, a changed signature, or an expired one (401)', async () => {
      const key = deriveKey(harness.token, SESSION_KEY_PURPOSE);
      const tokens: ApiToken[] = [{ token: harness.token, scope: 'write', name: MAIN_TOKEN_NAME }, ALICE, READER];
      const value = createApiAuth(tokens, key).startSession(READER).value;
      const [payload = '', mac = ''] = value.split('.');
      const escalated = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'write' }),
      ).toString('base64url');
      const expired = createApiAuth(tokens, key, () => Date.now() - 8 * 3600_000 - 1_000).startSession(READER).value;
      const flipped = `${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;

      assert.equal(
        (await request(harness.app).get('/api/definitions').set('Cookie', `flow_session=${value}`)).status,
        200,
        'the untouched cookie, minted with the key derived from FLOW_API_TOKEN, is accepted',
      );
      for (const [what, cookie] of [
        ['a payload raised to the write scope', `${escalated}.${mac}`],
        ['a changed signature', `${payload}.${flipped}`],
        ['an expired session', expired],
        ['no signature', payload],
      ] as const) {
        const res = await request(harness.app).get('/api/definitions').set('Cookie', `flow_session=${cookie}`);
        assert.equal(res.status, 401, what);
        assert.match(res.body.detail, /console session is not valid or has expired; sign in again at \/ui/, what);
      }
    });

    it('ends the sessions of a token removed from the configuration, or whose scope changed', () => {
      const key = deriveKey('some FLOW_API_TOKEN value', SESSION_KEY_PURPOSE);
      const main: ApiToken = { token: 'main-token-value-0123456789', scope: 'write', name: MAIN_TOKEN_NAME };
      const value = createApiAuth([main, ALICE], key).startSession(ALICE).value;
      assert.equal(
        (createApiAuth([main, ALICE], key).sessionOf(withCookie(value)) as { actor: string }).actor,
        ALICE.name,
      );
      assert.equal(createApiAuth([main], key).sessionOf(withCookie(value)), 'invalid');
      assert.equal(createApiAuth([main, { ...ALICE, scope: 'read' }], key).sessionOf(withCookie(value)), 'invalid');
      assert.equal(
        createApiAuth([main, ALICE], deriveKey('another FLOW_API_TOKEN', SESSION_KEY_PURPOSE)).sessionOf(
          withCookie(value),
        ),
        'invalid',
        'a key from another token (a rotated FLOW_API_TOKEN) ends every session',
      );
    });

    it('signs with FLOW_SESSION_SECRET when set (at least 32 characters), not with the key from FLOW_API_TOKEN', async () => {
      const secret = 'a-session-secret-of-forty-characters-000';
      assert.equal(loadConfig({ FLOW_SESSION_SECRET: ` ${secret} ` }).gateway.sessionSecret, secret);
      assert.equal(loadConfig({}).gateway.sessionSecret, undefined);
      assert.throws(
        () => loadConfig({ FLOW_SESSION_SECRET: 'short-secret-value' }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /FLOW_SESSION_SECRET is 18 characters long; use at least 32/.test(error.message) &&
          !error.message.includes('short-secret-value'),
      );

      const app = createApp({
        health: {},
        apiToken: harness.token,
        extraTokens: [READER],
        sessionSecret: secret,
        store: harness.store,
        catalog: actionsById(),
        intake: { client: harness.client, taskQueue: harness.taskQueue },
        webhooks: { adapters: [], env: {} },
      });
      const tokens: ApiToken[] = [{ token: harness.token, scope: 'write', name: MAIN_TOKEN_NAME }, READER];
      const fromSecret = createApiAuth(tokens, deriveKey(secret, SESSION_KEY_PURPOSE)).startSession(READER).value;
      const fromToken = createApiAuth(tokens, deriveKey(harness.token, SESSION_KEY_PURPOSE)).startSession(READER).value;
      assert.equal(
        (await request(app).get('/api/definitions').set('Cookie', `flow_session=${fromSecret}`)).status,
        200,
      );
      assert.equal((await request(app).get('/api/definitions').set('Cookie', `flow_session=${fromToken}`)).status, 401);
      const signedIn = await request(app).post('/ui/session').send({ token: READER.token });
      assert.equal(
        (await request(harness.app).get('/ui/session').set('Cookie', cookieFrom(signedIn))).status,
        401,
        'a gateway with another key does not accept it',
      );
    });
  });

  describe('the shell and its assets', () => {
    it('answers every page address with the shell, under a CSP without inline scripts or styles', async () => {
      for (const page of [
        '/ui',
        '/ui/',
        '/ui/events/jira/issue_transitioned',
        '/ui/definitions/release',
        '/ui/nothing/here',
      ]) {
        const res = await request(harness.app).get(page);
        assert.equal(res.status, 200, page);
        assert.match(res.headers['content-type'] ?? '', /^text\/html/);
        assert.equal(res.headers['cache-control'], 'no-cache');
        const csp = res.headers['content-security-policy'] ?? '';
        const directives = new Map(
          csp.split(';').map((directive) => {
            const [name = '', ...values] = directive.trim().split(/\s+/);
            return [name, values.join(' ')] as const;
          }),
        );
        assert.equal(directives.get('default-src'), "'none'");
        assert.equal(directives.get('script-src'), "'self'");
        assert.equal(directives.get('style-src'), "'self'");
        assert.equal(directives.get('connect-src'), "'self'");
        assert.equal(directives.get('frame-ancestors'), "'none'");
        assert.ok(!csp.includes('unsafe'), csp);
        assert.ok(!directives.has('upgrade-insecure-requests'), 'a console on plain http keeps working');
        const scripts = [...(res.text.match(/<script[^>]*>/g) ?? [])];
        assert.equal(scripts.length, 1);
        assert.match(scripts[0] ?? '', /^<script src="\/ui\/assets\/console-[0-9a-f]{16}\.js" defer>$/);
        assert.ok(!/\sstyle=|<style/.test(res.text), 'no inline style');
      }
    });

    it('serves the bundle and the stylesheet under content-hashed names, cached for good; other names are 404', async () => {
      const shell = await request(harness.app).get('/ui');
      const script = /src="(\/ui\/assets\/console-[0-9a-f]{16}\.js)"/.exec(shell.text)?.[1] ?? '';
      const style = /href="(\/ui\/assets\/console-[0-9a-f]{16}\.css)"/.exec(shell.text)?.[1] ?? '';
      const js = await request(harness.app).get(script);
      assert.equal(js.status, 200);
      assert.match(js.headers['content-type'] ?? '', /^text\/javascript; charset=utf-8/);
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.ok(js.text.length > 1_000 && js.text.length < 200_000, `a small bundle: ${js.text.length} bytes`);
      assert.ok(
        !/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/.test(js.text),
        'no HTML parsing of data',
      );
      const css = await request(harness.app).get(style);
      assert.equal(css.status, 200);
      assert.match(css.headers['content-type'] ?? '', /^text\/css/);
      assert.equal(css.text, fs.readFileSync(path.join(projectRoot, 'console/src/console.css'), 'utf8'));
      const stale = await request(harness.app).get('/ui/assets/console-0000000000000000.js');
      assert.equal(stale.status, 404);
      assert.match(stale.body.detail, /Reload the page/);
    });
    it('answers a 500 problem saying so when the browser code is missing from the installation', async () => {
      const logged: string[] = [];
      const app = express();
      app.use(
        '/ui',
        consoleRouter({
          auth: createApiAuth([], Buffer.alloc(32)),
          log: (message) => logged.push(message),
          sourceDir: path.join(os.tmpdir(), 'flow-no-console-here'),
        }),
      );
      app.use(problemErrorHandler(() => undefined));
      const res = await request(app).get('/ui/events/jira/issue_transitioned');
      assert.equal(res.status, 500);
      assert.match(
        res.body.detail,
        /^The console's browser code could not be built: the console's source code \(.*flow-no-console-here\/main\.ts\) is not in this installation\./,
      );
      assert.deepEqual(logged, ['the console could not be built']);
    });
  });

  describe('a room of its own', () => {
    it('console/ imports nothing from the registry, the intake, the workflows, the activities or Temporal, and its browser code only itself (and the editor bundle CodeMirror and yaml)', () => {
      const files = (dir: string): string[] =>
        fs
          .readdirSync(dir, { withFileTypes: true })
          .flatMap((entry) =>
            entry.isDirectory()
              ? files(path.join(dir, entry.name))
              : entry.name.endsWith('.ts')
                ? [path.join(dir, entry.name)]
                : [],
          );
      const consoleDir = path.join(projectRoot, 'console');
      // The editor bundle (console/src/editor, loaded by the editing pages only) alone uses packages: CodeMirror and yaml.
      const EDITOR_PACKAGES = /^(codemirror|@codemirror\/[a-z-]+|yaml)$/;
      const all = files(consoleDir);
      assert.ok(all.length > 10);
      for (const file of all) {
        const imports = [
          ...fs.readFileSync(file, 'utf8').matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'/g),
        ].map((match) => match[1] ?? match[2] ?? '');
        for (const specifier of imports) {
          const target = specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier) : specifier;
          const relative = path.relative(projectRoot, target);
          assert.ok(
            !/^(registry|intake|workflows|activities|workers|common)(\/|$)/.test(relative) &&
              !/^(@temporalio\/|mongodb$)/.test(specifier),
            `${path.relative(projectRoot, file)} imports ${specifier}`,
          );
          if (file.startsWith(path.join(consoleDir, 'src'))) {
            assert.ok(
              specifier.startsWith('.')
                ? target.startsWith(path.join(consoleDir, 'src'))
                : EDITOR_PACKAGES.test(specifier) && file.startsWith(path.join(consoleDir, 'src', 'editor')),
              `browser code ${path.relative(projectRoot, file)} imports ${specifier}, outside console/src`,
            );
          }
        }
      }
    });
  });
});
