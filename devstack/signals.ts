/**
 * Runs `shutdown` once on the first SIGINT or SIGTERM and exits with `exitCode` afterwards. A second Ctrl-C while
 * shutting down is reported and otherwise ignored, so child processes are never orphaned by an impatient user.
 */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>, exitCode = 0): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write('[flow] still stopping; waiting for child processes to exit\n');
      return;
    }
    stopping = true;
    shutdown(signal).then(
      () => process.exit(exitCode),
      (error: unknown) => {
        process.stderr.write(`[flow] error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
