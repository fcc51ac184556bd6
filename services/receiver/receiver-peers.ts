/**
 * What one receiver knows of the others (README "Several receivers"): which
 * receivers are live, from their heartbeats on NATS `rivulet.receiver.heartbeat.<id>`
 * (silent for `timeoutMs` = gone), so that each enforces its share of a
 * stream's ingest rate limit (limit ÷ live receivers, itself included); and the
 * final, merged block list of each batch as the scheduler published it on NATS
 * `batch.inputs`, kept (the last `retainBatches` per stream) to answer
 * GetBatchBlocks(merged) — the executors' fallback for a planned batch whose
 * batch.inputs they missed.
 *
 * It must never: count itself twice, or answer a merged list it has not seen
 * (a batch not seen yet is "not known", never "empty").
 */
import type { StoredBlockRef } from './batch-tracker.js';

export interface ReceiverPeersOptions {
  selfId: string;
  /** A receiver silent this long is gone (receiverTimeout). */
  timeoutMs: number;
  /** Merged batches kept per stream. */
  retainBatches: number;
}

export class ReceiverPeers {
  /** Other receivers by id: when each was last heard. */
  private readonly lastSeen = new Map<string, number>();
  private readonly merged = new Map<string, Map<number, StoredBlockRef[]>>();

  constructor(private readonly opts: ReceiverPeersOptions) {}

  /** A heartbeat. Returns true when the number of live receivers changed. */
  observe(receiverId: string, nowMs: number): boolean {
    if (receiverId === this.opts.selfId) return false;
    const before = this.liveCount(nowMs);
    this.lastSeen.set(receiverId, nowMs);
    return this.liveCount(nowMs) !== before;
  }

  /** Forget receivers silent longer than the timeout. Returns true when some were. */
  expire(nowMs: number): boolean {
    let changed = false;
    for (const [id, at] of this.lastSeen) {
      if (nowMs - at > this.opts.timeoutMs) {
        this.lastSeen.delete(id);
        changed = true;
      }
    }
    return changed;
  }

  /** Live receivers, this one included (at least 1). */
  liveCount(nowMs: number): number {
    let n = 1;
    for (const at of this.lastSeen.values()) if (nowMs - at <= this.opts.timeoutMs) n++;
    return n;
  }

  /** The scheduler's final block list of a batch (NATS batch.inputs). */
  mergedSeen(stream: string, batchTimeMs: number, blocks: StoredBlockRef[]): void {
    let byTime = this.merged.get(stream);
    if (!byTime) this.merged.set(stream, (byTime = new Map<number, StoredBlockRef[]>()));
    if (byTime.has(batchTimeMs)) return;
    byTime.set(batchTimeMs, blocks);
    while (byTime.size > this.opts.retainBatches) byTime.delete(byTime.keys().next().value!);
  }

  mergedOf(stream: string, batchTimeMs: number): StoredBlockRef[] | undefined {
    return this.merged.get(stream)?.get(batchTimeMs);
  }
}
