/**
 * The CLI's own expected failures (bad flags, no cluster state, nothing to
 * tail). They are printed as one line `rivulet <cmd>: <message>` and exit 1,
 * like gRPC errors — except a bad flag or usage (FlagError, and commander's
 * usage errors), which exits 2 as Unix tools do; anything else is a bug and
 * may show a stack with RIVULET_DEBUG=1.
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Exit code of a usage error: a bad flag value, an unknown option, a missing argument. */
export const USAGE_EXIT_CODE = 2;

/** A flag value the CLI refuses; the message names the flag. Exits 2. */
export class FlagError extends CliError {
  override name = 'FlagError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, USAGE_EXIT_CODE, options);
  }
}
