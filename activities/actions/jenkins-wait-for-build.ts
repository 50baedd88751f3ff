import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { JENKINS_ENV, jenkinsApi, jenkinsJob, type JenkinsBuild } from '../clients/jenkins';
import { defineAction } from '../define-action';

const ID = 'jenkins.wait_for_build';

/** Results that fail the step when `fail_on_result` is on. */
const FAILED_RESULTS = new Set(['FAILURE', 'UNSTABLE', 'ABORTED']);

/** Longest pause without a heartbeat, so a long poll interval never trips the step's heartbeat timeout. */
const MAX_SILENCE_MS = 10_000;

const DURATION = /^(\d+)(ms|s|m)$/;

/**
 * What the action records with every poll. After a worker restart the next attempt reads it back: a known build number
 * is never resolved from the queue again (Jenkins forgets queue items minutes after they start), and polls go on
 * counting.
 */
const progress = z.object({
  queue_id: z.int().positive().optional(),
  build_number: z.int().positive().optional(),
  polls: z.int().min(0),
});
type Progress = z.infer<typeof progress>;

const input = z
  .strictObject({
    job: jenkinsJob,
    queue_id: z.int().positive().optional(),
    build_number: z.int().positive().optional(),
    poll_interval: z
      .string()
      .regex(DURATION, 'must be a duration such as 500ms, 10s or 2m')
      .refine((value) => {
        const ms = parseDuration(value);
        return ms >= 10 && ms <= 10 * 60_000;
      }, 'must be between 10ms and 10m')
      .default('10s'),
    fail_on_result: z.boolean().default(true),
  })
  .refine((value) => (value.queue_id === undefined) !== (value.build_number === undefined), {
    message: 'needs exactly one of queue_id (from jenkins.trigger_build) or build_number',
    path: ['queue_id'],
  });

/** Waits for a queued or running Jenkins build to finish, heartbeating each poll so a restarted worker resumes. */
export const jenkinsWaitForBuild = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Only reads from Jenkins; no side effect.',
  },
  description:
    'Waits for a Jenkins build to finish and returns {job, number, result, url, duration_ms}. Give either the ' +
    'queue_id returned by jenkins.trigger_build (resolved to a build number once the build starts) or a ' +
    'build_number. Jenkins is polled every poll_interval; each poll is heartbeated, so after a worker restart the ' +
    'wait resumes with the same build instead of starting over. With fail_on_result (the default) a FAILURE, ' +
    'UNSTABLE or ABORTED result fails the step without retrying (type BuildFailed); otherwise the result is ' +
    'returned. A build cancelled while queued fails with BuildCancelled.',
  input,
  output: z.object({
    job: z.string(),
    number: z.int(),
    result: z.string(),
    url: z.string(),
    duration_ms: z.number(),
  }),
  env: JENKINS_ENV,
  defaults: { timeout: '6h', heartbeat: '1m' },
  examples: [
    {
      title: 'Wait for the build queued by an earlier step',
      with: {
        job: '${{ steps.build.output.job }}',
        queue_id: '${{ steps.build.output.queue_id }}',
        poll_interval: '30s',
      },
    },
    {
      title: 'Record the result of a known build without failing on it',
      with: { job: 'nightly/integration-tests', build_number: 1287, fail_on_result: false },
    },
  ],
  async run(request, context) {
    const { deps, lastHeartbeat, signal } = context;
    const heartbeat = (details: Progress): void => context.heartbeat(details);
    const jenkins = jenkinsApi(deps.env, ID);
    const interval = parseDuration(request.poll_interval);
    const resumed = progress.safeParse(lastHeartbeat);
    let polls = resumed.success ? resumed.data.polls : 0;

    /** Polls the queue item until Jenkins starts its build; returns the build number. */
    const waitForStart = async (queueId: number): Promise<number> => {
      for (;;) {
        const item = await abortable(jenkins.queueItem(queueId), signal);
        polls += 1;
        if (item.cancelled) {
          throw ApplicationFailure.nonRetryable(
            `${request.job}: queue item ${queueId} was cancelled before the build started`,
            'BuildCancelled',
            { job: request.job, queue_id: queueId },
          );
        }
        const details: Progress =
          item.buildNumber === undefined ? { queue_id: queueId, polls } : { build_number: item.buildNumber, polls };
        heartbeat(details);
        if (item.buildNumber !== undefined) return item.buildNumber;
        await pause(interval, signal, () => heartbeat(details));
      }
    };

    let buildNumber = request.build_number ?? (resumed.success ? resumed.data.build_number : undefined);
    if (buildNumber === undefined) {
      // The schema already refuses input without either; this only keeps the types honest.
      if (request.queue_id === undefined) {
        throw ApplicationFailure.nonRetryable(`${ID} needs queue_id or build_number`, 'InvalidActionInput');
      }
      buildNumber = await waitForStart(request.queue_id);
    }

    let build: JenkinsBuild;
    for (;;) {
      build = await abortable(jenkins.build(request.job, buildNumber), signal);
      polls += 1;
      const details: Progress = { build_number: buildNumber, polls };
      heartbeat(details);
      // Jenkins may report a build as no longer building a moment before it records the result.
      if (!build.building && build.result !== null) break;
      await pause(interval, signal, () => heartbeat(details));
    }

    const result = {
      job: request.job,
      number: build.number,
      result: build.result,
      url: build.url,
      duration_ms: build.durationMs,
    };
    if (request.fail_on_result && FAILED_RESULTS.has(build.result)) {
      throw ApplicationFailure.nonRetryable(
        `${request.job} #${build.number} finished with ${build.result}: ${build.url}`,
        'BuildFailed',
        result,
      );
    }
    return result;
  },
});

function parseDuration(value: string): number {
  const match = DURATION.exec(value);
  const amount = Number(match?.[1] ?? 10);
  return match?.[2] === 'ms' ? amount : match?.[2] === 'm' ? amount * 60_000 : amount * 1_000;
}

/** Settles like `promise`, or rejects with the cancellation as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Waits `ms`, heartbeating at least every {@link MAX_SILENCE_MS}; rejects as soon as `signal` aborts. */
async function pause(ms: number, signal: AbortSignal, beat: () => void): Promise<void> {
  for (let left = ms; left > 0; left -= MAX_SILENCE_MS) {
    await sleep(Math.min(left, MAX_SILENCE_MS), signal);
    if (left > MAX_SILENCE_MS) beat();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The cancellation as Temporal reports it (a CancelledFailure), so the step ends as cancelled, not failed. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the step was cancelled');
}
