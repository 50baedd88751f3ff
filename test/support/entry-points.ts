import path from 'node:path';
import { projectRoot } from '../../config';
import { ManagedProcess, type OutputMode } from '../../devstack/managed-process';
import { testConfig } from './stack';

/**
 * Starts one of Flow's entry points as its own process, exactly as `npm start` runs it, against the test services;
 * `env` adds to or replaces their settings. Resolve readiness with `waitForMessage(isReadyMessage, …)`.
 */
export function startEntryPoint(
  entry: 'workers/main.ts' | 'gateway/main.ts',
  env: Readonly<Record<string, string>>,
  output: OutputMode,
): ManagedProcess {
  const config = testConfig();
  return ManagedProcess.start(
    path.basename(path.dirname(entry)),
    process.execPath,
    ['--require', 'tsx/cjs', path.join(projectRoot, entry)],
    {
      cwd: projectRoot,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: config.temporal.address,
        TEMPORAL_NAMESPACE: config.temporal.namespace,
        MONGODB_URI: config.mongodb.uri,
        FLOW_LOG_LEVEL: 'ERROR',
        FLOW_WORKER_METRICS_PORT: 'off',
        FLOW_WORKSPACE_SWEEP_MINUTES: 'off',
        ...env,
      },
      output,
      ipc: true,
    },
  );
}
