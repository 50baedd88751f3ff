import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { actionActivity, createActivities, defineAction, type ActivityDeps, type StepMeta } from '../../activities';
import { keepAliveInterval, withKeepAlive } from '../../activities/keep-alive';

/** A heartbeat timeout whose keep-alive beats every 100 ms. */
const HEARTBEAT_TIMEOUT_MS = 300;
const BEAT_MS = keepAliveInterval(HEARTBEAT_TIMEOUT_MS);

/** An activity environment that records every heartbeat it receives. */
function recordingEnvironment(info: Partial<Info> = {}): { env: MockActivityEnvironment; beats: unknown[] } {
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, ...info },
    { logger: new DefaultLogger('ERROR') },
  );
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  return { env, beats };
}

const step: StepMeta = {
  eventId: 'e-1',
  definition: 'keep-alive',
  revision: 1,
  stepId: 'wait',
  workflowId: 'keep-alive-e-1',
  causation: { rootEventId: 'e-1', depth: 0 },
};

describe('activities: the keep-alive heartbeats a running activity', () => {
  it('beats a few times per heartbeat timeout while the activity runs, at most every 5 s', () => {
    assert.equal(keepAliveInterval(HEARTBEAT_TIMEOUT_MS), 100);
    assert.equal(keepAliveInterval(30_000), 5_000);
    assert.equal(keepAliveInterval(60_000), 5_000);
    assert.equal(keepAliveInterval(9_000), 3_000);
  });

  it("repeats the last details the activity sent itself, and the previous attempt's before it sends any", async () => {
    const { env, beats } = recordingEnvironment({ attempt: 2, heartbeatDetails: { page: 3 } });
    await env.run(() =>
      withKeepAlive(async (heartbeat) => {
        await delay(BEAT_MS * 3.5);
        assert.ok(beats.length >= 2, `kept alive before the activity's own heartbeat (${beats.length} beats)`);
        assert.ok(beats.every((details) => JSON.stringify(details) === '{"page":3}'));
        heartbeat({ page: 4 });
        beats.length = 0;
        await delay(BEAT_MS * 3.5);
      }),
    );
    assert.ok(beats.length >= 2, `${beats.length} beats`);
    assert.deepEqual(beats[0], { page: 4 }, "the activity's own heartbeat went out");
    assert.ok(beats.every((details) => JSON.stringify(details) === '{"page":4}'));
  });

  // The mock environment forwards heartbeats whenever they come, so a timer that outlived its activity would beat on.
  it('stops its timer when the activity settles, whether it returns or throws', async () => {
    for (const outcome of ['returns', 'throws'] as const) {
      const { env, beats } = recordingEnvironment();
      const running = env.run(() =>
        withKeepAlive(async () => {
          await delay(BEAT_MS * 2.5);
          if (outcome === 'throws') throw new Error('the peer said no');
          return 'done';
        }),
      );
      if (outcome === 'returns') assert.equal(await running, 'done');
      else await assert.rejects(running, /the peer said no/);
      const settled = beats.length;
      assert.ok(settled >= 1, `${outcome}: beat while it ran`);
      await delay(BEAT_MS * 4);
      assert.equal(beats.length, settled, `${outcome}: no beat after the activity settled`);
    }
  });

  it('does not beat in a local activity, nor in an activity without a heartbeat timeout', async () => {
    for (const info of [{ isLocal: true }, { heartbeatTimeoutMs: undefined }] as Partial<Info>[]) {
      const { env, beats } = recordingEnvironment(info);
      await env.run(() =>
        withKeepAlive(async (heartbeat) => {
          await delay(BEAT_MS * 3);
          heartbeat('own');
        }),
      );
      assert.deepEqual(beats, ['own'], JSON.stringify(info));
    }
  });

  it("keeps an action alive with its last heartbeat's details as scrubbed, and hands it the previous attempt's", async () => {
    const seen: unknown[] = [];
    const action = defineAction({
      id: 'test.slow_upload',
      description: 'Uploads slowly, heartbeating once.',
      input: z.strictObject({}),
      output: z.object({ ok: z.boolean() }),
      examples: [],
      run: async (_input, context) => {
        seen.push(context.lastHeartbeat);
        context.heartbeat({ uploaded: 10, token: 'tracker-secret-789' });
        await delay(BEAT_MS * 4.5);
        return { ok: true };
      },
    });
    const activity = actionActivity(action, {
      env: { FLOW_SECRET_TRACKER: 'tracker-secret-789' },
    } as unknown as ActivityDeps);
    const { env, beats } = recordingEnvironment({ attempt: 2, heartbeatDetails: { uploaded: 5 } });
    assert.deepEqual(await env.run(activity, {}, step), { ok: true });
    assert.deepEqual(seen, [{ uploaded: 5 }]);
    assert.ok(beats.length >= 3, `${beats.length} beats`);
    for (const details of beats) assert.deepEqual(details, { uploaded: 10, token: '[redacted]' });
  });

  it('keeps the internal activities alive where they are registered, startRuns among them, not those that beat themselves', async () => {
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (release = resolve));
    const deps = {
      startRuns: async () => {
        await started;
        return { started: [] };
      },
      approvalNotice: async () => {
        await delay(BEAT_MS * 4);
        return {};
      },
      findDefinitionsForEvent: () => Promise.resolve([]),
      findSubscriptionsForEvent: () => Promise.resolve([]),
    } as unknown as ActivityDeps;
    const activities = createActivities(deps, []);

    const { env, beats } = recordingEnvironment();
    const running = env.run(activities['startRuns']!, {} as never);
    await delay(BEAT_MS * 3.5);
    assert.ok(beats.length >= 2, `startRuns is kept alive (${beats.length} beats)`);
    release();
    await running;

    // Its progress is its heartbeat's details, which a keep-alive would overwrite.
    const notice = recordingEnvironment();
    await notice.env.run(activities['approvalNotice']!, {} as never);
    assert.deepEqual(notice.beats, [], 'approvalNotice heartbeats only its own progress');
  });
});
