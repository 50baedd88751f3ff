import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { RUN_HANDLERS, type RunStatus } from '../../common/run-control';
import type { RunResult } from '../../common/run-types';
import { eventually } from '../support/http-receiver';
import { uniqueName } from '../support/stack';
import { ALICE, READER, saveDefinition, signIn, startConsoleWorld, type ConsoleWorld } from './support';

/** Why an edit control is disabled for a read session, as the console says it (console/src/controls.ts). */
const READ_SCOPE_REASON =
  'Your token has the read scope: you can see everything but change nothing. Sign in with a write token to edit.';

/** The value cell of the row headed `label` in the fact table named `table`. */
function factOf(page: Page, table: string, label: string): Locator {
  return page
    .getByRole('table', { name: table, exact: true })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: label, exact: true }) })
    .getByRole('cell');
}

/** The cells of the row of `table` that holds `text`. */
function rowOf(scope: Page | Locator, table: string, text: string): Locator {
  return scope.getByRole('table', { name: table, exact: true }).getByRole('row').filter({ hasText: text });
}

/** Every dialog the page opens, dismissed. */
function dialogsOf(page: Page): string[] {
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return dialogs;
}

describe('console: trains, runs and approvals, operated from the browser', function () {
  this.timeout(180_000);
  let world: ConsoleWorld;
  const source = 'ops';
  const running: string[] = [];

  before(async () => {
    world = await startConsoleWorld({ worker: true });
    const gate = (id: string, approvers: string[], extra: Record<string, unknown> = {}, after: unknown[] = []) => ({
      name: id,
      on: [{ source, type: id.replaceAll('-', '_') }],
      steps: [
        { id: 'go_live', action: 'flow.approval', with: { title: 'Ship ${{ event.version }}?', approvers, ...extra } },
        { id: 'announce', action: 'flow.set', with: { shipped: '${{ event.version }}' } },
        ...after,
      ],
    });
    await saveDefinition(world.harness, 'gate', gate('gate', [ALICE.name, 'api-token']));
    await saveDefinition(
      world.harness,
      'open-gate',
      // A soak after the approval keeps the run open, so a late answer reaches the run itself.
      gate('open-gate', [ALICE.name, 'api-token'], { forbid_self_approval: false }, [
        { id: 'soak', action: 'flow.sleep', with: { duration: '1h' } },
      ]),
    );
    await saveDefinition(world.harness, 'reader-gate', gate('reader-gate', [READER.name]));
    await saveDefinition(world.harness, 'deploy', {
      name: 'Deploy',
      on: [{ source, type: 'deploy' }],
      concurrency: { group: 'deploy-${{ event.env }}', when_busy: 'queue' },
      steps: [{ id: 'soak', action: 'flow.sleep', with: { duration: '${{ event.soak }}' } }],
    });
    await saveDefinition(world.harness, 'sleeper', {
      name: 'Sleeper',
      on: [{ source, type: 'sleep' }],
      steps: [
        { id: 'soak', action: 'flow.sleep', with: { duration: '1h' } },
        { id: 'after', action: 'flow.set', with: { done: true } },
      ],
    });
    await saveDefinition(world.harness, 'quick', {
      name: 'Quick',
      on: [{ source, type: 'quick' }],
      steps: [{ id: 'note', action: 'flow.set', with: { n: '${{ event.n }}' } }],
    });
  });
  after(async () => {
    for (const workflowId of running) {
      await world.harness.client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
    }
    await world?.stop();
  });

  /** Starts a run for an event posted with the harness's token (actor `api-token`). */
  async function start(type: string, body: Record<string, unknown>): Promise<string> {
    const workflowId = await world.harness.startRun(source, type, body);
    running.push(workflowId);
    return workflowId;
  }

  const api = (path: string, token = world.harness.token) =>
    request(world.harness.app).get(path).set('Authorization', `Bearer ${token}`);

  /** Waits until the approvals API lists `workflowId` for `token`'s name (visibility shows a start a moment later). */
  async function listedForApproval(workflowId: string, token: string): Promise<void> {
    await eventually(
      async () => {
        const res = await api('/api/approvals?for=me', token);
        return (res.body.items as { workflowId: string }[] | undefined)?.some((item) => item.workflowId === workflowId)
          ? true
          : undefined;
      },
      30_000,
      `${workflowId} waiting for approval`,
    );
  }

  /** Waits until the trains API shows `count` runs waiting in `group`'s line. */
  async function lineOf(group: string, count: number): Promise<{ workflowId: string; eventId: string }[]> {
    return eventually(
      async () => {
        const all = await api('/api/trains');
        const found = (
          all.body.items as { group: string; queue: { workflowId: string; eventId: string }[] }[] | undefined
        )?.find((train) => train.group === group);
        return found?.queue.length === count ? found.queue : undefined;
      },
      30_000,
      `${count} waiting in ${group}`,
    );
  }

  it('approves a waiting run from the approvals page with a comment, and the run goes on to its end', async () => {
    const version = uniqueName('7.0');
    const workflowId = await start('gate', { version });
    await listedForApproval(workflowId, ALICE.token);

    const { page } = await world.newPage();
    await signIn(page, ALICE);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Approvals' }).click();
    await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    const approval = page.getByRole('article', { name: `Ship ${version}?`, exact: true });
    assert.equal(
      await factOf(page, `Approval go_live of ${workflowId}`, 'Approvers').textContent(),
      `${ALICE.name}, api-token`,
    );
    assert.equal(await factOf(page, `Approval go_live of ${workflowId}`, 'Approvals').textContent(), '0 of 1 needed');
    await approval.getByLabel('Comment (optional)').fill('smoke tests green');
    await approval.getByRole('button', { name: 'Approve', exact: true }).click();
    await page
      .getByRole('status')
      .getByText(`You approved "Ship ${version}?": it is approved, and the run goes on.`, { exact: true })
      .waitFor();

    // The run recorded the answer under the session's actor, and went on past the approval to its end.
    const result = (await world.harness.client.workflow.getHandle(workflowId).result()) as RunResult;
    assert.equal(result.vars['shipped'], version);
    const status = await world.harness.client.workflow.getHandle(workflowId).query<RunStatus>(RUN_HANDLERS.status);
    assert.deepEqual(
      status.approvals[0]?.answers.map(({ decision, by, comment, via }) => ({ decision, by, comment, via })),
      [{ decision: 'approved', by: ALICE.name, comment: 'smoke tests green', via: 'api' }],
    );

    await approval.getByRole('link', { name: `See run ${workflowId}` }).click();
    await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
    await factOf(page, 'About this run', 'Status').getByText('completed', { exact: true }).waitFor();
    assert.equal(await rowOf(page, 'Steps', 'go_live').getByRole('cell').nth(2).textContent(), 'completed');
    assert.equal(await rowOf(page, 'Steps', 'announce').getByRole('cell').nth(2).textContent(), 'completed');
    assert.deepEqual(
      await rowOf(page, `Answers to Ship ${version}?`, ALICE.name)
        .getByRole('cell')
        .allTextContents()
        .then((cells) => cells.slice(0, 4)),
      [ALICE.name, 'approved', 'smoke tests green', 'api'],
    );
    // It no longer waits for alice.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Approvals' }).click();
    await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    assert.equal(await page.getByRole('article', { name: `Ship ${version}?`, exact: true }).count(), 0);
  });

  it('shows a refused answer in words: an approval someone else decided meanwhile is no longer open', async () => {
    const version = uniqueName('7.1');
    const workflowId = await start('open_gate', { version });
    await listedForApproval(workflowId, ALICE.token);
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/approvals');
    const approval = page.getByRole('article', { name: `Ship ${version}?`, exact: true });
    await approval.waitFor();

    const decided = await request(world.harness.app)
      .post(`/api/runs/${workflowId}/approvals/go_live`)
      .set('Authorization', world.harness.auth)
      .send({ decision: 'approved' });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    await approval.getByRole('button', { name: 'Reject', exact: true }).click();
    const alert = approval.getByRole('alert');
    await alert
      .getByText(`Your answer is no longer possible: "Ship ${version}?" is already approved`, { exact: false })
      .waitFor();
    assert.match(
      (await alert.textContent()) ?? '',
      /^Your answer is no longer possible: "Ship [^"]+\?" is already approved \(\d{4}-/,
    );
  });

  it('takes a queued run out of a train after asking, and it leaves the line', async () => {
    const env = uniqueName('shop');
    const group = `deploy-${env}`;
    const holder = await start('deploy', { env, soak: '1h' });
    const second = await start('deploy', { env, soak: '1s' });
    const third = await start('deploy', { env, soak: '1h' });
    await lineOf(group, 2);

    const { page } = await world.newPage();
    await signIn(page, ALICE);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Trains' }).click();
    await page.getByRole('heading', { name: 'Trains', level: 1 }).waitFor();
    const train = page.getByRole('region', { name: group, exact: true });
    assert.equal(
      await factOf(page, `Holder of ${group}`, 'Run').getByRole('link').textContent(),
      holder,
      'the holder is shown',
    );
    const waiting = train.getByRole('table', { name: `Waiting in ${group}`, exact: true });
    assert.deepEqual(
      await Promise.all(
        [second, third].map((workflowId) =>
          rowOf(train, `Waiting in ${group}`, workflowId).getByRole('cell').first().textContent(),
        ),
      ),
      ['1', '2'],
    );

    // Asked first: keeping it changes nothing.
    await train.getByRole('button', { name: `Remove from the line: ${second}` }).click();
    await train.getByRole('button', { name: 'Keep it in line' }).click();
    assert.equal(await waiting.getByRole('row').count(), 3);
    await train.getByRole('button', { name: `Remove from the line: ${second}` }).click();
    await train.getByRole('button', { name: 'Yes, remove it' }).click();
    await page
      .getByRole('status')
      .getByText(`Removed ${second} from the line of ${group}, as ${ALICE.name}.`, { exact: true })
      .waitFor();
    await eventually(async () => ((await waiting.getByRole('row').count()) === 2 ? true : undefined));
    assert.equal(await rowOf(train, `Waiting in ${group}`, third).getByRole('cell').first().textContent(), '1');
    assert.deepEqual(
      (
        await rowOf(train, `Recent departures from ${group}, newest first`, second).getByRole('cell').allTextContents()
      ).slice(3, 5),
      ['removed from the line', ALICE.name],
    );

    // The run itself ended without a step, saying who took it out.
    const result = (await world.harness.client.workflow.getHandle(second).result()) as RunResult;
    assert.deepEqual(result.dequeued, { group, reason: 'removed', by: ALICE.name });
    assert.deepEqual(result.steps, []);
    const line = await api(`/api/trains/${encodeURIComponent(group)}`);
    assert.deepEqual(
      (line.body.queue as { workflowId: string }[]).map((entry) => entry.workflowId),
      [third],
    );
  });

  it('cancels a running run with a reason from its page; it ends cancelled, with who and why, shown as text', async () => {
    const dialogs = [] as string[];
    const workflowId = await start('sleep', {});
    const reason = 'wrong build <img src=x onerror=alert(1)>';
    await eventually(
      async () => {
        const listed = await api('/api/runs?definition=sleeper&status=running');
        return (listed.body.items as { workflowId: string }[]).some((item) => item.workflowId === workflowId)
          ? true
          : undefined;
      },
      30_000,
      'the sleeper listed as running',
    );

    const { page } = await world.newPage();
    dialogs.push(...dialogsOf(page));
    await signIn(page, ALICE);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    const filters = page.getByRole('search', { name: 'Filter runs' });
    await filters.getByLabel('Definition').fill('sleeper');
    await filters.getByLabel('Status').selectOption('running');
    await filters.getByRole('button', { name: 'Show runs' }).click();
    await page.waitForURL('**/ui/runs?definition=sleeper&status=running');
    await rowOf(page, 'Runs, newest first', workflowId).getByRole('link', { name: workflowId, exact: true }).click();
    await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
    await factOf(page, 'About this run', 'Now')
      .getByText(/sleeping/)
      .waitFor();
    assert.equal(await rowOf(page, 'Steps', 'soak').getByRole('cell').nth(2).textContent(), 'running');

    const cancel = page.getByRole('region', { name: 'Cancel this run' });
    await cancel.getByLabel('Reason (optional, recorded with the cancel)').fill(reason);
    await cancel.getByRole('button', { name: 'Cancel run' }).click();
    await cancel.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await page
      .getByRole('status')
      .getByText(`The run accepted the cancel by ${ALICE.name} (${reason}); it stops shortly.`, { exact: true })
      .waitFor();
    // The page reads the run again until it has ended.
    await factOf(page, 'About this run', 'Status').getByText('cancelled', { exact: true }).waitFor({ timeout: 30_000 });
    const cancelled = factOf(page, 'About this run', 'Cancelled');
    assert.match(
      (await cancelled.textContent()) ?? '',
      new RegExp(`^by ${ALICE.name}, .+: ${reason.replace(/[()]/g, '\\$&')}$`),
    );
    assert.equal(await cancelled.getByRole('img').count(), 0);
    assert.equal(await page.getByRole('region', { name: 'Cancel this run' }).count(), 0, 'no cancel once cancelled');
    assert.deepEqual(dialogs, []);

    const shown = await api(`/api/runs/${workflowId}`);
    assert.equal(shown.body.status, 'cancelled');
    assert.equal(shown.body.cancel.by, ALICE.name);
    assert.equal(shown.body.cancel.reason, reason);
  });

  it('lists runs with filters (definition, status, event) and pages, each with its times and Temporal UI link', async () => {
    const quick: string[] = [];
    for (let n = 0; n < 21; n += 1) quick.push(await world.harness.startRun(source, 'quick', { n }));
    await eventually(
      async () => {
        const listed = await api('/api/runs?definition=quick&status=completed&limit=100');
        return (listed.body.items as unknown[]).length === quick.length ? true : undefined;
      },
      30_000,
      'every quick run listed as completed',
    );
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/runs?definition=quick&status=completed');
    const table = page.getByRole('table', { name: 'Runs, newest first', exact: true });
    await table.waitFor();
    assert.equal(await table.getByRole('row').count(), 21, 'a header and 20 runs on the first page');
    const newest = quick.at(-1)!;
    const cells = rowOf(page, 'Runs, newest first', newest).getByRole('cell');
    assert.deepEqual((await cells.allTextContents()).slice(0, 4), [
      newest,
      'quick',
      newest.slice('quick-'.length),
      'completed',
    ]);
    const listed = await api(`/api/runs?event=${newest.slice('quick-'.length)}`);
    assert.equal(
      await cells.getByRole('link', { name: `${newest} in the Temporal UI` }).getAttribute('href'),
      listed.body.items[0].ui,
    );

    const pages = page.getByRole('navigation', { name: 'Pages of runs' });
    await pages.getByRole('link', { name: 'Next page' }).click();
    await eventually(async () => ((await table.getByRole('row').count()) === 2 ? true : undefined));
    assert.ok(await rowOf(page, 'Runs, newest first', quick[0]!).isVisible(), 'the oldest run is on the second page');
    assert.equal(await pages.getByRole('link', { name: 'Next page' }).count(), 0);
    await pages.getByRole('link', { name: 'First page' }).click();
    await eventually(async () => ((await table.getByRole('row').count()) === 21 ? true : undefined));

    const filters = page.getByRole('search', { name: 'Filter runs' });
    assert.equal(await filters.getByLabel('Definition').inputValue(), 'quick', 'the form shows the filters in use');
    await filters.getByLabel('Event').fill(quick[3]!.slice('quick-'.length));
    await filters.getByRole('button', { name: 'Show runs' }).click();
    await eventually(async () => ((await table.getByRole('row').count()) === 2 ? true : undefined));
    assert.ok(await rowOf(page, 'Runs, newest first', quick[3]!).isVisible());

    // A filter the API cannot use is said next to the form, which stays.
    await filters.getByLabel('Definition').fill('Not an id!');
    await filters.getByRole('button', { name: 'Show runs' }).click();
    await page
      .getByRole('alert')
      .getByText(/^These filters cannot be used: definition=/)
      .waitFor();
    assert.ok(await filters.isVisible());
  });

  it('shows a read session every page with the remove, cancel, approve and reject buttons disabled, saying why', async () => {
    const env = uniqueName('read');
    const group = `deploy-${env}`;
    await start('deploy', { env, soak: '1h' });
    const queued = await start('deploy', { env, soak: '1h' });
    const sleeper = await start('sleep', {});
    const version = uniqueName('8.0');
    const gated = await start('reader_gate', { version });
    await lineOf(group, 1);
    await listedForApproval(gated, READER.token);

    const { page } = await world.newPage();
    await signIn(page, READER, `/ui/trains/${encodeURIComponent(group)}`);
    await page.getByRole('heading', { name: `Train ${group}`, level: 1 }).waitFor();
    const remove = page.getByRole('button', { name: `Remove from the line: ${queued}` });
    await expectDisabled(remove);
    await remove.press('Enter');
    await page.waitForTimeout(300);
    assert.equal(await page.getByRole('button', { name: 'Yes, remove it' }).count(), 0, 'nothing is asked');

    await page.goto(`/ui/runs/${sleeper}`);
    await page.getByRole('heading', { name: sleeper, level: 1 }).waitFor();
    const cancel = page.getByRole('region', { name: 'Cancel this run' }).getByRole('button', { name: 'Cancel run' });
    await expectDisabled(cancel);
    await cancel.press('Enter');
    await page.waitForTimeout(300);
    assert.equal(await page.getByRole('button', { name: 'Yes, cancel the run' }).count(), 0, 'nothing is asked');

    await page.goto('/ui/approvals');
    const approval = page.getByRole('article', { name: `Ship ${version}?`, exact: true });
    for (const name of ['Approve', 'Reject']) {
      const button = approval.getByRole('button', { name, exact: true });
      await expectDisabled(button);
      await button.press('Enter');
    }
    await page.waitForTimeout(300);

    // Nothing changed: the run still sleeps, the line still holds its run, the approval still waits.
    const run = await api(`/api/runs/${sleeper}`);
    assert.equal(run.body.status, 'running');
    assert.equal(run.body.cancel, undefined);
    assert.deepEqual(
      (await lineOf(group, 1)).map((entry) => entry.workflowId),
      [queued],
    );
    const gate = await api(`/api/runs/${gated}`);
    assert.equal(gate.body.approvals[0].status, 'pending');
    assert.deepEqual(gate.body.approvals[0].answers, []);
  });
});

/** A control a read session sees but cannot use: marked disabled, focusable, with the reason as its tooltip. */
async function expectDisabled(button: Locator): Promise<void> {
  await button.waitFor();
  assert.equal(await button.getAttribute('aria-disabled'), 'true');
  assert.equal(await button.getAttribute('title'), READ_SCOPE_REASON);
  await button.focus();
  assert.equal(await button.and(button.page().locator(':focus')).count(), 1, 'it can be reached by keyboard');
}
