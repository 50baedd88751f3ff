/**
 * Flow's runtime configuration. Every process (worker, gateway, dev launcher, tests) reads its settings here, from
 * environment variables with documented defaults, so a deployment of several workers and one gateway against
 * external services is configured exactly like the local stack.
 */
export { loadConfig, ConfigError, DEFAULTS, parsePort, redactUri } from './load-config';
export type { FlowConfig } from './load-config';
export { resolveApiToken } from './api-token';
export { projectRoot, dataDir, toolsDir } from './paths';
