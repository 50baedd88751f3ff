/** Exit codes of flowctl, which scripts branch on (docs/flowctl.md#exit-codes). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  invalid: 3,
  notFound: 4,
  unauthorized: 5,
  unreachable: 6,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error flowctl reports on stderr and exits with: what went wrong, and what to do about it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    /** Field problems of a server's problem+json (`errors: [{path, message, line?}]`), printed one per line. */
    readonly problems: readonly { readonly path: string; readonly message: string; readonly line?: number }[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage mistake (exit 2): a missing flag, a malformed argument. */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, EXIT.usage, hint);
}
