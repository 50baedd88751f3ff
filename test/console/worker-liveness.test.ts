import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { createWorker } from '../../workers/create-worker';
import { flowBundle } from '../support/harness';
import { eventually } from '../support/http-receiver';
import { connectWorker, testConfig, uniqueName } from '../support/stack';
import { ALICE, saveDefinition, signIn, startConsoleWorld, type ConsoleWorld } from './support';

/** The value cell of a fact table's row, in `scope` (the page, or one article on it). */
function factOf(page: Page, scope: Page | Locator, table: string, label: string): Locator {
  return scope
    .getByRole('table', { name: table, exact: true })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: label, exact: true }) })
    .getByRole('cell');
}

describe('console: whether a worker polls each queue (actions page and run page)', function () {
  let world: ConsoleWorld;
  before(async () => {
    // No worker at first: the actions page must say nobody polls the built-in actions' queue.
    world = await startConsoleWorld({ worker: false });
  });
  after(async () => {
    await world?.stop();
  });

  it("shows each action's pack and queue and whether a worker polls it, and a run step waiting for a worker", async function () {
    this.timeout(90_000);
    const { harness } = world;
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/actions');
    await page.getByRole('heading', { name: 'Actions', level: 1 }).waitFor();
    const http = page.getByRole('article', { name: 'http.request', exact: true });
    const about = 'About this action';
    assert.equal(await factOf(page, http, about, 'Pack').textContent(), 'built-in (flow)');
    assert.equal(await factOf(page, http, about, 'Task queue').textContent(), harness.taskQueue);
    assert.match(
      (await factOf(page, http, about, 'Worker').textContent()) ?? '',
      new RegExp(`^no worker polls queue ${harness.taskQueue} now: its steps wait until one does \\(checked .+\\)$`),
    );
    const set = page.getByRole('article', { name: 'flow.set', exact: true });
    assert.equal(await factOf(page, set, about, 'Worker').count(), 0, 'a meta-action runs in the workflow');

    // A worker starts; a step routed to a queue nobody polls waits, and the run page says so.
    const workerConnection = await connectWorker();
    const worker = await createWorker({
      connection: workerConnection,
      namespace: testConfig().temporal.namespace,
      taskQueue: harness.taskQueue,
      client: harness.client,
      registry: harness.store,
      env: {},
      workflowBundle: await flowBundle(),
    });
    const nobody = uniqueName('nobody-q');
    try {
      await worker.runUntil(async () => {
        await saveDefinition(harness, 'stranded', {
          id: 'stranded',
          name: 'A step nobody picks up',
          on: [{ source: 'test', type: 'stranded' }],
          steps: [{ id: 'deploy', action: 'http.request', with: { url: 'http://127.0.0.1:9/x' }, task_queue: nobody }],
        });
        const posted = await request(harness.app)
          .post('/events/test/stranded')
          .set('Authorization', harness.auth)
          .send({});
        assert.equal(posted.status, 202);
        const workflowId = `stranded-${posted.body.eventId as string}`;
        await eventually(
          async () =>
            (await request(harness.app).get(`/api/runs/${workflowId}`).set('Authorization', harness.auth)).status ===
            200
              ? true
              : undefined,
          30_000,
          'the run to start',
        );
        await page.goto(`/ui/runs/${workflowId}`);
        await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
        // The page reads the run again while it runs, until the run has scheduled the step.
        await factOf(page, page, 'About this run', 'Now')
          .getByText(`Waiting for a worker on ${nobody}: step deploy (http.request) is scheduled there`, {
            exact: false,
          })
          .waitFor({ timeout: 30_000 });
        await harness.client.workflow.getHandle(workflowId).terminate('test over');
      });
    } finally {
      await workerConnection.close();
    }
  });
});
