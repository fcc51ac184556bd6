/**
 * Telling "nobody answered" from "the service said no": a peer that cannot be
 * reached at all (refused, unresolvable, dropped) becomes a ConnectionError
 * naming the service and address, for every client call and every pusher; an
 * UNAVAILABLE answer from a reachable service stays an UnavailableError.
 */
import { status as Status } from '@grpc/grpc-js';
import { fromServiceError, UnavailableError, type RivuletError } from '../lib/errors.js';

/**
 * A peer could not be reached at all (refused, unresolvable, dropped). Raised
 * instead of a bare UnavailableError so that messages can say which service is
 * down; an UNAVAILABLE answer from a reachable service stays an UnavailableError.
 */
export class ConnectionError extends UnavailableError {
  override name = 'ConnectionError';
  constructor(
    readonly service: 'scheduler' | 'receiver',
    readonly address: string,
    cause: unknown,
  ) {
    super(`cannot reach the ${service} at ${address}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

// grpc-js reports transport failures as UNAVAILABLE with these details; a
// service refusing a request with UNAVAILABLE (e.g. no executors alive) does not match them.
const TRANSPORT_FAILURE = /No connection established|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|Name resolution failed|DNS resolution failed|failed to connect|Connection dropped|Socket closed/i;

/** Is `err` a transport failure (nobody answering), as opposed to a service's answer? */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const code = (err as { code?: unknown })?.code;
  if (code !== Status.UNAVAILABLE) return false;
  const details = (err as { details?: string }).details ?? (err as Error).message ?? '';
  if (TRANSPORT_FAILURE.test(details)) return true;
  // A typed error made by fromServiceError keeps the transport error as its cause.
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isConnectionFailure(cause);
}

/** The typed error for a failed call to `service` at `address`. */
export function typedCallError(err: unknown, service: 'scheduler' | 'receiver', address: string): RivuletError {
  if (isConnectionFailure(err)) return new ConnectionError(service, address, err);
  return fromServiceError(err);
}
