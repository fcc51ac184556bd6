/**
 * Ports for local processes, without races where it can be helped.
 *
 * The race-free way is to let the child bind port 0 and report the port it got
 * (services log `{"msg":"listening","address":…}`, nats-server started with
 * `-p -1` logs "Listening for client connections on …"): lib/process and
 * lib/cluster do that wherever the address is not needed before the child
 * starts. `freePort()` probes a port that is free *now*; another process may
 * take it before the child binds it, so it is only for a port that must be
 * known in advance (the receiver's, which the scheduler is given at start;
 * a test that configures a metrics port). Such a launch, and a restart that
 * must keep its port (a restarted receiver keeps its address), goes through
 * `retryWhileAddressInUse`, which starts the child again with backoff while
 * the bind fails with EADDRINUSE.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAddressInUse } from './errors.js';

/** The lowest port `freePort` hands out (below it: well-known and commonly configured ports). */
const LOWEST_PROBED_PORT = 10_000;
/** Random ports tried below the ephemeral range before falling back to one the kernel picks. */
const PROBES = 50;

/**
 * The kernel's range for the local ports of outgoing connections (Linux), if known. A port
 * bound to 0 comes from this range too, so one probed free there can be taken, before the
 * child binds it, by any outgoing connection — and held for as long as that connection
 * lives (a cluster's gRPC and NATS connections live as long as the cluster): a receiver's
 * start then retried for its whole timeout against a port an executor's channel held.
 */
function ephemeralRange(): { low: number; high: number } | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low! > 0 && high! >= low! ? { low: low!, high: high! } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A loopback port that is free at this moment: a random one below the kernel's ephemeral
 * range where that is known (no outgoing connection takes those), else one the kernel picks
 * (bound to 0, read, closed).
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  if (range && range.low - 1 > LOWEST_PROBED_PORT) {
    for (let i = 0; i < PROBES; i++) {
      const port = LOWEST_PROBED_PORT + Math.floor(Math.random() * (range.low - LOWEST_PROBED_PORT));
      if (await isPortFree(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Can `port` be bound on 127.0.0.1 at this moment? */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export interface AddressInUseRetry {
  /** Give up (rethrowing the last EADDRINUSE failure) after this long. @default 15000 */
  timeoutMs?: number;
  /** First wait; doubles up to `maxDelayMs`. @default 100 */
  initialDelayMs?: number;
  /** @default 2000 */
  maxDelayMs?: number;
  /** Told about each retry (e.g. to log it). */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

/**
 * Run `start` (which launches a child on a fixed port and waits until it is
 * ready) again with exponential backoff while it fails because the port is
 * taken, e.g. right after `kill -9` of the previous holder or when a probed
 * port was taken in between. Any other failure is rethrown at once.
 */
export async function retryWhileAddressInUse<T>(start: () => Promise<T>, opts: AddressInUseRetry = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let delay = opts.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!isAddressInUse(e) || Date.now() + delay > deadline) throw e;
      opts.onRetry?.(attempt, delay, e);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 2000);
    }
  }
}
