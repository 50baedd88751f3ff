import assert from 'node:assert/strict';
import { actionsById } from '../../activities';
import { validateDefinition, type DefinitionError } from '../../registry';

const catalog = actionsById();
const valid = () => ({
  id: 'start-release',
  name: 'Start release',
  on: [{ source: 'jira', type: 'issue_transitioned', if: 'event.to == "Start Release"' }],
  steps: [
    { id: 'version', action: 'http.request', with: { url: 'https://tracker.example/api/${{ event.issue }}' } },
    { id: 'remember', action: 'flow.set', with: { version: '${{ steps.version.output.body.fixVersion }}' } },
    {
      id: 'announce',
      if: 'vars.version != ""',
      action: 'http.request',
      with: { method: 'POST', url: 'https://chat.example/hook', json: { text: '${{ vars.version }}' } },
    },
  ],
});

function errorsOf(raw: unknown): DefinitionError[] {
  const result = validateDefinition(raw, catalog);
  assert.equal(result.ok, false, 'expected the definition to be rejected');
  return result.ok ? [] : result.errors;
}

describe('registry: definition validation', () => {
  it('accepts a valid definition and applies defaults', () => {
    const result = validateDefinition(valid(), catalog);
    assert.ok(result.ok);
    assert.equal(result.definition.enabled, true);
    assert.deepEqual(result.definition.steps[0]?.with, { url: 'https://tracker.example/api/${{ event.issue }}' });
  });

  it('reports every error at once, each with its path', () => {
    const raw = valid();
    raw.id = 'Start Release!';
    raw.steps[0]!.action = 'http.reqest';
    raw.steps[2]!.with = { method: 'FETCH', url: 'not a url', json: { text: '${{ vars.version' } };
    raw.steps.push({ id: 'version', action: 'flow.set', with: { x: '${{ steps.later.output }}' } } as never);
    const errors = errorsOf(raw);
    const paths = errors.map((error) => error.path);
    assert.ok(paths.includes('id'), paths.join());
    assert.ok(paths.includes('steps[0].action'));
    assert.ok(paths.includes('steps[2].with.method'));
    assert.ok(paths.includes('steps[2].with.url'));
    assert.ok(paths.includes('steps[2].with.json.text'), 'an unclosed ${{ is reported');
    assert.ok(paths.includes('steps[3].id'));
    assert.ok(paths.includes('steps[3].with.x'));
    assert.match(
      errors.find((error) => error.path === 'steps[0].action')!.message,
      /unknown action "http.reqest" \(did you mean "http.request"\?\)/,
    );
    assert.match(
      errors.find((error) => error.path === 'steps[3].id')!.message,
      /duplicate step id "version" \(first used by steps\[0\]\)/,
    );
  });

  it('rejects references to later or missing steps, and steps in binding conditions', () => {
    const raw = valid();
    raw.steps[0]!.with = { url: 'https://x/${{ steps.announce.output.status }}' };
    raw.steps[1]!.with = { version: '${{ steps.nope.output }}' };
    raw.on[0]!.if = 'steps.version.output != null';
    const errors = errorsOf(raw);
    assert.deepEqual(
      errors.map((error) => [error.path, error.message.replace(/\(steps\[\d\]\).*/, '')]),
      [
        ['on[0].if', 'a binding condition runs before any step, so it cannot read steps'],
        ['steps[0].with.url', 'refers to steps.announce, which runs later '],
        ['steps[1].with.version', 'refers to steps.nope, but no step has that id'],
      ],
    );
  });

  it('validates static inputs against the action schema but leaves expression values to run time', () => {
    const raw = valid();
    raw.steps[0]!.with = { url: '${{ event.url }}', method: 'GET', timeout: 'forever' } as never;
    const errors = errorsOf(raw);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[0].with.timeout'],
    );
  });

  it('rejects expressions that do not parse and unsafe functions', () => {
    const raw = valid();
    raw.steps[2]!.if = 'vars.version ==';
    raw.steps[1]!.with = { version: '${{ event.to.matches("(a+)+$") }}' };
    const errors = errorsOf(raw);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[1].with.version', 'steps[2].if'],
    );
  });

  it('rejects credentials written into a definition', () => {
    const raw = valid();
    raw.steps[0]!.with = { url: 'https://x', headers: { Authorization: 'Bearer abc123' } } as never;
    const errors = errorsOf(raw);
    assert.deepEqual(
      errors.map((error) => error.path),
      ['steps[0].with.headers.Authorization'],
    );
    assert.match(errors[0]!.message, /secret_headers/);
  });

  it('accepts secret_headers, whose values name worker variables rather than hold credentials', () => {
    const raw = valid();
    raw.steps[0]!.with = { url: 'https://x', secret_headers: { Authorization: 'TRACKER_TOKEN' } } as never;
    const result = validateDefinition(raw, catalog);
    assert.equal(result.ok, true, JSON.stringify(result));
  });

  it('limits the number of steps and rejects unknown keys', () => {
    const raw = valid() as Record<string, unknown>;
    raw['steps'] = Array.from({ length: 201 }, (_, index) => ({ id: `s${index}`, action: 'flow.set', with: {} }));
    raw['stepz'] = [];
    const errors = errorsOf(raw);
    assert.ok(errors.some((error) => error.path === 'steps' && /at most 200 steps/.test(error.message)));
    assert.ok(errors.some((error) => error.path === '(root)' && /stepz/.test(error.message)));
  });

  it('accepts a concurrency group and applies its defaults', () => {
    const result = validateDefinition({ ...valid(), concurrency: { group: 'release-${{ event.project }}' } }, catalog);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.definition.concurrency, {
      group: 'release-${{ event.project }}',
      when_busy: 'queue',
      max_queue: 50,
    });
  });

  it('rejects unusable concurrency settings, each with its path', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ group: 'release', max_queue: 0 }, 'concurrency.max_queue', />=1|too small/i],
      [{ group: 'release', max_queue: 5_000 }, 'concurrency.max_queue', /at most 1000/],
      [{ group: 'release', when_busy: 'cancel' }, 'concurrency.when_busy', /queue|reject|replace/],
      [{ group: 'release', queue: 3 }, 'concurrency', /queue/],
      [{}, 'concurrency.group', /./],
      [
        { group: 'release ${{ steps.version.output }}' },
        'concurrency.group',
        /before any step, so it cannot read steps/,
      ],
      [{ group: 'release-${{ vars.x }}' }, 'concurrency.group', /cannot read vars/],
      [{ group: 'release-${{ event.project' }, 'concurrency.group', /without a closing/],
      [{ group: 'release-${{ event.( }}' }, 'concurrency.group', /./],
      [{ group: 'release train' }, 'concurrency.group', /1-100 letters/],
    ];
    for (const [concurrency, path, message] of cases) {
      const errors = errorsOf({ ...valid(), concurrency });
      assert.ok(
        errors.some((error) => error.path === path && message.test(error.message)),
        `${JSON.stringify(concurrency)}: expected ${path} ${String(message)} in ${JSON.stringify(errors)}`,
      );
    }
  });
});

