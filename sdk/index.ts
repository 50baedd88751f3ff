/**
 * Flow's action SDK, `flow/sdk`: what a team needs to write actions in its own package and have Flow's workers run
 * them. Declare each action with {@link defineAction}, list them in a pack with {@link defineActionPack} (the pack's
 * module exports it as default, and a worker loads it from `FLOW_ACTION_PACKS`), fail with the helpers below so the
 * Temporal UI and retry policies can tell failures apart, and test each action with {@link runActionForTest}, which
 * runs it as a worker would. Flow's built-in actions are declared with this same `defineAction`.
 *
 * Everything exported here is stable within a major {@link SDK_VERSION}; docs/action-packs.md has the guide and the
 * changes. Nothing else in this repository is a public API.
 */
export { DEFAULT_GUARANTEE, defineAction } from '../activities/define-action';
export type {
  ActionContext,
  ActionDefinition,
  ActionExample,
  ActionGuarantee,
  GuaranteeLevel,
  AnyAction,
  GuardedInput,
  StepMeta,
} from '../activities/define-action';
export type { ActionDeps } from '../activities/deps';
export {
  FailureType,
  failureForStatus,
  missingConfiguration,
  peerUnreachable,
  requireEnv,
} from '../activities/failures';
export { ACTION_PACK_KIND, PACK_NAME, defineActionPack, InvalidActionPackError, isActionPack } from './action-pack';
export type { ActionPack, ActionPackDefinition } from './action-pack';
export { runActionForTest } from './run-action-for-test';
export type { RunActionForTestOptions } from './run-action-for-test';
export { SDK_VERSION } from './version';
/** The Temporal failure to throw for a failure type of the action's own (`ApplicationFailure.nonRetryable(…)`). */
export { ApplicationFailure } from '@temporalio/common';
/** The zod the worker validates with: declare inputs and outputs with it, so their JSON Schema is generated alike. */
export { z } from 'zod';
