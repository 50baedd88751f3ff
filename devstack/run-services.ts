import { dataDir, toolsDir } from '../config';
import { consoleProgress } from './progress';
import { defaultServicesOptions, startServices } from './services';
import { onShutdownSignal } from './signals';

/** `npm run services`: brings up only the local Temporal and MongoDB, in the foreground, until Ctrl-C. */
async function main(): Promise<void> {
  const services = await startServices(defaultServicesOptions(process.env, dataDir(), toolsDir(), consoleProgress));
  onShutdownSignal(async () => {
    consoleProgress.step('Stopping services');
    await services.stop();
  });
  console.log('');
  console.log(`  Temporal      ${services.temporal.address}  (${services.temporal.origin})`);
  if (services.temporal.uiUrl) console.log(`  Temporal UI   ${services.temporal.uiUrl}`);
  console.log(`  MongoDB       ${services.mongodb.uri}  (${services.mongodb.origin})`);
  console.log('');
  console.log(
    'Services are up. Run `npm run start:worker` and `npm run start:gateway` in other terminals; Ctrl-C stops.',
  );
}

main().catch((error: unknown) => {
  consoleProgress.warn(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
