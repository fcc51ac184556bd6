/**
 * Every typed error of Rivulet, and the one place that decides which gRPC
 * status each maps to and whether a caller may retry it. Services throw these
 * from domain code; server.ts files turn them into statuses with `toServiceError`;
 * clients turn statuses back into them with `fromServiceError`.
 */
import { status as Status, Metadata, type ServiceError } from '@grpc/grpc-js';

export class RivuletError extends Error {
  override name = 'RivuletError';
  /** The gRPC status code this error travels as. */
  readonly code: Status = Status.INTERNAL;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The request is malformed or names something impossible. Never retried. */
export class InvalidArgumentError extends RivuletError {
  override name = 'InvalidArgumentError';
  override readonly code = Status.INVALID_ARGUMENT;
}

/** A job, stream, output, block or batch that does not exist. */
export class NotFoundError extends RivuletError {
  override name = 'NotFoundError';
  override readonly code = Status.NOT_FOUND;
}

/** A configured bound (bytes, queue length, message size) would be exceeded. Retryable: the bound may free up. */
export class ResourceExhaustedError extends RivuletError {
  override name = 'ResourceExhaustedError';
  override readonly code = Status.RESOURCE_EXHAUSTED;
  /** How long the caller should wait before retrying; travels as metadata `retry-after-ms` (RETRY_AFTER_KEY). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs ?? retryAfterMsOf(options?.cause);
  }
}

/** The metadata key of a RESOURCE_EXHAUSTED status's retry hint, in milliseconds. */
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** The retry hint of an error: a typed error's `retryAfterMs`, or a gRPC status's `retry-after-ms` metadata. */
export function retryAfterMsOf(err: unknown): number | undefined {
  const typed = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof typed === 'number' && Number.isFinite(typed) && typed >= 0) return typed;
  const md = (err as { metadata?: unknown } | undefined)?.metadata;
  if (!(md instanceof Metadata)) return undefined;
  const v = Number(md.get(RETRY_AFTER_KEY)[0]);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Nothing can serve the request right now (no executors alive, peer down). Retryable. */
export class UnavailableError extends RivuletError {
  override name = 'UnavailableError';
  override readonly code = Status.UNAVAILABLE;
}

/** The system is not in a state that allows the request (e.g. job already failed). */
export class FailedPreconditionError extends RivuletError {
  override name = 'FailedPreconditionError';
  override readonly code = Status.FAILED_PRECONDITION;
}

/**
 * Work was abandoned for good: the job failed (its code keeps throwing, it fell
 * too far behind, ...). Rivulet answers ABORTED only for that — WatchOutput of a
 * failed job, and the test driver's RunBatch of a failed batch — so it is final,
 * never retried: the same request would only fail again. (gRPC reserves ABORTED
 * for conflicts a caller resolves by redoing a whole read-modify-write at a
 * higher level, which is never a blind retry of the one call either.)
 */
export class AbortedError extends RivuletError {
  override name = 'AbortedError';
  override readonly code = Status.ABORTED;
}

export class AlreadyExistsError extends RivuletError {
  override name = 'AlreadyExistsError';
  override readonly code = Status.ALREADY_EXISTS;
}

/** The caller is known but may not do this (access rules, lib/security/). Never retried. */
export class PermissionDeniedError extends RivuletError {
  override name = 'PermissionDeniedError';
  override readonly code = Status.PERMISSION_DENIED;
}

/** The caller presented no valid credential (missing, unknown, expired). Never retried. */
export class UnauthenticatedError extends RivuletError {
  override name = 'UnauthenticatedError';
  override readonly code = Status.UNAUTHENTICATED;
}

/** Configuration that cannot work. Services exit with a clear message on it. */
export class ConfigError extends RivuletError {
  override name = 'ConfigError';
  override readonly code = Status.INVALID_ARGUMENT;
}

/**
 * Codes a client may retry on another attempt (possibly on another peer):
 * transient conditions only. Every other code — INVALID_ARGUMENT, NOT_FOUND,
 * FAILED_PRECONDITION, ABORTED (a failed job), ALREADY_EXISTS, INTERNAL, … — is
 * final. Whether a given call is retried at all is the caller's `attempts`
 * (lib/grpc/client.ts `unary`; 1, no retry, unless it says otherwise).
 */
export const RETRYABLE_CODES: ReadonlySet<Status> = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED]);

export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' && RETRYABLE_CODES.has(code);
}

/** Turn any thrown value into something a gRPC handler can pass to its callback. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof RivuletError) {
    const metadata = new Metadata();
    if (err instanceof ResourceExhaustedError && err.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_KEY, String(Math.ceil(err.retryAfterMs)));
    return { code: err.code, details: err.message, message: err.message, metadata };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && code >= 0 && code <= 16) {
    const details = (err as { details?: string }).details ?? (err as Error).message;
    return { code, details, message: details, metadata: new Metadata() };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: Status.INTERNAL, details: `internal error: ${message}`, message, metadata: new Metadata() };
}

const BY_CODE: Partial<Record<Status, new (m: string, o?: { cause?: unknown }) => RivuletError>> = {
  [Status.INVALID_ARGUMENT]: InvalidArgumentError,
  [Status.NOT_FOUND]: NotFoundError,
  [Status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [Status.UNAVAILABLE]: UnavailableError,
  [Status.FAILED_PRECONDITION]: FailedPreconditionError,
  [Status.ABORTED]: AbortedError,
  [Status.ALREADY_EXISTS]: AlreadyExistsError,
  [Status.PERMISSION_DENIED]: PermissionDeniedError,
  [Status.UNAUTHENTICATED]: UnauthenticatedError,
};

/** Turn a gRPC client error back into the typed error, keeping the status code. */
export function fromServiceError(err: unknown): RivuletError {
  if (err instanceof RivuletError) return err;
  const code = (err as { code?: number })?.code;
  const details = (err as { details?: string })?.details || (err as Error)?.message || String(err);
  const Ctor = code !== undefined ? BY_CODE[code as Status] : undefined;
  if (Ctor) return new Ctor(details, { cause: err });
  const e = new RivuletError(details, { cause: err });
  if (typeof code === 'number') (e as { code: Status }).code = code;
  return e;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
