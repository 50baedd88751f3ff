/**
 * Git support for the `git.*` actions: the workspace cache (one bare mirror per repository, one worktree per run),
 * the input schemas that keep event data from ever becoming a git option or a shell word, ticket patterns that
 * cannot run away, and the editors for version files.
 */
export { branchName, isSafeRefName, refName, repositoryUrl, tagPrefix, version, versionFilePath } from './inputs';
export { compileTicketPattern, findTickets, ticketPatternProblem } from './ticket-pattern';
export { setVersion, VersionFileError } from './version-files';
export { gitFailure, Mirror, mirrorDir, runDir, withMirror, workspaceDir, Worktree, worktreeDir } from './workspace';
export type { RefTarget, WorkerEnv, WorkspaceOptions } from './workspace';
export { SWEEP_GRACE_MS, sweepWorkspace } from './workspace-sweep';
export { lockWorkspace, removeEndedWorkspaces, WORKSPACE_LOCK_FILE, WorkspaceInUseError } from './workspace-lock';
export type { WorkspaceLock } from './workspace-lock';
export type { SweepOptions, SweepResult } from './workspace-sweep';
export { GIT_ENV } from './workspace';
