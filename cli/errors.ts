/**
 * The CLI's own expected failures (bad flags, no cluster state, nothing to
 * tail). They are printed as one line `rivulet <cmd>: <message>` and exit 1,
 * like gRPC errors; anything else is a bug and may show a stack with RIVULET_DEBUG=1.
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
