import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { ALICE, READER, saveDefinition, signIn, startConsoleWorld, type ConsoleWorld } from './support';

/** A stored subscription as `GET /api/subscriptions` lists it. */
interface Listed {
  readonly id: string;
  readonly revision: number;
  readonly subscription: {
    readonly id: string;
    readonly owner: string;
    readonly on: { source?: string; type?: string; if?: string; definition?: string; outcomes?: string[] };
    readonly deliver: { slack?: string; email?: string };
    readonly message?: string;
    readonly muted_until?: string;
  };
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

/** The id of the element that has the focus. */
async function focusedId(page: Page): Promise<string> {
  return String(await page.evaluate('document.activeElement && document.activeElement.id'));
}

/** The text of the elements that describe `control` (its hint and its error). */
async function describedBy(page: Page, control: Locator): Promise<string> {
  const ids = ((await control.getAttribute('aria-describedby')) ?? '').split(' ').filter((id) => id !== '');
  const texts: string[] = [];
  for (const id of ids) texts.push((await page.locator(`[id="${id}"]`).textContent()) ?? '');
  return texts.join(' ');
}

/** The card of the subscription `id` on My subscriptions. */
function cardOf(page: Page, id: string): Locator {
  return page
    .getByRole('article')
    .filter({ has: page.getByRole('table', { name: `Subscription ${id}`, exact: true }) });
}

/** The value cell of the row headed `label` in a fact table. */
function factOf(scope: Locator, label: string): Locator {
  return scope
    .getByRole('row')
    .filter({ has: scope.page().getByRole('rowheader', { name: label, exact: true }) })
    .getByRole('cell');
}

describe('console: subscriptions, from the event and definition pages and My subscriptions', function () {
  this.timeout(120_000);
  let world: ConsoleWorld;
  const source = 'subs';
  const type = 'release_started';

  before(async () => {
    world = await startConsoleWorld({ worker: false });
    await saveDefinition(world.harness, 'sub-release', {
      name: 'Sub release',
      on: [{ source, type }],
      steps: [{ id: 'note', action: 'flow.set', with: { version: '${{ event.version }}' } }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  /** The subscriptions of `owner` (all of them when undefined), read with the harness's write token. */
  async function subscriptionsOf(owner?: string): Promise<Listed[]> {
    const res = await request(world.harness.app)
      .get(`/api/subscriptions${owner === undefined ? '' : `?owner=${encodeURIComponent(owner)}`}`)
      .set('Authorization', world.harness.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items as Listed[];
  }

  /** Creates a subscription through the API with `token`'s name as its owner. */
  async function create(token: string, body: object): Promise<Listed> {
    const res = await request(world.harness.app)
      .post('/api/subscriptions')
      .set('Authorization', `Bearer ${token}`)
      .send(body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as Listed;
  }

  async function deleteAll(): Promise<void> {
    for (const item of await subscriptionsOf()) {
      await request(world.harness.app)
        .delete(`/api/subscriptions/${item.id}`)
        .set('Authorization', world.harness.auth)
        .expect(200);
    }
  }

  beforeEach(deleteAll);

  it('lets a read session subscribe to an event with a condition and a Slack target, owned by its name', async () => {
    const { page } = await world.newPage();
    await signIn(page, READER, `/ui/events/${source}/${type}`);
    await page.getByRole('heading', { name: `${source} / ${type}`, level: 1 }).waitFor();

    const open = page.getByRole('button', { name: 'Subscribe', exact: true });
    assert.equal(await open.getAttribute('aria-expanded'), 'false');
    // From the keyboard: Enter opens the form, Escape closes it and gives the focus back to the button.
    await open.focus();
    await page.keyboard.press('Enter');
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Escape');
    assert.equal(await open.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.getByRole('form', { name: 'New subscription' }).count(), 0);
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.textContent'), 'Subscribe');
    await open.click();
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    // The form opens with the focus in its first field, the condition.
    const condition = page.getByLabel('Condition (if)');
    assert.equal(await focusedId(page), await condition.getAttribute('id'));
    await condition.fill('event.project == "SHOP"');
    await page.getByLabel('Slack').fill('@reader');
    await page.getByRole('button', { name: 'Save subscription' }).click();

    const status = page.getByRole('status').filter({ hasText: 'Subscribed to' });
    await status.waitFor();
    assert.match((await status.textContent()) ?? '', /notifications go to Slack @reader/);
    await status.getByRole('link', { name: 'See My subscriptions' }).waitFor();

    const stored = await subscriptionsOf(READER.name);
    assert.equal(stored.length, 1);
    const [one] = stored;
    assert.equal(one?.subscription.owner, READER.name);
    assert.deepEqual(one?.subscription.on, { source, type, if: 'event.project == "SHOP"' });
    assert.deepEqual(one?.subscription.deliver, { slack: '@reader' });
    assert.equal(one?.subscription.message, undefined);
  });

  it('shows a bad email address and a bad condition at their fields, and stores nothing', async () => {
    const { page } = await world.newPage();
    await signIn(page, READER, `/ui/events/${source}/${type}`);
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    await page.getByLabel('Condition (if)').fill('event.project ==');
    // An email field is one line: a newline cannot be typed into it, so the second address goes after a comma.
    const email = page.getByLabel('Email');
    await email.fill('a@b.c, Bcc: x@y.z');
    await page.getByRole('button', { name: 'Save subscription' }).click();

    await page.getByRole('status').getByText('Not saved: 2 problems, marked at their fields.').waitFor();
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    const emailError = await describedBy(page, email);
    assert.match(emailError, /must be one address/);
    assert.equal(await page.getByLabel('Condition (if)').getAttribute('aria-invalid'), 'true');
    // The focus goes to the first field with an error.
    assert.equal(await focusedId(page), await page.getByLabel('Condition (if)').getAttribute('id'));
    assert.deepEqual(await subscriptionsOf(), []);
  });

  it('subscribes to outcomes from the definition page, failed, cancelled and rejected checked to begin with', async () => {
    const { page } = await world.newPage();
    await signIn(page, READER, '/ui/definitions/sub-release');
    await page.getByRole('heading', { name: 'Sub release', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    const outcomes = page.getByRole('group', { name: 'Outcomes' });
    const checked = await outcomes.getByRole('checkbox', { checked: true }).count();
    assert.equal(checked, 3);
    for (const outcome of ['failed', 'cancelled', 'rejected'])
      assert.ok(await outcomes.getByRole('checkbox', { name: outcome, exact: true }).isChecked(), outcome);
    await outcomes.getByRole('checkbox', { name: 'rejected', exact: true }).uncheck();
    await outcomes.getByRole('checkbox', { name: 'approval requested', exact: true }).check();
    await page.getByLabel('Email').fill('reader@example.com');
    await page.getByLabel('Message template', { exact: true }).fill('${{ event.definition }}: ${{ event.type }}');
    await page.getByRole('button', { name: 'Save subscription' }).click();
    await page.getByRole('status').filter({ hasText: 'Subscribed to' }).waitFor();

    const [one, ...rest] = await subscriptionsOf(READER.name);
    assert.equal(rest.length, 0);
    assert.deepEqual(one?.subscription.on, {
      definition: 'sub-release',
      outcomes: ['failed', 'cancelled', 'approval_requested'],
    });
    assert.deepEqual(one?.subscription.deliver, { email: 'reader@example.com' });
    assert.equal(one?.subscription.message, '${{ event.definition }}: ${{ event.type }}');
  });

  it('says at the delivery fields that a subscription needs somewhere to go', async () => {
    const { page } = await world.newPage();
    await signIn(page, READER, '/ui/definitions/sub-release');
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    await page.getByRole('button', { name: 'Save subscription' }).click();
    const delivery = page.getByRole('group', { name: /Deliver to/ });
    await page.getByRole('status').getByText('Not saved: one problem, marked at its field.').waitFor();
    assert.equal(await delivery.getAttribute('aria-invalid'), 'true');
    assert.notEqual((await delivery.locator('.field-error').last().textContent())?.trim() ?? '', '');
    assert.deepEqual(await subscriptionsOf(), []);
  });

  it('lists my subscriptions, mutes one for a day, unmutes it, and deletes one after asking', async () => {
    const onEvent = await create(READER.token, { on: { source, type }, deliver: { slack: '#releases' } });
    const onRuns = await create(READER.token, {
      on: { definition: 'sub-release', outcomes: ['failed'] },
      deliver: { email: 'reader@example.com' },
    });
    const { page } = await world.newPage();
    await signIn(page, READER);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'My subscriptions' }).click();
    await page.getByRole('heading', { name: 'My subscriptions', level: 1 }).waitFor();

    const eventCard = cardOf(page, onEvent.id);
    const runsCard = cardOf(page, onRuns.id);
    await eventCard.waitFor();
    await runsCard.waitFor();
    assert.equal(
      await eventCard.getByRole('heading', { level: 2 }).getByRole('link').getAttribute('href'),
      `/ui/events/${source}/${type}`,
    );
    assert.equal(
      await runsCard.getByRole('heading', { level: 2 }).getByRole('link').getAttribute('href'),
      '/ui/definitions/sub-release',
    );
    assert.equal(await factOf(eventCard, 'Delivered to').textContent(), 'Slack #releases');
    assert.equal(await factOf(runsCard, 'Outcomes').textContent(), 'failed');
    assert.equal(await factOf(eventCard, 'Muted until').textContent(), 'not muted');
    // A write session's toggle to everyone's is not offered to a read one.
    assert.equal(await page.getByRole('navigation', { name: 'Whose subscriptions' }).count(), 0);

    const before = Date.now();
    await eventCard.getByRole('button', { name: 'Mute for a day' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Muted ${onEvent.id} until` })
      .waitFor();
    const muted = (await subscriptionsOf(READER.name)).find((item) => item.id === onEvent.id);
    const until = Date.parse(muted?.subscription.muted_until ?? '');
    const day = 24 * 60 * 60 * 1000;
    assert.ok(until >= before + day - 5_000 && until <= Date.now() + day + 5_000, `muted until ${until}`);
    assert.notEqual(await factOf(eventCard, 'Muted until').textContent(), 'not muted');

    await eventCard.getByRole('button', { name: 'Unmute' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Unmuted ${onEvent.id}` })
      .waitFor();
    const unmuted = (await subscriptionsOf(READER.name)).find((item) => item.id === onEvent.id);
    assert.equal(unmuted?.subscription.muted_until, undefined);
    assert.equal(await eventCard.getByRole('button', { name: 'Unmute' }).count(), 0);

    // Delete asks first; keeping it changes nothing.
    await runsCard.getByRole('button', { name: 'Delete' }).click();
    await runsCard.getByRole('button', { name: 'Keep it' }).click();
    assert.equal((await subscriptionsOf(READER.name)).length, 2);
    await runsCard.getByRole('button', { name: 'Delete' }).click();
    await runsCard.getByRole('button', { name: 'Yes, delete it' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Deleted subscription ${onRuns.id}` })
      .waitFor();
    assert.equal(await runsCard.count(), 0);
    assert.deepEqual(
      (await subscriptionsOf(READER.name)).map((item) => item.id),
      [onEvent.id],
    );
  });

  it("shows a read session only its own, and a write session everyone's when it asks", async () => {
    const mine = await create(READER.token, { on: { source, type }, deliver: { slack: '@reader' } });
    const alices = await create(ALICE.token, { on: { source, type }, deliver: { slack: '@alice' } });

    const { page } = await world.newPage();
    await signIn(page, READER, '/ui/subscriptions?everyone=1');
    await page.getByRole('heading', { name: 'My subscriptions', level: 1 }).waitFor();
    await cardOf(page, mine.id).waitFor();
    assert.equal(await cardOf(page, alices.id).count(), 0);

    const { page: alice } = await world.newPage();
    await signIn(alice, ALICE, '/ui/subscriptions');
    await alice.getByRole('heading', { name: 'My subscriptions', level: 1 }).waitFor();
    await cardOf(alice, alices.id).waitFor();
    assert.equal(await cardOf(alice, mine.id).count(), 0);
    await alice
      .getByRole('navigation', { name: 'Whose subscriptions' })
      .getByRole('link', { name: "Everyone's" })
      .click();
    await alice.getByRole('heading', { name: "Everyone's subscriptions", level: 1 }).waitFor();
    await cardOf(alice, mine.id).waitFor();
    await cardOf(alice, alices.id).waitFor();
    assert.equal(await factOf(cardOf(alice, mine.id), 'Owner').textContent(), READER.name);
  });

  it('pages through my subscriptions, 20 at a time', async () => {
    for (let index = 0; index < 21; index++)
      await create(ALICE.token, { on: { source, type }, deliver: { slack: `#room-${index}` } });
    const { page } = await world.newPage();
    await signIn(page, ALICE, '/ui/subscriptions');
    await page.getByRole('heading', { name: 'My subscriptions', level: 1 }).waitFor();
    const cards = page.getByRole('main').getByRole('article');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 20);
    const pages = page.getByRole('navigation', { name: 'Pages of subscriptions' });
    await pages.getByRole('link', { name: 'Next page' }).click();
    await pages.getByRole('link', { name: 'First page' }).waitFor();
    assert.equal(await cards.count(), 1);
    assert.equal(await pages.getByRole('link', { name: 'Next page' }).count(), 0);
    await pages.getByRole('link', { name: 'First page' }).click();
    await pages.getByRole('link', { name: 'Next page' }).waitFor();
    assert.equal(await cards.count(), 20);
  });

  it('draws a message, a condition and targets holding markup as text', async () => {
    const markup = '<img src=x onerror=alert(1)>';
    const stored = await create(READER.token, {
      on: { source, type, if: 'event.note == "<script>alert(2)</script>"' },
      deliver: { slack: '@reader' },
      message: markup,
    });
    const { page } = await world.newPage();
    const dialogs = dialogsOf(page);
    await signIn(page, READER, '/ui/subscriptions');
    const card = cardOf(page, stored.id);
    await card.waitFor();
    assert.equal(await factOf(card, 'Message').textContent(), markup);
    assert.equal(await factOf(card, 'Condition').textContent(), 'if event.note == "<script>alert(2)</script>"');
    assert.equal(await page.locator('main img, main script').count(), 0);
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, []);
  });
});
