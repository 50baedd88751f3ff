/**
 * The shapes of names and durations in definitions, as plain patterns. They live apart from the definition's schema
 * (`definition.ts`) so that workflow code can use them without bundling zod: the worker evaluates every bundled
 * module once per workflow, and building the schemas was about a fifth of the worker's CPU per event.
 */

/** Definition ids: lowercase letters, digits and dashes; they appear in workflow ids and URLs. */
export const DEFINITION_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/** Step ids are CEL identifiers so later steps can write `steps.<id>.output`. */
export const STEP_ID = /^[a-z_][a-z0-9_]{0,62}$/;
/** Event sources and types, such as `jira` and `issue_transitioned`. */
export const EVENT_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** Action ids are `domain.verb`, such as `git.tag` or `slack.post_message`. */
export const ACTION_ID = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;
/** Durations as Temporal reads them: `500ms`, `30s`, `5m`, `2h`, `1d`. */
export const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/;

/** Temporal task queue names a step may route to: `deploys`, `payments.eu-1`. */
export const TASK_QUEUE = /^[A-Za-z0-9._-]{1,200}$/;
