import assert from 'node:assert/strict';
import { z } from 'zod';
import { actions, actionsById } from '../../activities';
import { validateDefinition, type DefinitionError } from '../../registry';

const catalog = actionsById();

/** A definition bound to a webhook, with the given steps. */
function definition(steps: unknown[]): unknown {
  return { id: 'guarded', name: 'Guarded inputs', on: [{ source: 'tracker', type: 'issue_closed' }], steps };
}

function errorsOf(steps: unknown[]): DefinitionError[] {
  const result = validateDefinition(definition(steps), catalog);
  return result.ok ? [] : result.errors;
}

const SECRET = { Authorization: 'TRACKER_TOKEN' };

describe('registry: event data in guarded inputs', () => {
  it('refuses an http.request URL with secret headers taken from the event, naming the path and the event field', () => {
    const errors = errorsOf([
      { id: 'call', action: 'http.request', with: { url: '${{ event.callback }}', secret_headers: SECRET } },
    ]);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.path, 'steps[0].with.url');
    assert.match(errors[0]!.message, /takes event data \(event\.callback\) into url/);
    assert.match(errors[0]!.message, /where the worker's secret headers are sent/);
    assert.match(errors[0]!.message, /allow_event_data: \[url\]/);
  });

  it('counts the event a flow.wait_for_event step took as event data, whatever its own inputs', () => {
    const errors = errorsOf([
      { id: 'build', action: 'flow.wait_for_event', with: { source: 'jenkins', type: 'build_finished' } },
      {
        id: 'tag',
        action: 'git.tag',
        with: { repository: '${{ steps.build.output.body.repo }}', version: '1.0.0', ref: 'main' },
      },
    ]);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[1].with.repository'],
      JSON.stringify(errors),
    );
    assert.match(errors[0]!.message, /the event steps\.build waited for through steps\.build\.output/);
  });

  it('refuses secret headers chosen by the event', () => {
    const errors = errorsOf([
      {
        id: 'call',
        action: 'http.request',
        with: { url: 'https://tracker.example/api', secret_headers: { 'X-Key': '${{ event.secret }}' } },
      },
    ]);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[0].with.secret_headers["X-Key"]'],
    );
  });

  it('accepts the same URL without secret headers (the hello example), and with a fixed URL', () => {
    assert.deepEqual(errorsOf([{ id: 'call', action: 'http.request', with: { url: '${{ event.callback }}' } }]), []);
    assert.deepEqual(
      errorsOf([
        { id: 'call', action: 'http.request', with: { url: '${{ event.callback }}', secret_headers: {} } },
        {
          id: 'fixed',
          action: 'http.request',
          with: { url: 'https://tracker.example/api/issue', secret_headers: SECRET, json: { k: '${{ event.key }}' } },
        },
      ]),
      [],
    );
  });

  it('follows event data through flow.set, per variable', () => {
    const errors = errorsOf([
      {
        id: 'remember',
        action: 'flow.set',
        with: { target: 'https://hooks.example/${{ event.path }}', fixed: 'https://tracker.example/api' },
      },
      { id: 'tainted', action: 'http.request', with: { url: '${{ vars.target }}', secret_headers: SECRET } },
      { id: 'clean', action: 'http.request', with: { url: '${{ vars.fixed }}/issue', secret_headers: SECRET } },
    ]);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[1].with.url'],
    );
    assert.match(errors[0]!.message, /event\.path through vars\.target/);
  });

  it('follows event data through the output of a step whose input read it, and through chains of variables', () => {
    const errors = errorsOf([
      { id: 'lookup', action: 'http.request', with: { url: 'https://tracker.example/api/${{ event.issue.key }}' } },
      { id: 'keep', action: 'flow.set', with: { repo: '${{ steps.lookup.output.body.repository }}' } },
      { id: 'again', action: 'flow.set', with: { remote: '${{ vars.repo }}' } },
      { id: 'tag', action: 'git.tag', with: { repository: '${{ vars.remote }}', ref: 'main', version: '1.0.0' } },
      {
        id: 'build',
        action: 'build.run',
        with: { command: ['make', '${{ steps.lookup.output.body.target }}'], cwd: '/srv/build' },
      },
    ]);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[3].with.repository', 'steps[4].with.command[1]'],
    );
    assert.match(errors[0]!.message, /event\.issue\.key through vars\.remote/);
    assert.match(errors[0]!.message, /the remote the worker's git credentials are used with/);
    assert.match(errors[1]!.message, /event\.issue\.key through steps\.lookup\.output/);
  });

  it('counts run.eventId, which holds the sender’s idempotency key, and reads of vars or steps by a computed key', () => {
    const errors = errorsOf([
      { id: 'set', action: 'flow.set', with: { a: '${{ event.a }}' } },
      { id: 'build', action: 'build.run', with: { command: ['make'], cwd: '/srv/${{ run.eventId }}' } },
      { id: 'deploy', action: 'deploy.rsync', with: { source: '/srv/out/', destination: '${{ vars["a"] }}' } },
      {
        id: 'deploy2',
        action: 'deploy.rsync',
        with: { source: '/srv/out/', destination: '${{ vars[run.definition] }}:/srv' },
      },
      { id: 'fine', action: 'build.run', with: { command: ['make', '${{ run.definition }}'], cwd: '/srv' } },
    ]);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[1].with.cwd', 'steps[2].with.destination', 'steps[3].with.destination'],
    );
    assert.match(errors[0]!.message, /run\.eventId/);
  });

  it('accepts event data where the step opts in with allow_event_data, for that input only', () => {
    const steps = [
      {
        id: 'build',
        action: 'build.run',
        allow_event_data: ['cwd'],
        with: { command: ['make', '${{ event.target }}'], cwd: '/srv/${{ event.dir }}' },
      },
    ];
    const errors = errorsOf(steps);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[0].with.command[1]'],
    );
    steps[0]!.allow_event_data.push('command');
    const result = validateDefinition(definition(steps), catalog);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.definition.steps[0]?.allow_event_data, ['cwd', 'command']);
  });

  it('refuses allow_event_data entries that name no guarded input of the action', () => {
    const errors = errorsOf([
      { id: 'call', action: 'http.request', allow_event_data: ['uri'], with: { url: 'https://x.example' } },
      { id: 'post', action: 'slack.post_message', allow_event_data: ['text'], with: { channel: '#a', text: 'b' } },
    ]);
    assert.deepEqual(
      errors.map((error) => [error.path, error.message]),
      [
        [
          'steps[0].allow_event_data[0]',
          'http.request does not guard "uri"; its guarded inputs are url, secret_headers',
        ],
        [
          'steps[1].allow_event_data[0]',
          'slack.post_message guards no input, so there is nothing to allow; remove "text"',
        ],
      ],
    );
  });

  it('guards only inputs each action really has', () => {
    for (const action of actions) {
      const properties = Object.keys(
        (z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as { properties?: object }).properties ??
          {},
      );
      for (const guarded of action.guardedInputs ?? []) {
        assert.ok(properties.includes(guarded.input), `${action.id} guards unknown input ${guarded.input}`);
        if (guarded.onlyWith) assert.ok(properties.includes(guarded.onlyWith), `${action.id}: ${guarded.onlyWith}`);
      }
    }
  });
});
