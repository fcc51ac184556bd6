/**
 * gRPC clients to peers, one per address, that do not pile up with churn:
 * a client is closed when its peer is declared lost (`peerLost`, by the
 * executor id that used it) or when it has carried no call for
 * `idleTimeoutMs` (executors replaced with new addresses by an autoscaler
 * leave nothing behind). A closed address is simply dialled again on its next
 * use. Calls in flight keep their client open: `use` counts them.
 *
 * It never retries or judges peers; callers (peer-fetcher.ts,
 * block-replicator.ts) do.
 */
import type { Clock, TimerHandle } from '../clock.js';

interface Entry<C> {
  client: C;
  inFlight: number;
  lastUsedMs: number;
  /** Executor ids that reached this address (a restarted executor may keep its address). */
  peers: Set<string>;
}

export interface ChannelPoolOptions<C> {
  dial: (address: string) => C;
  close: (client: C) => void;
  clock: Clock;
  /** Close a client idle this long; 0 = never for idleness. */
  idleTimeoutMs: number;
}

export class ChannelPool<C> {
  private readonly entries = new Map<string, Entry<C>>();
  private sweep: TimerHandle | undefined;

  constructor(private readonly opts: ChannelPoolOptions<C>) {}

  /** Open clients (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  addresses(): string[] {
    return [...this.entries.keys()];
  }

  /** Run `call` with the client of `address` (dialled if needed), reached as peer `peerId`. */
  async use<T>(address: string, peerId: string, call: (client: C) => Promise<T>): Promise<T> {
    let e = this.entries.get(address);
    if (!e) {
      e = { client: this.opts.dial(address), inFlight: 0, lastUsedMs: this.opts.clock.now(), peers: new Set() };
      this.entries.set(address, e);
      this.armSweep();
    }
    e.peers.add(peerId);
    e.inFlight++;
    try {
      return await call(e.client);
    } finally {
      e.inFlight--;
      e.lastUsedMs = this.opts.clock.now();
    }
  }

  /** The peer was declared lost: close every client it was reached through (calls in flight fail as they would anyway). */
  peerLost(peerId: string): void {
    for (const [address, e] of this.entries) if (e.peers.has(peerId)) this.drop(address, e);
  }

  closeAll(): void {
    for (const [address, e] of this.entries) this.drop(address, e);
    if (this.sweep) this.opts.clock.clearTimeout(this.sweep);
    this.sweep = undefined;
  }

  /** Close clients idle past the timeout; re-armed while any client is open. */
  private armSweep(): void {
    if (this.sweep || this.opts.idleTimeoutMs <= 0) return;
    this.sweep = this.opts.clock.setTimeout(() => {
      this.sweep = undefined;
      const now = this.opts.clock.now();
      for (const [address, e] of this.entries) {
        if (e.inFlight === 0 && now - e.lastUsedMs >= this.opts.idleTimeoutMs) this.drop(address, e);
      }
      if (this.entries.size > 0) this.armSweep();
    }, Math.max(1, Math.ceil(this.opts.idleTimeoutMs / 2)));
  }

  private drop(address: string, e: Entry<C>): void {
    this.entries.delete(address);
    this.opts.close(e.client);
  }
}
