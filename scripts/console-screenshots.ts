/**
 * `npm run screenshots [-- --out <dir>]`: a PNG of each console page, for the documentation (`docs/console/` by
 * default). It starts a real stack like the tests do (Temporal and a MongoDB-wire server, reused when
 * `TEMPORAL_ADDRESS` and `MONGODB_URI` are set; a gateway and a worker in this process), saves the examples and a few
 * definitions that keep runs waiting (an approval, a train with a line), starts runs, signs in as a write token in
 * Debian's chromium and photographs each page at 1280×800, and the events page at a phone's 390×844.
 * `test/console/screenshots.test.ts` runs it and checks that every file is there, a PNG of its size.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { projectRoot } from '../config';
import { ALICE, exampleText, signIn, startConsoleWorld, type ConsoleWorld } from '../test/console/support';
import { mochaGlobalSetup, mochaGlobalTeardown } from '../test/support/global-fixture';
import { eventually } from '../test/support/http-receiver';

/** A viewport, in CSS pixels; screenshots are taken at one device pixel per CSS pixel, so the PNG has this size. */
export interface Viewport {
  readonly width: number;
  readonly height: number;
}

export const DESKTOP: Viewport = { width: 1280, height: 800 };
export const PHONE: Viewport = { width: 390, height: 844 };

/** One screenshot: its file, the page's address (`{run}` is the waiting run's id) and its viewport. */
export interface Shot {
  readonly file: string;
  readonly path: string;
  readonly viewport: Viewport;
  /** The page's `h1`, exactly (`{run}` as in `path`). */
  readonly heading: string;
}

/** Every screenshot the script writes. */
export const SHOTS: readonly Shot[] = [
  { file: 'home.png', path: '/ui', viewport: DESKTOP, heading: 'Events' },
  {
    file: 'event.png',
    path: '/ui/events/jira/issue_transitioned',
    viewport: DESKTOP,
    heading: 'jira / issue_transitioned',
  },
  { file: 'definition.png', path: '/ui/definitions/release', viewport: DESKTOP, heading: 'Release' },
  { file: 'edit-form.png', path: '/ui/definitions/release/edit', viewport: DESKTOP, heading: 'Edit Release' },
  { file: 'yaml-editor.png', path: '/ui/definitions/release/yaml', viewport: DESKTOP, heading: 'YAML of Release' },
  {
    file: 'compare.png',
    path: '/ui/definitions/release/compare?from=1&to=2',
    viewport: DESKTOP,
    heading: 'Compare revisions of Release',
  },
  { file: 'actions.png', path: '/ui/actions', viewport: DESKTOP, heading: 'Actions' },
  { file: 'trains.png', path: '/ui/trains', viewport: DESKTOP, heading: 'Trains' },
  { file: 'runs.png', path: '/ui/runs', viewport: DESKTOP, heading: 'Runs' },
  { file: 'run.png', path: '/ui/runs/{run}', viewport: DESKTOP, heading: '{run}' },
  { file: 'approvals.png', path: '/ui/approvals', viewport: DESKTOP, heading: 'Approvals' },
  { file: 'subscriptions.png', path: '/ui/subscriptions', viewport: DESKTOP, heading: 'My subscriptions' },
  { file: 'events-phone.png', path: '/ui', viewport: PHONE, heading: 'Events' },
];

/** What the seeded world holds for the pages to show. */
interface Seeded {
  /** A run waiting for alice's approval, for the run page. */
  readonly waitingRun: string;
  /** Runs to end when the screenshots are taken. */
  readonly open: readonly string[];
}

/** Starts the stack, seeds it, and writes every screenshot into `outDir`. */
export async function writeScreenshots(outDir: string): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const world = await startConsoleWorld({ worker: true });
  let seeded: Seeded | undefined;
  try {
    seeded = await seed(world);
    const written: string[] = [];
    const contexts = new Map<Viewport, BrowserContext>();
    for (const shot of SHOTS) {
      let context = contexts.get(shot.viewport);
      if (!context) {
        context = await world.browser.newContext({ baseURL: world.url, viewport: shot.viewport, deviceScaleFactor: 1 });
        contexts.set(shot.viewport, context);
        await signIn(await context.newPage(), ALICE);
      }
      const page = await context.newPage();
      await photograph(page, shot, seeded, path.join(outDir, shot.file));
      await page.close();
      written.push(shot.file);
    }
    for (const context of contexts.values()) await context.close();
    return written;
  } finally {
    for (const workflowId of seeded?.open ?? []) {
      await world.harness.client.workflow
        .getHandle(workflowId)
        .terminate('screenshots taken')
        .catch(() => undefined);
    }
    await world.stop();
  }
}

async function photograph(page: Page, shot: Shot, seeded: Seeded, file: string): Promise<void> {
  await page.goto(shot.path.replace('{run}', encodeURIComponent(seeded.waitingRun)));
  const heading = shot.heading.replace('{run}', seeded.waitingRun);
  await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
  // The pages fill in what they read after their heading (runs, the editor's bundle); the run page reads its run
  // every 2 s, which leaves the network quiet long enough in between.
  await page.waitForLoadState('networkidle');
  if (shot.file === 'yaml-editor.png') await page.locator('.cm-content').first().waitFor();
  await page.screenshot({ path: file, type: 'png', scale: 'css' });
}

