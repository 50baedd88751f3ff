/**
 * Flow's runtime configuration. Every process (worker, gateway, dev launcher, tests) reads its settings here, from
 * environment variables with documented defaults, so a deployment of several workers and one gateway against
 * external services is configured exactly like the local stack. A bad value fails at start with a `ConfigError`
 * that names the variable and what to set.
 *
 * Two kinds of variables are read where they are used, by name patterns rather than fixed names, and documented
 * with their users: credentials and peer settings of actions (`FLOW_SECRET_*`, `JIRA_*`, `SLACK_*`, …; see
 * docs/actions.md), which actions read from the worker environment they are given, and webhook secrets
 * (`FLOW_WEBHOOK_SECRET_<SOURCE>`). Settings that actions read from that environment (`FLOW_WORKSPACE_DIR`,
 * `FLOW_GIT_ALLOW_FILE_URLS`) are parsed by the same functions exported here.
 */
export {
  loadConfig,
  ConfigError,
  DEFAULTS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  defaultWorkspaceBase,
  parseAllowUnsigned,
  parseShutdownGrace,
  parseFlag,
  parsePort,
  parseSubscriptionLinks,
  parseWorkerWorkflows,
  parseWorkspaceDir,
  redactUri,
  workerIdentity,
} from './load-config';
export type { FlowConfig, HttpLogLevel, SubscriptionLinkSettings } from './load-config';
export { parseActionPacks } from './action-packs';
export { MAIN_TOKEN_NAME, parseApiTokens } from './api-tokens';
export type { Scope, ScopedToken } from './api-tokens';
export { resolveApiToken } from './api-token';
export { resolveSubscriptionLinkSecret } from './subscription-link-secret';
export { projectRoot, dataDir, toolsDir } from './paths';
