import assert from 'node:assert/strict';
import request from 'supertest';
import { uniqueName } from '../support/stack';
import { ALICE, signIn, startConsoleWorld, type ConsoleWorld } from './support';

/**
 * The home page's "Recently unmatched" section (console/src/views/unmatched-events.ts, mounted on the home page):
 * an event nothing is bound to is listed with why, its event id and a link to its event page, and its body is not
 * shown.
 */
describe('console: recently unmatched events on the home page', function () {
  this.timeout(180_000);
  let world: ConsoleWorld;
  before(async () => {
    world = await startConsoleWorld({ worker: true });
  });
  after(async () => world?.stop());

  it('lists an event that matched nothing with why and its id, never its body', async () => {
    const source = uniqueName('nobody');
    const posted = await request(world.harness.app)
      .post(`/events/${source}/pinged`)
      .set('Authorization', world.harness.auth)
      .set('Idempotency-Key', uniqueName('ping'))
      .send({ secret: 'hunter2-console' });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    await world.harness.client.workflow.getHandle(posted.body.workflowId as string).result();
    const eventId = posted.body.eventId as string;

    const { page } = await world.newPage();
    await signIn(page, ALICE);
    const section = page.getByRole('region', { name: 'Recently unmatched' });
    await page.getByRole('heading', { name: 'Recently unmatched' }).waitFor();
    // Visibility may lag a moment behind the dispatcher's close: reload until the row shows.
    const row = section.getByRole('row').filter({ hasText: eventId });
    for (let attempt = 0; (await row.count()) === 0 && attempt < 20; attempt++) {
      await page.waitForTimeout(500);
      await page.reload();
      await page.getByRole('heading', { name: 'Recently unmatched' }).waitFor();
    }
    await row.waitFor();
    assert.ok((await row.innerText()).includes(`no definition is bound to ${source}/pinged`));
    assert.equal(
      await row.getByRole('link', { name: `${source} / pinged` }).getAttribute('href'),
      `/ui/events/${source}/pinged`,
    );
    assert.ok(!(await page.content()).includes('hunter2'), 'the event body is not shown');
  });
});
