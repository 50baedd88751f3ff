/**
 * What the console's browser tests share: a real gateway listening on 127.0.0.1 (the harness's app, on the test
 * services), Debian's chromium driven by playwright-core (one browser per test file), and the steps a person takes,
 * such as signing in. Elements are found by role and label, as a person finds them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import { projectRoot } from '../../config';
import type { ApiToken } from '../../gateway/auth';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it); playwright never downloads a browser here. */
export const CHROMIUM = process.env['FLOW_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A write token with a name of its own, so what its sessions do is recorded under that name. */
export const ALICE: ApiToken = {
  token: 'alice-console-write-token-0123456789',
  scope: 'write',
  name: 'alice@example.com',
};
/** A read token. */
export const READER: ApiToken = { token: 'reader-console-read-token-0123456789', scope: 'read', name: 'reader' };

/** A running gateway and a browser pointed at it. */
export interface ConsoleWorld {
  readonly harness: Harness;
  /** The gateway's base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly browser: Browser;
  /** A fresh browser context (its own cookies) and a page in it. */
  newPage(): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

/**
 * Starts the gateway (with {@link ALICE} and {@link READER} besides the harness's token) and chromium; `deps` go to
 * the worker's activities, such as the environment naming a fake peer.
 */
export async function startConsoleWorld(options: Pick<HarnessOptions, 'worker' | 'deps'> = {}): Promise<ConsoleWorld> {
  const harness = await startHarness({
    worker: options.worker ?? false,
    gateway: { extraTokens: [ALICE, READER] },
    ...(options.deps ? { deps: options.deps } : {}),
  });
  const contexts: BrowserContext[] = [];
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    server = harness.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const launched = browser;
    const listening = server;
    return {
      harness,
      url,
      browser: launched,
      async newPage() {
        const context = await launched.newContext({ baseURL: url });
        contexts.push(context);
        return { context, page: await context.newPage() };
      },
      async stop() {
        for (const context of contexts) await context.close().catch(() => undefined);
        await launched.close();
        listening.closeAllConnections();
        await new Promise((resolve) => listening.close(resolve));
        await harness.stop();
      },
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    server?.close();
    await harness.stop();
    throw error;
  }
}

/** Opens `path` (default the home page), signs in with `token` on the sign-in page, and waits for the header. */
export async function signIn(page: Page, token: ApiToken, at = '/ui'): Promise<void> {
  await page.goto(at);
  await page.getByLabel('API token').fill(token.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('banner').getByText(token.name, { exact: true }).waitFor();
}

/** The answer to a `fetch` the page itself makes, as a forged request from a script on the page would. */
export async function fetchFromPage(
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: { detail?: string; [key: string]: unknown } }> {
  return page.evaluate(
    async ({ url, init }) => {
      const response = await fetch(url, init);
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { text };
      }
      return { status: response.status, body: body as { detail?: string } };
    },
    { url, init },
  );
}

/** The page's session CSRF value, as the console reads it (`GET /ui/session`). */
export async function csrfOf(page: Page): Promise<string> {
  const session = await fetchFromPage(page, '/ui/session');
  assert.equal(session.status, 200, JSON.stringify(session.body));
  const csrf = session.body['csrf'];
  assert.equal(typeof csrf, 'string');
  return csrf as string;
}

/** Saves a definition through the API with the harness's token (author `api-token`). */
export async function saveDefinition(
  harness: Harness,
  id: string,
  body: string | object,
  type = typeof body === 'string' ? 'application/yaml' : 'application/json',
): Promise<void> {
  const saved = await request(harness.app)
    .put(`/api/definitions/${id}`)
    .set('Authorization', harness.auth)
    .type(type)
    .send(typeof body === 'string' ? body : JSON.stringify(body));
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
}

/** The text of an example definition in `examples/`. */
export function exampleText(file: string): string {
  return fs.readFileSync(path.join(projectRoot, 'examples', file), 'utf8');
}
