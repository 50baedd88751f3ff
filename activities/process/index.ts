/**
 * Running local tools for actions (builds, rsync): argv without a shell, a bounded tail of the output for heartbeats
 * and failure messages, and the process group ended on timeout or cancellation. Also the schemas and checks for the
 * values actions hand to those tools.
 */
export { CommandStartError, DEFAULT_PATH, runCommand } from './run-command';
export type { CommandResult, RunCommandOptions } from './run-command';
export { OutputTail, TAIL_MAX_BYTES, TAIL_MAX_LINES, lastLines } from './output-tail';
export type { OutputStream } from './output-tail';
export { absolutePath, displayCommand, duration, durationMs, pickEnvironment, requireLocalPath } from './arguments';