describe('registry: definition validation of execution', () => {
  const withStep = (step: Record<string, unknown>) => {
    const raw = valid();
    raw.steps[0] = { ...raw.steps[0]!, ...step };
    return raw;
  };

  it('accepts execution local or remote on a step, and keeps it', () => {
    for (const execution of ['local', 'remote'] as const) {
      const result = validateDefinition(withStep({ execution }), catalog);
      assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
      assert.equal(result.definition.steps[0]?.execution, execution);
    }
    // An action that heartbeats may still be run remote explicitly.
    const build = validateDefinition(
      withStep({ action: 'build.run', with: { command: ['make'], cwd: '/srv/build' }, execution: 'remote' }),
      catalog,
    );
    assert.ok(build.ok, JSON.stringify(build.ok ? [] : build.errors));
  });

  it('refuses any other execution with a message that names the two', () => {
    const errors = errorsOf(withStep({ execution: 'eager' }));
    const error = errors.find((candidate) => candidate.path === 'steps[0].execution');
    assert.ok(error, JSON.stringify(errors));
    assert.match(error.message, /must be "local" \(in the workflow's worker\) or "remote" \(through the task queue\)/);
  });

  it('refuses a local step that is routed to a task queue or sets schedule_to_start', () => {
    const routed = errorsOf(withStep({ execution: 'local', task_queue: 'deploys' }));
    assert.deepEqual(
      routed.map((error) => [error.path, error.message]),
      [
        [
          'steps[0].execution',
          "a local step runs on the workflow's own worker, so it cannot also set task_queue; remove one of them",
        ],
      ],
    );
    const waiting = errorsOf(withStep({ execution: 'local', schedule_to_start: '1m' }));
    assert.match(waiting[0]!.message, /cannot also set schedule_to_start/);
    // Remote and routed is what routing always was.
    assert.ok(validateDefinition(withStep({ execution: 'remote', task_queue: 'deploys' }), catalog).ok);
  });

  it('refuses a local step that heartbeats, by its own heartbeat or its action default', () => {
    const own = errorsOf(withStep({ execution: 'local', heartbeat: '30s' }));
    assert.deepEqual(
      own.map((error) => [error.path, error.message]),
      [['steps[0].execution', 'a local step cannot heartbeat; remove heartbeat or execution: local']],
    );
    const build = errorsOf(
      withStep({ action: 'build.run', with: { command: ['make'], cwd: '/srv/build' }, execution: 'local' }),
    );
    assert.deepEqual(
      build.map((error) => [error.path, error.message]),
      [
        [
          'steps[0].execution',
          'build.run heartbeats (its default heartbeat is 1m) and a local step cannot; remove execution: local',
        ],
      ],
    );
  });

  it('refuses execution on a meta-action, which runs in the workflow', () => {
    const raw = valid();
    raw.steps[1] = { ...raw.steps[1]!, execution: 'local' } as never;
    const errors = errorsOf(raw);
    assert.deepEqual(
      errors.map((error) => [error.path, error.message]),
      [['steps[1].execution', 'flow.set runs in the workflow, not on a worker; remove execution']],
    );
  });
});
