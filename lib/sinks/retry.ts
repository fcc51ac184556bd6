/**
 * Retries of one sink write: an attempt that fails with a retryable error
 * (the database or NATS unreachable, a connection dropped, a server starting
 * up or shutting down) is tried again after an exponential backoff, until
 * the budget `retryTimeoutMs` since the first attempt is spent; then the
 * last error fails the write. A terminal error (a missing table, a record
 * that is not a row, a stream whose duplicate window is too short) fails at
 * once: trying again could not help. Every attempt is whole and idempotent
 * (the sinks deduplicate a batch written twice), so a retry after an unclear
 * failure — a COMMIT whose answer was lost — is safe.
 *
 * The clock is injected (sleep and now) so the unit test steps it.
 */
import { errorMessage } from '../errors.js';

/** A sink write failed. `retryable`: a later attempt may succeed. */
export class SinkError extends Error {
  override readonly name = 'SinkError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RetryPolicy {
  /** The whole budget of one write, first attempt included (sinkRetryTimeout). */
  retryTimeoutMs: number;
  /** The first backoff; doubled after each failure (sinkRetryBackoff). */
  backoffMs: number;
  /** The longest backoff. */
  maxBackoffMs: number;
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemRetryClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryOutcome<T> {
  value: T;
  /** Attempts that failed before the one that succeeded. */
  retries: number;
}

/**
 * Run `attempt` until it succeeds, fails terminally, or the budget is spent.
 * `classify` turns any error into a SinkError (retryable or not); `onRetry`
 * hears of each failure that will be retried.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  classify: (err: unknown) => SinkError,
  onRetry: (err: SinkError, attempt: number, backoffMs: number) => void,
  clock: RetryClock = systemRetryClock,
): Promise<RetryOutcome<T>> {
  const start = clock.now();
  let backoff = policy.backoffMs;
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), retries: n - 1 };
    } catch (e) {
      const err = e instanceof SinkError ? e : classify(e);
      const left = policy.retryTimeoutMs - (clock.now() - start);
      if (!err.retryable) throw err;
      if (left <= 0) {
        throw new SinkError(`${err.message} (gave up after ${n} attempts in ${clock.now() - start} ms: sinkRetryTimeout is ${policy.retryTimeoutMs} ms)`, false, { cause: err });
      }
      const wait = Math.min(backoff, policy.maxBackoffMs, left);
      onRetry(err, n, wait);
      await clock.sleep(wait);
      backoff = Math.min(backoff * 2, policy.maxBackoffMs);
    }
  }
}

/** Node socket errors that mean "not reachable now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * PostgreSQL errors worth another attempt: connection exceptions (08…),
 * operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03
 * cannot connect now), insufficient resources (53…: too many connections),
 * serialization failures and deadlocks (40001, 40P01), and the driver's own
 * "Connection terminated" / timeouts (no SQLSTATE). Everything with another
 * SQLSTATE (a missing table or column, a constraint, bad data) is terminal.
 */
export function classifyPostgresError(err: unknown, sink: string): SinkError {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = `${sink}: ${errorMessage(err)}${code ? ` (${code})` : ''}`;
  if (code === undefined) return new SinkError(message, true, { cause: err });
  if (NETWORK_CODES.has(code)) return new SinkError(message, true, { cause: err });
  if (code.startsWith('08') || code.startsWith('53') || code === '57P01' || code === '57P02' || code === '57P03' || code === '40001' || code === '40P01') {
    return new SinkError(message, true, { cause: err });
  }
  return new SinkError(message, false, { cause: err });
}
