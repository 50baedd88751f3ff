import { z } from 'zod';
import { ACTION_ID, DEFINITION_ID, DURATION, EVENT_NAME, STEP_ID, TASK_QUEUE } from './names';
import { DEFAULT_MAX_QUEUE, MAX_MAX_QUEUE } from './train-types';

// The patterns live in `names.ts` so that workflow code can use them without bundling zod.
export { ACTION_ID, DEFINITION_ID, DURATION, EVENT_NAME, STEP_ID, TASK_QUEUE } from './names';

/** Most steps a definition may have; longer processes should be split into definitions chained by events. */
export const MAX_STEPS = 200;

const duration = z.string().regex(DURATION, 'must be a duration such as 500ms, 30s, 5m, 2h or 1d');

/** Retry options of a step; unset fields fall back to the action's defaults, then Flow's. */
export const retrySchema = z.strictObject({
  maximumAttempts: z.int().min(0).max(1_000).optional(),
  initialInterval: duration.optional(),
  backoffCoefficient: z.number().min(1).max(10).optional(),
  maximumInterval: duration.optional(),
  nonRetryableErrorTypes: z.array(z.string().max(200)).max(50).optional(),
});

/**
 * Where a step's activity runs: `remote` is an activity task through Temporal's task queue; `local` is a local
 * activity, run by the worker that runs the workflow, inside its workflow task (no task-queue round trip, no
 * heartbeats). See docs/engine.md#local-steps.
 */
export const STEP_EXECUTIONS = ['local', 'remote'] as const;

/** Options a step (or an action's defaults) may set for its activity. */
export const stepOptionsSchema = z.strictObject({
  timeout: duration.optional(),
  heartbeat: duration.optional(),
  retry: retrySchema.optional(),
  execution: z
    .enum(STEP_EXECUTIONS, {
      error: 'must be "local" (in the workflow\'s worker) or "remote" (through the task queue)',
    })
    .optional(),
});

const binding = z.strictObject({
  source: z.string().regex(EVENT_NAME, 'must be lowercase letters, digits, ".", "_" or "-", such as jira'),
  type: z.string().regex(EVENT_NAME, 'must be lowercase letters, digits, ".", "_" or "-", such as issue_transitioned'),
  if: z.string().min(1).optional(),
});

const step = z.strictObject({
  id: z
    .string()
    .regex(STEP_ID, 'must start with a lowercase letter or "_" and hold only lowercase letters, digits and "_"'),
  name: z.string().min(1).max(200).optional(),
  action: z.string().regex(ACTION_ID, 'must be an action id such as http.request'),
  with: z.record(z.string(), z.unknown()).default({}),
  if: z.string().min(1).optional(),
  /**
   * Inputs of the action that may take event data although the action guards them (they choose what runs or where
   * credentials and files go); without this, such a step is refused at save. An explicit, reviewable opt-in.
   */
  allow_event_data: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must name an input of the action, such as url'))
    .max(20)
    .optional(),
  /** A failure of this step is recorded in its result (and `steps.<id>.error`) and the run goes on. */
  continue_on_error: z.boolean().optional(),
  /**
   * The task queue the step's activity is scheduled on, instead of its action's (a deploy step on a worker inside
   * the target network). Meta-actions run in the workflow and ignore it. See docs/action-packs.md.
   */
  task_queue: z
    .string()
    .regex(TASK_QUEUE, 'must be a task queue name: 1-200 letters, digits, ".", "_" or "-", such as deploys-eu')
    .optional(),
  /** How long the step may wait for a worker to take it; past that it fails, naming its queue. */
  schedule_to_start: duration.optional(),
  ...stepOptionsSchema.shape,
});

/** Most on_failure steps a definition may have. */
export const MAX_ON_FAILURE_STEPS = 20;

/**
 * One run of a group at a time (a release train): `group` is a template over `event` and `run`, rendered when the
 * event is dispatched; definitions may share a group. See docs/trains.md.
 */
export const concurrencySchema = z.strictObject({
  group: z.string().min(1).max(500),
  when_busy: z.enum(['queue', 'reject', 'replace']).default('queue'),
  max_queue: z.int().min(1).max(MAX_MAX_QUEUE, `may be at most ${MAX_MAX_QUEUE}`).default(DEFAULT_MAX_QUEUE),
});

/** The definition format: an event binding plus an ordered list of configured actions. */
export const definitionSchema = z.strictObject({
  id: z.string().regex(DEFINITION_ID, 'must be 1-64 lowercase letters, digits and dashes, such as start-release'),
  name: z.string().min(1).max(200),
  description: z.string().max(5_000).optional(),
  enabled: z.boolean().default(true),
  on: z.array(binding).min(1, 'needs at least one binding').max(20),
  concurrency: concurrencySchema.optional(),
  steps: z.array(step).min(1, 'needs at least one step').max(MAX_STEPS, `may have at most ${MAX_STEPS} steps`),
  /**
   * Steps that run when a step fails, a wait or approval times out with `fail`, or the run is cancelled; they see
   * `failure`. They run to the end even while the run is being cancelled. See docs/run-control.md.
   */
  on_failure: z.array(step).max(MAX_ON_FAILURE_STEPS, `may have at most ${MAX_ON_FAILURE_STEPS} steps`).optional(),
});

/** A definition as stored and run. */
export type Definition = z.output<typeof definitionSchema>;
/** One step of a definition. */
export type Step = Definition['steps'][number];
/** One event binding of a definition. */
export type Binding = Definition['on'][number];
/** Per-step activity options. */
export type StepOptions = z.output<typeof stepOptionsSchema>;
