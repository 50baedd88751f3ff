import path from 'node:path';
import { dataDir, loadConfig, projectRoot, resolveApiToken, toolsDir } from '../config';
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
      PORT: String(config.gateway.port),
    };
    const spawnNode = (name: string, entry: string): ManagedProcess => {
      const child = ManagedProcess.start(
        name,
        process.execPath,
        ['--require', 'tsx/cjs', path.join(projectRoot, entry)],
        {
          env,
          cwd: projectRoot,
          output: { prefix: '' },
          ipc: true,
        },
      );
      children.push(child);
      void child.exited.then(async (status) => {
        if (stopping) return;
        progress.warn(`${name} exited unexpectedly (${describeExit(status)}); stopping everything.`);
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

main().catch((error: unknown) => {
  consoleProgress.warn(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
