import assert from 'node:assert/strict';
import request from 'supertest';
import { actions, actionsById } from '../../activities';
import { parseApiTokens } from '../../config';
import { validateDefinition } from '../../registry';
import { startHarness, type Harness } from '../support/harness';

const yaml = `# Living documentation: what happens when a ticket is approved.
id: notify-approval
name: Notify approval
description: Posts to chat when a ticket is approved
on:
  - source: jira
    type: issue_transitioned
    if: event.to == "Approved"
steps:
  - id: post
    name: Tell the channel
    action: http.request
    with:
      method: POST
      url: "https://chat.example/hook"
      json: { text: "\${{ event.issue }} approved by \${{ event.user }}" }
`;

/** Write tokens besides the harness's own (named `api-token`): one named, one unnamed (so named `token-2`). */
const ALICE = 'alices-write-token-0123456789';
const UNNAMED = 'unnamed-write-token-0123456789';
const READER = 'reader-read-token-0123456789';

describe('gateway: /api/definitions, /api/actions and /api/plan', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      worker: false,
      gateway: {
        extraTokens: parseApiTokens({
          FLOW_API_TOKENS: `alice:write:${ALICE}, write:${UNNAMED}, reader:read:${READER}`,
        }),
      },
    });
  });
  after(() => harness.stop());
  const api = () => request(harness.app);

  it('saves YAML as revision 1, answers 200 unchanged for the same text, and exports it with its comments', async () => {
    const first = await api()
      .put('/api/definitions/notify-approval')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(yaml);
    assert.equal(first.status, 201);
    assert.deepEqual(first.body, { id: 'notify-approval', revision: 1, unchanged: false });
    const again = await api()
      .put('/api/definitions/notify-approval')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(yaml);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { id: 'notify-approval', revision: 1, unchanged: true });

    const exported = await api()
      .get('/api/definitions/notify-approval')
      .set('Authorization', harness.auth)
      .set('Accept', 'application/yaml');
    assert.equal(exported.status, 200);
    assert.match(exported.headers['content-type'] ?? '', /^application\/yaml/);
    assert.equal(exported.text, yaml);
    // One URL, two representations: caches keep them apart by Accept, and their tags differ.
    assert.match(exported.headers['vary'] ?? '', /Accept/);
    assert.equal(exported.headers['etag'], '"notify-approval@1.yaml"');

    const json = await api().get('/api/definitions/notify-approval').set('Authorization', harness.auth);
    assert.equal(json.body.revision, 1);
    assert.equal(json.headers['etag'], '"notify-approval@1"');
    const revalidated = await api()
      .get('/api/definitions/notify-approval')
      .set('Authorization', harness.auth)
      .set('Accept', 'application/yaml')
      .set('If-None-Match', json.headers['etag'] ?? '');
    assert.deepEqual([revalidated.status, revalidated.text], [200, yaml], "the JSON's tag does not stand for the YAML");
    assert.equal(json.body.definition.steps[0].with.json.text, '${{ event.issue }} approved by ${{ event.user }}');
  });

  it('keeps revisions, reads an old one, and rolls back by restoring it as a new revision', async () => {
    const changed = {
      ...(await api().get('/api/definitions/notify-approval').set('Authorization', harness.auth)).body.definition,
      name: 'Notify approvals',
    };
    const saved = await api().put('/api/definitions/notify-approval').set('Authorization', harness.auth).send(changed);
    assert.deepEqual(saved.body, { id: 'notify-approval', revision: 2, unchanged: false });

    const old = await api().get('/api/definitions/notify-approval?revision=1').set('Authorization', harness.auth);
    assert.equal(old.body.definition.name, 'Notify approval');
    const list = await api().get('/api/definitions/notify-approval/revisions').set('Authorization', harness.auth);
    assert.deepEqual(
      list.body.revisions.map((r: { revision: number; current: boolean }) => [r.revision, r.current]),
      [
        [2, true],
        [1, false],
      ],
    );

    const restored = await api()
      .post('/api/definitions/notify-approval/revisions/1/restore')
      .set('Authorization', harness.auth);
    assert.equal(restored.status, 201);
    assert.deepEqual(restored.body, { id: 'notify-approval', revision: 3, unchanged: false, restoredFrom: 1 });
    const current = await api().get('/api/definitions/notify-approval').set('Authorization', harness.auth);
    assert.equal(current.body.definition.name, 'Notify approval');
  });

  it('answers 422 with every error and its path, and stores nothing', async () => {
    const bad = yaml
      .replace('action: http.request', 'action: http.reqest')
      .replace('event.to == "Approved"', 'event.to ==');
    const res = await api()
      .put('/api/definitions/broken')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(bad.replace('id: notify-approval', 'id: broken'));
    assert.equal(res.status, 422);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path).sort(), ['on[0].if', 'steps[0].action']);
    assert.match(res.body.detail, /^The definition was not saved: 2 errors/);
    const get = await api().get('/api/definitions/broken').set('Authorization', harness.auth);
    assert.equal(get.status, 404);
  });

  it('answers 422 for event data in a guarded input, naming the path and the event field, unless the step opts in', async () => {
    const steps = [
      { id: 'target', action: 'flow.set', with: { hook: '${{ event.callback }}' } },
      {
        id: 'post',
        action: 'http.request',
        with: { url: '${{ vars.hook }}', secret_headers: { 'X-Key': 'HOOK_KEY' } },
      },
    ];
    const body = { id: 'steered', name: 'Steered', on: [{ source: 'demo', type: 'hook' }], steps };
    const refused = await api().put('/api/definitions/steered').set('Authorization', harness.auth).send(body);
    assert.equal(refused.status, 422);
    assert.deepEqual(
      refused.body.errors.map((error: { path: string }) => error.path),
      ['steps[1].with.url'],
    );
    assert.match(refused.body.errors[0].message, /event\.callback through vars\.hook/);
    const optedIn = { ...body, steps: [steps[0], { ...steps[1], allow_event_data: ['url'] }] };
    const saved = await api().put('/api/definitions/steered').set('Authorization', harness.auth).send(optedIn);
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    // The tests below expect notify-approval to be the only definition.
    await api().delete('/api/definitions/steered').set('Authorization', harness.auth).expect(200);
  });

  it('rejects an id in the body that differs from the URL, bad YAML with its line, and unknown content types', async () => {
    const mismatch = await api()
      .put('/api/definitions/other')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(yaml);
    assert.equal(mismatch.status, 422);
    // A YAML save's errors carry the line their path points at (the id is on line 2, after the comment).
    assert.deepEqual(mismatch.body.errors, [
      { path: 'id', message: 'is "notify-approval" but the URL says "other"; they must match', line: 2 },
    ]);

    const syntax = await api()
      .put('/api/definitions/x')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send('id: x\nsteps: [\n');
    assert.equal(syntax.status, 400);
    assert.match(syntax.body.detail, /not valid YAML \(line \d+, column \d+\)/);
    assert.equal(typeof syntax.body.line, 'number');
    assert.equal(typeof syntax.body.column, 'number');

    const unsupported = await api()
      .put('/api/definitions/x')
      .set('Authorization', harness.auth)
      .type('text/plain')
      .send('id: x');
    assert.equal(unsupported.status, 415);

    const path = await api()
      .put('/api/definitions/..%2Fetc')
      .set('Authorization', harness.auth)
      .type('application/yaml')
      .send(yaml);
    assert.equal(path.status, 400);
  });

  it("lists each binding with its condition, also for a head saved before heads stored it (read from the head's definition)", async () => {
    const conditional = {
      id: 'listed-conditions',
      name: 'Listed conditions',
      on: [
        { source: 'jira', type: 'issue_transitioned', if: 'event.to == "Done"' },
        { source: 'demo', type: 'ping' },
      ],
      steps: [{ id: 'wait', action: 'flow.sleep', with: { duration: '1s' } }],
    };
    const saved = await api()
      .put('/api/definitions/listed-conditions')
      .set('Authorization', harness.auth)
      .send(conditional);
    assert.equal(saved.status, 201);
    const listed = async (): Promise<unknown> => {
      const list = await api().get('/api/definitions').set('Authorization', harness.auth);
      return list.body.items.find((item: { id: string }) => item.id === 'listed-conditions')?.on;
    };
    const expected = [
      { source: 'jira', type: 'issue_transitioned', if: 'event.to == "Done"' },
      { source: 'demo', type: 'ping' },
    ];
    assert.deepEqual(await listed(), expected);

    // A head as saved before the list carried conditions: bindings without `if`, and no marker.
    await harness.db.collection<{ _id: string }>('definitions').updateOne(
      { _id: 'listed-conditions' },
      {
        $set: {
          bindings: [
            { source: 'jira', type: 'issue_transitioned' },
            { source: 'demo', type: 'ping' },
          ],
        },
        $unset: { bindingConditions: '' },
      },
    );
    assert.deepEqual(await listed(), expected);
    assert.equal(
      (await api().delete('/api/definitions/listed-conditions').set('Authorization', harness.auth)).status,
      200,
    );
  });

  it('lists the definitions bound to one event with ?source=&type=, disabled ones too, and refuses half a filter', async () => {
    const bind = (id: string, on: unknown[], enabled = true) =>
      api()
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .send({ id, name: id, enabled, on, steps: [{ id: 'wait', action: 'flow.sleep', with: { duration: '1s' } }] });
    assert.equal((await bind('bound-a', [{ source: 'shop', type: 'paid', if: 'event.total > 0' }])).status, 201);
    assert.equal((await bind('bound-b', [{ source: 'shop', type: 'paid' }], false)).status, 201);
    assert.equal((await bind('bound-elsewhere', [{ source: 'shop', type: 'refunded' }])).status, 201);
    const filtered = await api().get('/api/definitions?source=shop&type=paid').set('Authorization', harness.auth);
    assert.equal(filtered.status, 200);
    assert.deepEqual(filtered.body, {
      items: [
        {
          id: 'bound-a',
          name: 'bound-a',
          enabled: true,
          revision: 1,
          on: [{ source: 'shop', type: 'paid', if: 'event.total > 0' }],
        },
        { id: 'bound-b', name: 'bound-b', enabled: false, revision: 1, on: [{ source: 'shop', type: 'paid' }] },
      ],
      next: null,
    });
    for (const query of ['source=shop', 'type=paid', "source=shop'&type=paid", 'source=shop&type=Paid%20it'])
      assert.equal(
        (await api().get(`/api/definitions?${query}`).set('Authorization', harness.auth)).status,
        400,
        query,
      );
    for (const id of ['bound-a', 'bound-b', 'bound-elsewhere'])
      assert.equal((await api().delete(`/api/definitions/${id}`).set('Authorization', harness.auth)).status, 200);
  });

  it('deletes a definition; reading it then explains how to bring it back', async () => {
    const del = await api().delete('/api/definitions/notify-approval').set('Authorization', harness.auth);
    assert.deepEqual(del.body, { id: 'notify-approval', deleted: true, lastRevision: 3 });
    const get = await api().get('/api/definitions/notify-approval').set('Authorization', harness.auth);
    assert.equal(get.status, 404);
    assert.match(get.body.detail, /was deleted \(last revision 3\).*restore/);
    const list = await api().get('/api/definitions').set('Authorization', harness.auth);
    assert.deepEqual(list.body, { items: [], next: null });
    assert.equal(
      (await api().post('/api/definitions/notify-approval/revisions/3/restore').set('Authorization', harness.auth))
        .status,
      201,
    );
  });

  it('describes every action from its declaration, with JSON Schemas and examples', async () => {
    const res = await api().get('/api/actions').set('Authorization', harness.auth);
    const http = res.body.actions.find((a: { id: string }) => a.id === 'http.request');
    assert.deepEqual(
      res.body.actions.map((a: { id: string }) => a.id),
      actions.map((action) => action.id).sort(),
    );
    assert.equal(http.kind, 'activity');
    assert.ok(http.input.properties.url, 'input schema lists url');
    assert.deepEqual(http.input.required, ['url']);
    assert.ok(http.examples.length > 0);
    assert.deepEqual(
      http.guardedInputs.map((input: { input: string }) => input.input),
      ['url', 'secret_headers'],
    );
    assert.equal(http.guardedInputs[0].onlyWith, 'secret_headers');
    assert.equal(res.body.actions.find((a: { id: string }) => a.id === 'flow.set').kind, 'meta');
    // Where its steps run, and whether a worker polls there now (none does: this harness runs no worker).
    assert.equal(http.taskQueue, harness.taskQueue);
    assert.deepEqual(http.worker, { queue: harness.taskQueue, polled: false, checkedAt: http.worker.checkedAt });
    const set = res.body.actions.find((a: { id: string }) => a.id === 'flow.set');
    assert.equal(set.worker, undefined, 'a meta-action runs in the workflow: no queue, no worker');
    assert.equal(set.taskQueue, undefined);
  });

  it('plans an event: which definitions would run, which would not and why, and the first step input', async () => {
    const plan = await api()
      .post('/api/plan/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .set('Idempotency-Key', 'REL-1-t1')
      .send({ issue: 'REL-1', to: 'Approved', user: 'ana' });
    assert.equal(plan.status, 200);
    // No worker polls this harness's queue: the plan says so for the step that would wait there.
    const checkedAt = plan.body.matched[0]?.workers?.[0]?.checkedAt;
    assert.ok(typeof checkedAt === 'string' && !Number.isNaN(Date.parse(checkedAt)), JSON.stringify(plan.body));
    assert.deepEqual(plan.body.matched, [
      {
        definition: 'notify-approval',
        revision: 4,
        workflowId: 'notify-approval-jira-REL-1-t1',
        firstStep: {
          id: 'post',
          action: 'http.request',
          input: { method: 'POST', url: 'https://chat.example/hook', json: { text: 'REL-1 approved by ana' } },
        },
        workers: [{ queue: harness.taskQueue, polled: false, checkedAt, steps: ['post'] }],
        notes: [`Step post: No worker polls task queue "${harness.taskQueue}" now: the step will wait for one`],
      },
    ]);
    const notApproved = await api()
      .post('/api/plan/jira/issue_transitioned')
      .set('Authorization', harness.auth)
      .send({ issue: 'REL-1', to: 'Open' });
    assert.deepEqual(notApproved.body.matched, []);
    assert.deepEqual(notApproved.body.skipped, [
      { definition: 'notify-approval', revision: 4, reason: 'on[0].if "event.to == \\"Approved\\"" is false' },
    ]);
  });

  it('requires the bearer token on every /api route', async () => {
    for (const [method, path] of [
      ['get', '/api/definitions'],
      ['get', '/api/actions'],
      ['put', '/api/definitions/x'],
      ['delete', '/api/definitions/x'],
      ['post', '/api/plan/a/b'],
    ] as const) {
      const res = await api()[method](path);
      assert.equal(res.status, 401, `${method} ${path}`);
    }
  });

  describe('authors and change messages', () => {
    const id = 'authored';
    const definition = (name: string) => ({
      id,
      name,
      on: [{ source: 'demo', type: 'authored' }],
      steps: [{ id: 's', action: 'flow.set', with: {} }],
    });
    const as = (token: string) => `Bearer ${token}`;
    const history = async () =>
      (await api().get(`/api/definitions/${id}/revisions`).set('Authorization', harness.auth).expect(200)).body
        .revisions as { revision: number; current: boolean; author: string | null; message: string | null }[];
    after(() => api().delete(`/api/definitions/${id}`).set('Authorization', harness.auth));

    it('records the token name as author and the change message (header or ?message=, header first) on every revision', async () => {
      // A revision saved before authors were recorded has neither.
      const old = validateDefinition(definition('Before authors'), actionsById());
      assert.ok(old.ok);
      await harness.store.save(old.definition, { format: 'json' });
      await api()
        .put(`/api/definitions/${id}`)
        .set('Authorization', as(ALICE))
        .set('X-Flow-Change-Message', 'Rename for the release board')
        .send(definition('Authored'))
        .expect(201);
      await api()
        .put(`/api/definitions/${id}?message=${encodeURIComponent('Rename again, from the query')}`)
        .set('Authorization', as(UNNAMED))
        .send(definition('Authored twice'))
        .expect(201);
      // curl sends UTF-8 bytes in headers; Node reads them as Latin-1, so the test sends them the same way.
      const utf8 = 'Zurück auf „Authored“ ✓';
      await api()
        .post(`/api/definitions/${id}/revisions/2/restore?message=ignored`)
        .set('Authorization', harness.auth)
        .set('X-Flow-Change-Message', Buffer.from(utf8, 'utf8').toString('latin1'))
        .expect(201);
      // Saving the same definition again stores nothing, so its message is not recorded either.
      const unchanged = await api()
        .put(`/api/definitions/${id}`)
        .set('Authorization', as(ALICE))
        .set('X-Flow-Change-Message', 'No change')
        .send(definition('Authored'));
      assert.deepEqual(unchanged.body, { id, revision: 4, unchanged: true });

      assert.deepEqual(
        (await history()).map(({ revision, current, author, message }) => ({ revision, current, author, message })),
        [
          { revision: 4, current: true, author: 'api-token', message: utf8 },
          { revision: 3, current: false, author: 'token-2', message: 'Rename again, from the query' },
          { revision: 2, current: false, author: 'alice', message: 'Rename for the release board' },
          { revision: 1, current: false, author: null, message: null },
        ],
      );
      const current = await api().get(`/api/definitions/${id}`).set('Authorization', harness.auth).expect(200);
      assert.deepEqual(
        [current.body.revision, current.body.author, current.body.message, current.body.definition.name],
        [4, 'api-token', utf8, 'Authored'],
      );
      const second = await api()
        .get(`/api/definitions/${id}?revision=2`)
        .set('Authorization', harness.auth)
        .expect(200);
      assert.deepEqual([second.body.author, second.body.message], ['alice', 'Rename for the release board']);
      const first = await api().get(`/api/definitions/${id}?revision=1`).set('Authorization', harness.auth).expect(200);
      assert.deepEqual([first.body.author, first.body.message], [null, null]);
    });

    it('refuses a change message with control characters, over 500 characters, given twice or not UTF-8, saving nothing', async () => {
      const before = await history();
      const put = (query = '') =>
        api().put(`/api/definitions/${id}${query}`).set('Authorization', as(ALICE)).send(definition('Refused'));
      const cases: [request.Test, RegExp][] = [
        [put('?message=' + encodeURIComponent('two\nlines')), /\?message=\) holds a control character/],
        [put().set('X-Flow-Change-Message', 'a\ttab'), /X-Flow-Change-Message\) holds a control character/],
        [put('?message=' + encodeURIComponent('\u0085next line')), /holds a control character/],
        [put().set('X-Flow-Change-Message', 'x'.repeat(501)), /is 501 characters long; keep it to 500/],
        [put('?message=' + encodeURIComponent('✓'.repeat(501))), /is 501 characters long/],
        [put('?message=a&message=b'), /Give \?message= once/],
        // Latin-1 bytes (é as one byte), which are not UTF-8. Sent without a body: Node's client writes the headers of a
        // request with a string body in that body's encoding, UTF-8.
        [
          api()
            .post(`/api/definitions/${id}/revisions/1/restore`)
            .set('Authorization', as(ALICE))
            .set('X-Flow-Change-Message', 'caf\u00e9'),
          /X-Flow-Change-Message header is not UTF-8 text/,
        ],
        [
          api()
            .post(`/api/definitions/${id}/revisions/1/restore`)
            .set('Authorization', as(ALICE))
            .set('X-Flow-Change-Message', 'y'.repeat(600)),
          /is 600 characters long/,
        ],
      ];
      for (const [pending, detail] of cases) {
        const res = await pending;
        assert.equal(res.status, 400, `${String(detail)}: ${res.text}`);
        assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
        assert.match(res.body.detail, detail);
      }
      assert.deepEqual(await history(), before, 'no revision was added');
      // 500 characters (of any script) is the limit, not one under it.
      await put('?message=' + encodeURIComponent('✓'.repeat(500))).expect(201);
    });
  });

  describe('validating without saving: POST /api/definitions/:id/validate', () => {
    const id = 'checked';
    const text = `# Checked before it is saved.
id: checked
name: Checked
on:
  - source: demo
    type: checked
steps:
  - id: post
    name: Post it
    action: http.request
    with:
      method: POST
      url: "https://chat.example/hook"
  - id: note
    action: flow.set
    with:
      seen: true
`;
    const lineOf = (source: string, fragment: string): number => {
      const index = source.split('\n').findIndex((line) => line.includes(fragment));
      assert.ok(index >= 0, `the text has ${fragment}`);
      return index + 1;
    };
    const validate = (body: string, type = 'application/yaml', token = harness.token) =>
      api().post(`/api/definitions/${id}/validate`).set('Authorization', `Bearer ${token}`).type(type).send(body);
    const revisionCount = async () =>
      ((await api().get(`/api/definitions/${id}/revisions`).set('Authorization', harness.auth)).body.revisions ?? [])
        .length as number;
    after(() => api().delete(`/api/definitions/${id}`).set('Authorization', harness.auth));

    it('says what saving a new definition would store, and stores nothing', async () => {
      const res = await validate(text);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.ok, true);
      assert.equal(res.body.revision, null);
      assert.equal(res.body.unchanged, false);
      assert.deepEqual(
        res.body.diff.map((change: { path: string }) => change.path),
        ['(root)'],
      );
      assert.equal(res.body.diff[0].after.steps[0].with.url, 'https://chat.example/hook');
      assert.equal((await api().get(`/api/definitions/${id}`).set('Authorization', harness.auth)).status, 404);
    });

    it('lists the values an edit changes, path by path, against the current revision, and adds no revision', async () => {
      await api()
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(text)
        .expect(201);
      const edited = text
        .replace('https://chat.example/hook', 'https://chat.example/other')
        .replace('      seen: true\n', '      seen: true\n      by: console\n')
        .replace('    name: Post it\n', '');
      const res = await validate(edited);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {
        ok: true,
        id,
        revision: 1,
        unchanged: false,
        diff: [
          { path: 'steps[0].name', before: 'Post it' },
          { path: 'steps[0].with.url', before: 'https://chat.example/hook', after: 'https://chat.example/other' },
          { path: 'steps[1].with.by', after: 'console' },
        ],
      });
      // The same text would store nothing. Comments and layout are not values, so none is listed for them, but a save
      // would store the new text (the export stays true to what was written), so it is not unchanged.
      const same = await validate(text);
      assert.deepEqual([same.body.unchanged, same.body.diff], [true, []]);
      const commented = await validate(`# Another comment\n${text}`);
      assert.deepEqual([commented.body.unchanged, commented.body.diff], [false, []]);
      const json = await api().get(`/api/definitions/${id}`).set('Authorization', harness.auth);
      const asJson = await validate(JSON.stringify(json.body.definition), 'application/json');
      assert.deepEqual([asJson.status, asJson.body.unchanged, asJson.body.diff], [200, false, []]);
      assert.equal(await revisionCount(), 1);
    });

    it("answers an invalid YAML edit like PUT does, 422 with each error's path and line, and stores nothing", async () => {
      const edited = text
        .replace('url: "https://chat.example/hook"', 'url: 42')
        .replace('action: flow.set', 'action: flow.sett')
        .replace('    type: checked', '    type: checked\n    if: event.x ==');
      const res = await validate(edited);
      assert.equal(res.status, 422, res.text);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      const lines = Object.fromEntries(
        (res.body.errors as { path: string; line: number }[]).map((error) => [error.path, error.line]),
      );
      assert.deepEqual(lines, {
        'on[0].if': lineOf(edited, 'if: event.x =='),
        'steps[0].with.url': lineOf(edited, 'url: 42'),
        'steps[1].action': lineOf(edited, 'action: flow.sett'),
      });
      const put = await api()
        .put(`/api/definitions/${id}`)
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(edited);
      assert.equal(put.status, 422);
      assert.deepEqual(put.body.errors, res.body.errors);

      // A required value that is missing points at the nearest part that is there: the step's with.
      const missing = await validate(text.replace('      url: "https://chat.example/hook"\n', ''));
      assert.equal(missing.status, 422, missing.text);
      assert.deepEqual(
        missing.body.errors.map((error: { path: string; line: number }) => [error.path, error.line]),
        [['steps[0].with.url', lineOf(text, '    with:')]],
      );

      const syntax = await validate(text.replace('    type: checked', '    type: [checked'));
      assert.equal(syntax.status, 400);
      assert.match(syntax.body.detail, /not valid YAML \(line \d+, column \d+\)/);
      assert.ok(syntax.body.line >= lineOf(text, 'type: checked'), `line ${String(syntax.body.line)}`);
      assert.equal(typeof syntax.body.column, 'number');

      const json = await validate(JSON.stringify({ id, name: 'Checked', on: [], steps: [] }), 'application/json');
      assert.equal(json.status, 422);
      assert.ok(
        (json.body.errors as { line?: number }[]).every((error) => error.line === undefined),
        'JSON has no lines',
      );
      assert.equal(await revisionCount(), 1);
    });

    it('needs the write scope, like any POST of the definitions API', async () => {
      const read = await validate(text, 'application/yaml', READER);
      assert.equal(read.status, 403);
      const none = await api().post(`/api/definitions/${id}/validate`).type('application/yaml').send(text);
      assert.equal(none.status, 401);
    });
  });
});
