/**
 * Hand-written Temporal workflows: the baseline Flow is measured against. They do what Flow's definitions in the
 * benchmarks do, the way a Temporal user would write them directly. Bundled on their own, apart from Flow's workflows.
 */
import type { Duration } from '@temporalio/common';
import {
  condition,
  defineSignal,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { BaselineActivities, PostEvent } from './activities';

/** The same activity options as a Flow step without options of its own (`STEP_DEFAULTS` in the interpreter). */
const activities = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const;

/** Calls `bench.noop` `steps` times in a row: the baseline of an N-step definition. */
export async function noopSequence(steps: number): Promise<number> {
  const { 'bench.noop': noop } = proxyActivities<BaselineActivities>(activities);
  for (let step = 0; step < steps; step++) await noop({});
  return steps;
}

/** Waits on a durable timer, as a `flow.sleep` step does: the baseline of a run held at a waiting step. */
export async function sleepThenReturn(duration: Duration): Promise<void> {
  await sleep(duration);
}

/** The signal `waitForSignal` blocks on; a hand-written stand-in for Flow's `flowEventDelivered`. */
const eventArrived = defineSignal<[unknown]>('eventArrived');

/**
 * Blocks until a signal arrives or `timeout` passes, returning the signal's payload (undefined on timeout): the
 * baseline of a run parked in `flow.wait_for_event`, written as a Temporal user would, with no registration anywhere.
 */
export async function waitForSignal(timeout: Duration): Promise<unknown> {
  let payload: unknown;
  let arrived = false;
  setHandler(eventArrived, (received) => {
    payload = received;
    arrived = true;
  });
  await condition(() => arrived, timeout);
  return payload;
}

/** The update `waitForAnswer` blocks on; a hand-written stand-in for Flow's `answerApproval` (same name). */
const answered = defineUpdate<string, [unknown]>('answerApproval');

/**
 * Blocks until an update answers, then calls `bench.noop` once: the baseline of a definition of `flow.approval` and a
 * `bench.noop` step, written as a Temporal user would, with no validator, timeout or status.
 */
export async function waitForAnswer(): Promise<void> {
  let done = false;
  setHandler(answered, () => {
    done = true;
    return 'answered';
  });
  await condition(() => done);
  const { 'bench.noop': noop } = proxyActivities<BaselineActivities>(activities);
  await noop({});
}

/** The steps of the throughput benchmark's webhook: three POSTs in a row, like Flow's three `http.request` steps. */
const POSTS = 3;

/** `http.request`'s own default timeout (2m), which the Flow steps of the throughput benchmark run with. */
const POST_TIMEOUT = '2m';

/**
 * POSTs `{event, step}` to the event's target three times in a row, each as an activity: the baseline of a webhook
 * whose definition has three remote HTTP steps.
 */
export async function postThrice(event: PostEvent): Promise<number> {
  const { 'bench.post': post } = proxyActivities<BaselineActivities>({
    ...activities,
    startToCloseTimeout: POST_TIMEOUT,
  });
  for (let step = 1; step <= POSTS; step++) await post(event.target, { event: event.eventId, step });
  return POSTS;
}

/** The same three POSTs as local activities: the baseline of a definition whose HTTP steps run locally. */
export async function postThriceLocal(event: PostEvent): Promise<number> {
  const { 'bench.post': post } = proxyLocalActivities<BaselineActivities>({
    startToCloseTimeout: POST_TIMEOUT,
    retry: activities.retry,
  });
  for (let step = 1; step <= POSTS; step++) await post(event.target, { event: event.eventId, step });
  return POSTS;
}
