/**
 * The typed errors of lib/process. A child that does not become ready is one
 * error with the reason and the tail of its output, so a caller can decide
 * (e.g. "the port was taken: retry") without parsing a message, and a person
 * reading the message sees why the child failed without opening a log.
 */

/** Why a supervised child did not become ready. */
export type StartFailure =
  /** The executable could not be run at all (e.g. not installed). */
  | 'spawn-failed'
  /** The child exited before its readiness check passed. */
  | 'exited'
  /** The readiness check did not pass before the deadline (the child has been killed). */
  | 'timeout'
  /** The readiness check itself threw (the child has been killed). */
  | 'check-failed';

export class ChildStartError extends Error {
  override name = 'ChildStartError';
  constructor(
    message: string,
    readonly details: {
      /** The child's display name ("lineage", "nats-server"). */
      child: string;
      reason: StartFailure;
      /** The tail of the child's output (stdout and stderr). */
      output: string;
      exitCode?: number | null;
      signal?: NodeJS.Signals | null;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Did the child fail because its listening port was taken? Node reports
 * `EADDRINUSE` (grpc-js: "No address added … EADDRINUSE"), Go programs such as
 * nats-server "bind: address already in use".
 */
export function isAddressInUse(err: unknown): boolean {
  return err instanceof ChildStartError && err.details.reason === 'exited' && /EADDRINUSE|address already in use/.test(err.details.output);
}
