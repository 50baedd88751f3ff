/** Where the launcher reports what it is doing; tests pass a silent or collecting reporter. */
export interface Progress {
  step(message: string): void;
  warn(message: string): void;
}

/** Prints progress lines to stderr with a `[flow]` prefix, leaving stdout to the processes' own output. */
export const consoleProgress: Progress = {
  step: (message) => process.stderr.write(`[flow] ${message}\n`),
  warn: (message) => process.stderr.write(`[flow] warning: ${message}\n`),
};

/** A reporter that prints nothing. */
export const silentProgress: Progress = { step: () => undefined, warn: () => undefined };
