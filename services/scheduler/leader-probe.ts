/**
 * Is anything still listening at a lease holder's address? A standby asks
 * once the lease has gone unrenewed for two renewals (leader-lease.ts): a
 * refused connection means the holder's process is gone (kill -9, crash) and
 * the standby need not wait out the lease; a slow or missing answer (a
 * paused process, a partition) proves nothing, so it waits.
 */
import { status as Status } from '@grpc/grpc-js';
import { dial, unary } from '../../lib/grpc/client.js';

export async function probeHolder(address: string, timeoutMs = 300): Promise<'gone' | 'alive' | 'unknown'> {
  const client = dial.health(address);
  try {
    await unary(client, client.check, { service: '' }, { timeoutMs });
    return 'alive';
  } catch (err) {
    return refused(err) ? 'gone' : 'unknown';
  } finally {
    client.close();
  }
}

/** A connection refused (nothing listens), as grpc-js reports it — directly or as a typed error's cause. */
function refused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const text = `${(e as { details?: string }).details ?? ''} ${(e as Error).message ?? ''}`;
    if (code === Status.UNAVAILABLE && /ECONNREFUSED/.test(text)) return true;
  }
  return false;
}