/**
 * The examples (release saved twice, for a comparison), an approval gate and a train, runs of each, and alice's
 * subscriptions.
 */
async function seed(world: ConsoleWorld): Promise<Seeded> {
  const { harness } = world;
  const put = async (id: string, body: string | object, message: string): Promise<void> => {
    const text = typeof body === 'string';
    const saved = await request(harness.app)
      .put(`/api/definitions/${id}`)
      .set('Authorization', `Bearer ${ALICE.token}`)
      .set('X-Flow-Change-Message', message)
      .type(text ? 'application/yaml' : 'application/json')
      .send(text ? body : JSON.stringify(body));
    if (saved.status !== 201) throw new Error(`PUT ${id}: ${saved.status} ${JSON.stringify(saved.body)}`);
  };
  const release = exampleText('release.yaml');
  await put('release', release, 'The release train, from examples/');
  await put(
    'release',
    release.replaceAll("channel: '#releases'", "channel: '#release-train'"),
    'Post to #release-train',
  );
  await put('release-rejected', exampleText('release-rejected.yaml'), 'From examples/');
  await put('hello', exampleText('hello.yaml'), 'From examples/');
  await put(
    'ship',
    {
      name: 'Ship to production',
      description: 'Asks a release manager before production, then announces the version.',
      on: [{ source: 'ops', type: 'ship', if: 'event.env == "production"' }],
      steps: [
        {
          id: 'go_live',
          name: 'Ask a release manager',
          action: 'flow.approval',
          with: { title: 'Ship ${{ event.version }} to production?', approvers: [ALICE.name] },
        },
        { id: 'announce', action: 'flow.set', with: { shipped: '${{ event.version }}' } },
      ],
    },
    'An approval before production',
  );
  await put(
    'deploy',
    {
      name: 'Deploy',
      description: 'One deployment per environment at a time; the others wait in line.',
      on: [{ source: 'ops', type: 'deploy' }],
      concurrency: { group: 'deploy-${{ event.env }}', when_busy: 'queue' },
      steps: [{ id: 'soak', name: 'Soak', action: 'flow.sleep', with: { duration: '${{ event.soak }}' } }],
    },
    'A train per environment',
  );

  const subscribe = async (body: object): Promise<void> => {
    const saved = await request(harness.app)
      .post('/api/subscriptions')
      .set('Authorization', `Bearer ${ALICE.token}`)
      .send(body);
    if (saved.status !== 201) throw new Error(`POST subscription: ${saved.status} ${JSON.stringify(saved.body)}`);
  };
  await subscribe({
    on: { source: 'jira', type: 'issue_transitioned', if: 'event.project == "SHOP" && event.to == "Start Release"' },
    deliver: { slack: '@alice' },
    message: 'Release for ${{ event.issue }} started by ${{ event.user }}',
  });
  await subscribe({
    on: { definition: 'release', outcomes: ['failed', 'cancelled', 'rejected', 'approval_requested'] },
    deliver: { slack: '#release-train', email: 'alice@example.com' },
  });
  await subscribe({
    on: { definition: 'deploy', outcomes: ['completed'] },
    deliver: { email: 'alice@example.com' },
    muted_until: new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString(),
  });

  const open: string[] = [];
  await harness.startRun('demo', 'hello', { name: 'Ada' });
  const waitingRun = await harness.startRun('ops', 'ship', { version: '4.2.0', env: 'production' });
  open.push(waitingRun);
  for (const version of ['4.2.0', '4.2.1', '4.3.0']) {
    open.push(await harness.startRun('ops', 'deploy', { version, env: 'staging', soak: '1h' }));
  }
  const api = (url: string) => request(harness.app).get(url).set('Authorization', `Bearer ${ALICE.token}`);
  await eventually(
    async () => {
      const res = await api('/api/approvals?for=me');
      return (res.body as { items?: { workflowId: string }[] }).items?.some((item) => item.workflowId === waitingRun)
        ? true
        : undefined;
    },
    30_000,
    'the approval to be listed',
  );
  await eventually(
    async () => {
      const res = await api('/api/trains');
      const trains = (res.body as { items?: { group: string; queue: unknown[] }[] }).items;
      return trains?.find((train) => train.group === 'deploy-staging')?.queue.length === 2 ? true : undefined;
    },
    30_000,
    'two deployments waiting in line',
  );
  return { waitingRun, open };
}

function outOption(argv: readonly string[]): string {
  const at = argv.indexOf('--out');
  const value = at === -1 ? undefined : argv[at + 1];
  return path.resolve(value ?? path.join(projectRoot, 'docs', 'console'));
}

async function main(): Promise<void> {
  const outDir = outOption(process.argv.slice(2));
  // The tests' own setup: reuses TEMPORAL_ADDRESS and MONGODB_URI when set, else starts both on free ports.
  await mochaGlobalSetup();
  try {
    const written = await writeScreenshots(outDir);
    console.log(`Wrote ${written.length} screenshots into ${path.relative(process.cwd(), outDir) || '.'}`);
  } finally {
    await mochaGlobalTeardown();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
