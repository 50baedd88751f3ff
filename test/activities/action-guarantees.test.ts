import assert from 'node:assert/strict';
import { actions, describeActions } from '../../activities';
import { DEFAULT_GUARANTEE } from '../../activities/define-action';
import { defineAction, defineActionPack, InvalidActionPackError, runActionForTest, z } from '../../sdk';

const LEVELS = ['exactly-once', 'at-least-once-with-dedupe', 'at-least-once'];

/** A pack action as a team writes it, with or without a guarantee. */
function packAction(guarantee?: unknown) {
  return defineAction({
    id: 'payments.refund',
    description: 'Refunds a payment.',
    input: z.strictObject({}),
    output: z.object({ attempt: z.number() }),
    examples: [],
    ...(guarantee === undefined ? {} : { guarantee: guarantee as never }),
    run: (_input, { attempt }) => Promise.resolve({ attempt }),
  });
}

describe('activities: every action states its guarantee', () => {
  it('every built-in action states a level and an explanation, shown by GET /api/actions', () => {
    for (const description of describeActions(actions)) {
      assert.ok(LEVELS.includes(description.guarantee.level), description.id);
      assert.ok(description.guarantee.explanation.length > 20, description.id);
      assert.notEqual(description.guarantee, DEFAULT_GUARANTEE, `${description.id} states its own`);
    }
    const levels = Object.fromEntries(describeActions(actions).map(({ id, guarantee }) => [id, guarantee.level]));
    assert.equal(levels['jira.comment'], 'at-least-once-with-dedupe');
    assert.equal(levels['slack.post_message'], 'at-least-once-with-dedupe');
    assert.equal(levels['jenkins.trigger_build'], 'at-least-once-with-dedupe');
    assert.equal(levels['email.send'], 'at-least-once');
    assert.equal(levels['http.request'], 'at-least-once');
    for (const git of ['git.tag', 'git.create_branch', 'git.merge', 'git.bump_version', 'git.checkout']) {
      assert.equal(levels[git], 'exactly-once', git);
    }
  });

  it('runs a built-in action locally by default only when a re-run repeats nothing (a read, or a look for its own effect)', () => {
    // A worker killed during a workflow task runs all of that task's local steps again from attempt 1 (docs/engine.md,
    // "Local steps"): the soak counted 51 repeated webhook calls for 13 kills with http.request local, none for 11 kills
    // remote. So an action whose retry may repeat its effect stays remote unless a step asks otherwise.
    const local = actions.filter((action) => action.defaults?.execution === 'local');
    assert.deepEqual(local.map((action) => action.id).sort(), [
      'jenkins.get_artifacts',
      'jenkins.trigger_build',
      'jira.comment',
      'jira.get_issue',
    ]);
    for (const action of local) assert.notEqual(action.guarantee.level, 'at-least-once', action.id);
  });

  it("lists a pack action without a guarantee as at least once, and keeps a pack action's own", () => {
    const [without] = describeActions([packAction()]);
    assert.deepEqual(without?.guarantee, DEFAULT_GUARANTEE);
    assert.equal(DEFAULT_GUARANTEE.level, 'at-least-once');
    const stated = { level: 'exactly-once', explanation: 'The payments API keeps one refund per key.' };
    assert.deepEqual(describeActions([packAction(stated)])[0]?.guarantee, stated);
    assert.doesNotThrow(() => defineActionPack({ name: 'payments', version: '1.0.0', actions: [packAction(stated)] }));
  });

  it('refuses a pack whose action states a guarantee the catalog cannot show', () => {
    for (const guarantee of [{ level: 'at-most-once', explanation: 'x' }, { level: 'exactly-once' }, 'exactly-once']) {
      assert.throws(
        () => defineActionPack({ name: 'payments', version: '1.0.0', actions: [packAction(guarantee)] }),
        (error: unknown) =>
          error instanceof InvalidActionPackError &&
          /the action "payments\.refund" has a guarantee that is not \{level, explanation\}/.test(error.message),
        JSON.stringify(guarantee),
      );
    }
  });

  it('tells an action which attempt runs: 1 by default, the given one in runActionForTest', async () => {
    assert.deepEqual(await runActionForTest(packAction(), {}), { attempt: 1 });
    assert.deepEqual(await runActionForTest(packAction(), {}, { attempt: 3 }), { attempt: 3 });
  });
});
