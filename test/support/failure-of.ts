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
