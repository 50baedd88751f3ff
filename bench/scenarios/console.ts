import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createApp } from '../../gateway/app';
import { CHROMIUM, signIn } from '../../test/console/support';
import { progress } from '../context';
import { seedDefinitions } from '../definitions';
import { compared, flowOnly, goal, RepValues, type Goal, type Metric, type Scenario } from '../scenario';
import { percentile } from '../stats';

const SOURCES = ['jira', 'jenkins', 'github', 'gitlab'];
/** The definition the event and definition pages show: bound to the same event at every size, saved last. */
const TARGET = 'bench-console-target';
const TARGET_EVENT = { source: 'jira', type: 'issue_transitioned' };

/** The pages measured, by key: each loaded from its address in a new document, as a person opening a link. */
const PAGES = [
  { key: 'home', path: '/ui', heading: 'Events' },
  {
    key: 'event',
    path: `/ui/events/${TARGET_EVENT.source}/${TARGET_EVENT.type}`,
    heading: 'jira / issue_transitioned',
  },
  { key: 'definition', path: `/ui/definitions/${TARGET}`, heading: 'Console target' },
] as const;

/** The fields of a browser's `PerformanceResourceTiming` (and navigation entry) the benchmark reads. */
interface TimingEntry {
  readonly name: string;
  readonly initiatorType: string;
  readonly requestStart: number;
  readonly responseStart: number;
  readonly encodedBodySize: number;
}

/** What one page load asked of the gateway, from the browser's Resource Timing. */
interface PageLoad {
  /** The sum over the page's API calls of request sent → first byte of the answer, in ms. */
  readonly serverMs: number;
  readonly calls: number;
  /** Body bytes by kind: the shell's HTML, scripts, stylesheets and the API's JSON. */
  readonly bytes: { readonly html: number; readonly js: number; readonly css: number; readonly json: number };
}

/**
 * Issue 16's page-time benchmark: the gateway's time to answer what each console page asks, with 1,000 stored
 * definitions against 10, and the home page's transfer size.
 */
export const consolePages: Scenario = {
  name: 'console',
  title: 'Console: server time per page at 1,000 definitions against 10, and the home page transfer size',
  async run(ctx, { quick, reps }) {
    const scales = quick ? [10, 50] : [10, 1_000];
    const loadsPerRep = quick ? 3 : 20;
    const values = new RepValues();
    const token = `bench_console_${randomBytes(18).toString('base64url')}`;
    // The gateway's own code in this process, on the benchmark's registry and Temporal, so its API is reachable
    // from a browser with a session; the gateway process of the other scenarios keeps its token to itself.
    const app = createApp({
      health: {},
      apiToken: token,
      store: ctx.store,
      catalog: ctx.catalog,
      intake: { client: ctx.client, taskQueue: ctx.flowTaskQueue },
      webhooks: { adapters: [], env: {} },
    });
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let browser: Browser | undefined;
    let stored = 0;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      for (const scale of scales) {
        const fillers = Array.from({ length: scale - 1 - stored }, (_, index) => filler(stored + index));
        if (fillers.length > 0)
          await seedDefinitions(ctx, fillers, 16, `console: seeding up to ${scale.toLocaleString('en')} definitions`);
        // Saved again last at each size (a new revision), so it is the newest head whatever the size.
        await ctx.saveDefinition(target(scale));
        stored = scale;

        const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } });
        try {
          const page = await context.newPage();
          await signIn(page, { token, scope: 'write', name: 'api-token' });
          await uncached(context, page);
          // One load of each page first, not counted: the gateway's first bundle of the console and Node's warm-up.
          for (const shown of PAGES) await loadPage(page, shown.path, shown.heading);
          for (let rep = 0; rep < reps; rep++) {
            for (const shown of PAGES) {
              const loads: PageLoad[] = [];
              for (let i = 0; i < loadsPerRep; i++) loads.push(await loadPage(page, shown.path, shown.heading));
              const server = loads.map((load) => load.serverMs);
              values.add(`s${scale}.${shown.key}.p50`, percentile(server, 50));
              values.add(`s${scale}.${shown.key}.p99`, percentile(server, 99));
              if (shown.key === 'home') {
                const first = loads[0]!;
                values.add(
                  `s${scale}.home.bytes`,
                  first.bytes.html + first.bytes.js + first.bytes.css + first.bytes.json,
                );
                values.add(`s${scale}.home.json`, first.bytes.json);
                values.add(`s${scale}.home.assets`, first.bytes.html + first.bytes.js + first.bytes.css);
                values.add(`s${scale}.home.calls`, first.calls);
              }
            }
            progress(
              `console: ${scale.toLocaleString('en')} definitions, rep ${rep + 1}/${reps}: ` +
                PAGES.map(
                  (shown) => `${shown.key} p99 ${values.get(`s${scale}.${shown.key}.p99`).at(-1)!.toFixed(1)} ms`,
                ).join(', '),
            );
          }
        } finally {
          await context.close();
        }
      }
    } finally {
      await browser?.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      progress('console: emptying the registry');
      await ctx.resetRegistry();
    }

    const [base, large] = [scales[0]!, scales.at(-1)!];
    const at = large.toLocaleString('en');
    const metrics: Metric[] = [];
    const goals: Goal[] = [];
    for (const shown of PAGES) {
      const p99 = compared(
        `s${large}.${shown.key}.p99`,
        `Server time of the ${shown.key} page, p99, at ${at} vs ${base} definitions`,
        'ms',
        values.get(`s${large}.${shown.key}.p99`),
        values.get(`s${base}.${shown.key}.p99`),
      );
      metrics.push(
        compared(
          `s${large}.${shown.key}.p50`,
          `Server time of the ${shown.key} page, p50, at ${at} vs ${base} definitions`,
          'ms',
          values.get(`s${large}.${shown.key}.p50`),
          values.get(`s${base}.${shown.key}.p50`),
        ),
        p99,
      );
      goals.push(
        goal(p99, `${shown.key} page: server time p99 at ${at} definitions at most 1.5x the p99 at ${base}`, {
          atMost: 1.5,
        }),
      );
    }
    metrics.push(
      compared(
        `s${large}.home.bytes`,
        `Home page transfer (HTML + JS + CSS + API JSON) at ${at} vs ${base} definitions`,
        'bytes',
        values.get(`s${large}.home.bytes`),
        values.get(`s${base}.home.bytes`),
      ),
      flowOnly(
        `s${large}.home.json`,
        `Home page API JSON at ${at} definitions`,
        'bytes',
        values.get(`s${large}.home.json`),
      ),
      flowOnly(
        `s${base}.home.assets`,
        'Home page HTML + JS + CSS (the same at every size)',
        'bytes',
        values.get(`s${base}.home.assets`),
      ),
      flowOnly(
        `s${large}.home.calls`,
        `Home page API calls at ${at} definitions`,
        'calls',
        values.get(`s${large}.home.calls`),
      ),
    );
    return {
      name: consolePages.name,
      title: consolePages.title,
      measures:
        `Definitions (each bound to an event of its own under jira, jenkins, github or gitlab, with an \`if\`) are saved ` +
        `cumulatively ${scales.map((s) => s.toLocaleString('en')).join(' → ')}; a definition bound to jira/issue_transitioned ` +
        `is saved last at each size. Chromium (signed in, HTTP cache off) loads the home, event and definition pages ` +
        `${loadsPerRep} times each a repetition, each a new document from its address. A page's server time is the sum, ` +
        "over the requests its script makes to the gateway (`/api/…` and `/ui/session`), of the browser's Resource Timing " +
        '`responseStart − requestStart`: from the request sent to the first byte of the answer, on loopback. The shell and ' +
        'the bundles are not in it (served from memory, the same at every size). Transfer is the body bytes of the home ' +
        "page's document, scripts, stylesheets and API answers (`encodedBodySize`: as sent, so compressed where the gateway compresses, the bundles and `/api/events`). The gateway is " +
        "Flow's `createApp` in the runner's process, on the benchmark's registry and Temporal.",
      baseline: `The same pages at ${base} stored definitions, in the same run.`,
      metrics,
      goals,
      breakdowns: [],
      notes: [
        'The calls of one page may overlap (the definition page asks four at once), so the sum can exceed the wall time.',
        'The definition page lists its runs from Temporal visibility; the target has none, so that call does not grow.',
      ],
    };
  },
};

