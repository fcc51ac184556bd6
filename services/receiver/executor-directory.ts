/**
 * Which executors are alive, as the receiver sees them, and where the next
 * block's replicas should go.
 *
 * Liveness comes only from heartbeats (NATS `executor.heartbeat.*`): an
 * executor is alive while its last heartbeat arrived less than
 * `executorTimeoutMs` ago, measured on this process's clock (the heartbeat's
 * own sentAtMs is not trusted: clocks of different hosts disagree). A heartbeat
 * with a higher epoch is a new incarnation of the executor and replaces the old
 * one; a heartbeat with a lower epoch is a late message from a dead incarnation
 * and is ignored. The scheduler's `executor.lost` removes an incarnation at once
 * and fences it: the receiver follows the scheduler's judgement, so later
 * heartbeats of that incarnation (a paused executor that has not learned it
 * was lost yet) do not bring it back; its next incarnation (a higher epoch,
 * after it rejoins) is a new executor here too.
 *
 * Placement picks distinct executors, preferring (1) ones no PutBlock recently
 * failed on, (2) the most free block-store capacity, counting bytes this
 * receiver placed there since its last heartbeat so back-to-back blocks spread
 * out between heartbeats, and (3) round-robin among equals.
 *
 * It must never: hand out an expired executor or the same executor twice for
 * one block.
 */
import type { Clock } from '../../lib/clock.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';

export interface ExecutorInfo {
  executorId: string;
  epoch: number;
  address: string;
  host: string;
  lastSeenMs: number;
  blockBytes: number;
  /** 0 when the executor does not report a bound. */
  blockCapacityBytes: number;
  /** Bytes this receiver placed on it since its last heartbeat. */
  placedBytes: number;
  /** A PutBlock to it failed; avoid it until then unless nothing else is alive. */
  suspectUntilMs: number;
}

export type ObserveResult = 'new' | 'updated' | 'replaced' | 'stale';

export interface ExecutorDirectoryOptions {
  clock: Clock;
  /** An executor without a heartbeat for this long is not alive. */
  executorTimeoutMs: number;
  /** How long an executor is avoided after a failed PutBlock. @default executorTimeoutMs */
  suspectMs?: number;
}

export interface PlacementRequest {
  /** How many executors are wanted. */
  count: number;
  /** Size of the block, counted against the chosen executors' free capacity. */
  bytes: number;
  /** Executors already holding (or already tried for) this block. */
  exclude?: ReadonlySet<string>;
}

export class ExecutorDirectory {
  private readonly executors = new Map<string, ExecutorInfo>();
  /** The highest epoch the scheduler declared lost, per executor id, and when we heard it. */
  private readonly fenced = new Map<string, { epoch: number; atMs: number }>();
  private rotation = 0;
  private readonly lostListeners = new Set<(executorId: string, epoch: number) => void>();

  constructor(private readonly opts: ExecutorDirectoryOptions) {}

  observe(hb: HeartbeatMessage): ObserveResult {
    const now = this.opts.clock.now();
    const known = this.executors.get(hb.executorId);
    const epoch = Number(hb.epoch);
    if (known && epoch < known.epoch) return 'stale';
    const fence = this.fenced.get(hb.executorId);
    if (fence && epoch <= fence.epoch) return 'stale';
    const result: ObserveResult = !known ? 'new' : epoch > known.epoch ? 'replaced' : 'updated';
    this.executors.set(hb.executorId, {
      executorId: hb.executorId,
      epoch,
      address: hb.address,
      host: hb.host,
      lastSeenMs: now,
      blockBytes: Math.max(0, Number(hb.blockBytes) || 0),
      blockCapacityBytes: Math.max(0, Number(hb.blockCapacityBytes) || 0),
      placedBytes: 0,
      // A new incarnation starts with a clean record; the same one keeps its suspicion.
      suspectUntilMs: result === 'updated' ? known!.suspectUntilMs : 0,
    });
    this.prune(now);
    return result;
  }

