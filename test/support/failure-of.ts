import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';

/** Awaits a promise that must reject with an `ApplicationFailure`, and returns that failure for assertions. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
  return error;
}

/** Asserts that an update was refused by its validator with a failure of `type` whose message says why. */
export async function assertRefused(update: Promise<unknown>, type: string, message: RegExp): Promise<void> {
  await assert.rejects(update, (error: unknown) => {
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
    assert.equal(error.cause.type, type);
    assert.match(error.cause.message, message);
    return true;
  });
}