function filler(index: number): Record<string, unknown> {
  const n = String(index).padStart(5, '0');
  return {
    id: `bench-console-${n}`,
    name: `Benchmark console ${n}`,
    description: 'A definition that fills the registry for the console benchmark.',
    on: [{ source: SOURCES[index % SOURCES.length]!, type: `t${n}`, if: `event.key == "${n}"` }],
    steps: [{ id: 's1', action: 'bench.noop' }],
  };
}

function target(scale: number): Record<string, unknown> {
  return {
    id: TARGET,
    name: 'Console target',
    description: `The definition the event and definition pages show (saved at ${scale} definitions).`,
    on: [{ ...TARGET_EVENT, if: 'event.to == "Start Release"' }],
    steps: [
      { id: 's1', action: 'bench.noop' },
      { id: 's2', action: 'bench.noop' },
    ],
  };
}

/** Turns the HTTP cache off, so every load asks for (and measures) its whole transfer. */
async function uncached(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
}

/** Loads `path` as a new document, waits for its heading, and reads what it asked of the gateway. */
async function loadPage(page: Page, path: string, heading: string): Promise<PageLoad> {
  await page.goto(path);
  await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => {
    // Resource Timing as the browser has it; the runner's Node types do not declare the DOM's entry types.
    const timing = performance as unknown as { getEntriesByType(type: string): TimingEntry[] };
    const bytes = { html: 0, js: 0, css: 0, json: 0 };
    let serverMs = 0;
    let calls = 0;
    bytes.html += timing.getEntriesByType('navigation')[0]?.encodedBodySize ?? 0;
    for (const entry of timing.getEntriesByType('resource')) {
      const pathname = new URL(entry.name).pathname;
      if (entry.initiatorType === 'fetch' && (pathname.startsWith('/api/') || pathname.startsWith('/ui/session'))) {
        serverMs += entry.responseStart - entry.requestStart;
        calls += 1;
        bytes.json += entry.encodedBodySize;
      } else if (pathname.endsWith('.js')) bytes.js += entry.encodedBodySize;
      else if (pathname.endsWith('.css')) bytes.css += entry.encodedBodySize;
    }
    return { serverMs, calls, bytes };
  });
}