  /** The scheduler declared this incarnation (or an older one) lost. */
  lost(executorId: string, epoch: number): void {
    const known = this.executors.get(executorId);
    if (known && known.epoch <= Number(epoch)) this.executors.delete(executorId);
    const fence = this.fenced.get(executorId);
    if (!fence || fence.epoch < Number(epoch)) this.fenced.set(executorId, { epoch: Number(epoch), atMs: this.opts.clock.now() });
    for (const listener of [...this.lostListeners]) listener(executorId, Number(epoch));
  }

  /** Be told of every `executor.lost` (the replicator abandons puts in flight to that incarnation); returns the unsubscribe. */
  onLost(listener: (executorId: string, epoch: number) => void): () => void {
    this.lostListeners.add(listener);
    return () => void this.lostListeners.delete(listener);
  }

  /** Whether the scheduler declared this incarnation (or a later one) lost. */
  isFenced(executorId: string, epoch: number): boolean {
    const fence = this.fenced.get(executorId);
    return !!fence && Number(epoch) <= fence.epoch;
  }

  /** A PutBlock to this incarnation failed: prefer others for a while. */
  markFailed(executorId: string, epoch: number): void {
    const known = this.executors.get(executorId);
    if (known && known.epoch === epoch) known.suspectUntilMs = this.opts.clock.now() + (this.opts.suspectMs ?? this.opts.executorTimeoutMs);
  }

  isAlive(executorId: string): boolean {
    const e = this.executors.get(executorId);
    return !!e && this.opts.clock.now() - e.lastSeenMs < this.opts.executorTimeoutMs;
  }

  /** Alive executors, sorted by id. */
  alive(): ExecutorInfo[] {
    const now = this.opts.clock.now();
    const out: ExecutorInfo[] = [];
    for (const e of this.executors.values()) if (now - e.lastSeenMs < this.opts.executorTimeoutMs) out.push(e);
    return out.sort((a, b) => (a.executorId < b.executorId ? -1 : a.executorId > b.executorId ? 1 : 0));
  }

  /**
   * Choose up to `count` distinct alive executors for a block and count the
   * block against them. Returns fewer when fewer are alive (possibly none).
   */
  choose(req: PlacementRequest): ExecutorInfo[] {
    const now = this.opts.clock.now();
    const candidates = this.alive().filter((e) => !req.exclude?.has(e.executorId));
    if (candidates.length === 0 || req.count <= 0) return [];
    // Rotate first, then a stable sort: equal candidates keep the rotated order,
    // so ties are broken round-robin across calls.
    const start = this.rotation++ % candidates.length;
    const rotated = candidates.slice(start).concat(candidates.slice(0, start));
    rotated.sort((a, b) => {
      const sa = a.suspectUntilMs > now ? 1 : 0;
      const sb = b.suspectUntilMs > now ? 1 : 0;
      if (sa !== sb) return sa - sb;
      return freeBytes(b) - freeBytes(a);
    });
    const chosen = rotated.slice(0, req.count);
    for (const e of chosen) e.placedBytes += req.bytes;
    return chosen;
  }

  /** Forget executors silent for much longer than the timeout, so the map stays bounded. */
  private prune(now: number): void {
    const horizon = 10 * this.opts.executorTimeoutMs;
    for (const [id, e] of this.executors) if (now - e.lastSeenMs > horizon) this.executors.delete(id);
    for (const [id, f] of this.fenced) if (now - f.atMs > horizon) this.fenced.delete(id);
  }
}

/**
 * Estimated free block-store bytes. Executors that report no capacity sort
 * below those that do, ordered among themselves by what we just placed there.
 */
function freeBytes(e: ExecutorInfo): number {
  return e.blockCapacityBytes > 0 ? e.blockCapacityBytes - e.blockBytes - e.placedBytes : -e.placedBytes;
}
