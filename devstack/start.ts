import path from 'node:path';
import { dataDir, loadConfig, projectRoot, resolveApiToken, resolveSubscriptionLinkSecret, toolsDir } from '../config';
import { describeExit, isReadyMessage, ManagedProcess } from './managed-process';
import { loadExamplesOnce } from './load-examples';
import { consoleProgress } from './progress';
import { defaultServicesOptions, startServices, type RunningServices } from './services';
import { onShutdownSignal } from './signals';

/**
 * `npm start`: brings up the services that the environment does not provide, then a worker, then the gateway, and
 * stops all of them on Ctrl-C.
 */
async function main(): Promise<void> {
  const progress = consoleProgress;
  const data = dataDir();
  const config = loadConfig();
  const token = resolveApiToken(process.env, data);
  // The worker signs the links in notifications and the gateway checks them: both get the same secret, kept.
  const linkSecret = resolveSubscriptionLinkSecret(process.env, data);

  const children: ManagedProcess[] = [];
  let services: RunningServices | undefined;
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    progress.step('Stopping the gateway, the worker and the services');
    for (const child of children.reverse()) await child.stop();
    await services?.stop();
  };
  onShutdownSignal(stopAll);
  try {
    await startAll();
  } catch (error) {
    if (!stopping) await stopAll();
    throw error;
  }

  async function startAll(): Promise<void> {
    services = await startServices(defaultServicesOptions(process.env, data, toolsDir(), progress));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: services.temporal.address,
      MONGODB_URI: services.mongodb.uri,
      FLOW_API_TOKEN: token.token,
      FLOW_SUBSCRIPTION_LINK_SECRET: linkSecret.secret,
      PORT: String(config.gateway.port),
    };
    const spawnNode = (name: string, entry: string): ManagedProcess => {
      const logFile = path.join(data, 'logs', `${name}.log`);
      const child = ManagedProcess.start(
        name,
        process.execPath,
        ['--require', 'tsx/cjs', path.join(projectRoot, entry)],
        {
          env,
          cwd: projectRoot,
          output: { logFile, echo: terminalLine(name, path.relative(projectRoot, logFile)) },
          ipc: true,
        },
      );
      children.push(child);
      void child.exited.then(async (status) => {
        if (stopping) return;
        const tail = child.logTail(15);
        progress.warn(
          `${name} exited unexpectedly (${describeExit(status)}); stopping everything.` +
            (tail ? ` The last lines of ${path.relative(projectRoot, logFile)}:\n${tail}` : ''),
        );
        await stopAll();
        process.exit(1);
      });
      return child;
    };

    progress.step('Starting the worker');
    await spawnNode('worker', 'workers/main.ts').waitForMessage(isReadyMessage, 120_000);
    progress.step('Starting the gateway');
    await spawnNode('gateway', 'gateway/main.ts').waitForMessage(isReadyMessage, 60_000);

    const gatewayUrl = `http://localhost:${config.gateway.port}`;
    await loadExamplesOnce({
      examplesDir: path.join(projectRoot, 'examples'),
      dataDir: data,
      gatewayUrl,
      token: token.token,
      progress,
    });
    console.log('');
    console.log(`  Gateway       ${gatewayUrl}   (health: ${gatewayUrl}/healthz)`);
    console.log(`  Console       http://127.0.0.1:${config.gateway.port}/ui   (sign in with the API token below)`);
    if (services.temporal.uiUrl) console.log(`  Temporal UI   ${services.temporal.uiUrl}`);
    else console.log(`  Temporal      ${services.temporal.address} (external; use its own Web UI)`);
    console.log(`  MongoDB       ${services.mongodb.uri}  (${services.mongodb.origin})`);
    if (config.worker.metricsPort !== null) {
      console.log(
        `  Metrics       ${gatewayUrl}/metrics  (worker: http://localhost:${config.worker.metricsPort}/metrics)`,
      );
    }
    console.log(
      `  API token     ${token.token}${token.file ? `  (kept in ${path.relative(projectRoot, token.file)})` : ''}`,
    );
    console.log(`  Logs          ${path.relative(projectRoot, path.join(data, 'logs'))}/`);
    console.log('');
    console.log('Flow is running. Press Ctrl-C to stop.');
  }
}

/**
 * Which of a child's log lines the terminal shows: its own announcements (`[worker] polling …`) and errors. Request
 * logs (JSON, one per request) and the SDK's diagnostics go only to `.data/logs/<name>.log`, as the banner says.
 */
function terminalLine(name: string, logFile: string): (line: string) => string | undefined {
  return (line) => {
    if (line.startsWith(`[${name}]`)) return line;
    if (!line.startsWith('{')) return undefined;
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
      // pino's levels: 50 is error, 60 fatal.
      if (typeof entry.level === 'number' && entry.level >= 50) {
        const message =
          typeof entry.err?.message === 'string'
            ? entry.err.message
            : typeof entry.msg === 'string'
              ? entry.msg
              : 'see the log';
        return `[${name}] error: ${message} (details in ${logFile})`;
      }
    } catch {
      // Not JSON after all: the log file has it.
    }
    return undefined;
  };
}

main().catch((error: unknown) => {
  consoleProgress.warn(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
