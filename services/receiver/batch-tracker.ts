/**
 * The block → batch allocations of one stream (Spark's ReceivedBlockTracker,
 * in memory): which blocks each batch holds, whether each is still
 * replicating, stored (and where) or failed, and when a batch may be announced.
 *
 * A batch is announced (`announce`, which main.ts wires to NATS `batch.ready`)
 * once it is closed (its interval is over and every block was sealed) and every
 * one of its blocks is stored or failed. Batches are announced strictly in time
 * order: a later batch that finished replicating first waits for the earlier
 * one. Only stored blocks are announced; failed blocks were nacked to the
 * client, so nothing acknowledged is missing from the announcement.
 *
 * Announced batches are kept for GetBatchBlocks: the last `retainBatches` per
 * stream (older ones are forgotten, and lookups for them answer "unknown").
 *
 * After a restart, `restore` puts the batches recovered from the write-ahead
 * log (allocation-log.ts) back as announced, re-announcing those the previous
 * process had not announced.
 *
 * It must never: announce a batch twice, announce out of order, or announce a
 * block that was not stored.
 */
import type { BatchReadyMessage } from '../../lib/nats/subjects.js';

export interface StoredBlockRef {
  blockId: string;
  records: number;
  bytes: number;
  executorIds: string[];
}

type BlockState =
  | { blockId: string; records: number; bytes: number; state: 'replicating' }
  | { blockId: string; records: number; bytes: number; state: 'stored'; executorIds: string[] }
  | { blockId: string; records: number; bytes: number; state: 'failed' };

interface PendingBatch {
  batchTimeMs: number;
  closed: boolean;
  unresolved: number;
  blocks: BlockState[];
}

export interface BatchLookup {
  /** True once the batch was announced: its block list is final. */
  complete: boolean;
  /** Stored blocks only (while incomplete: those stored so far). */
  blocks: StoredBlockRef[];
}

export interface BatchTrackerOptions {
  stream: string;
  batchIntervalMs: number;
  /** Announced batches kept for lookups. */
  retainBatches: number;
  announce(message: BatchReadyMessage): void;
}

export class BatchTracker {
  /** Not yet announced, in time order (Map keeps insertion order; batches arrive in order). */
  private readonly pending = new Map<number, PendingBatch>();
  /** Announced, oldest first, at most retainBatches. */
  private readonly history = new Map<number, StoredBlockRef[]>();
  private lastAnnouncedMs: number | undefined;

  constructor(private readonly opts: BatchTrackerOptions) {}

  get lastAnnouncedBatchTimeMs(): number | undefined {
    return this.lastAnnouncedMs;
  }

  /** Batches not yet announced (open, closed but replicating). */
  get pendingBatches(): number {
    return this.pending.size;
  }

  blockSealed(batchTimeMs: number, blockId: string, records: number, bytes: number): void {
    const batch = this.batch(batchTimeMs);
    if (batch.closed) throw new Error(`block ${blockId} sealed into batch ${batchTimeMs} of '${this.opts.stream}' after it closed`);
    batch.blocks.push({ blockId, records, bytes, state: 'replicating' });
    batch.unresolved++;
  }

  /** A block's replication ended: stored on `executorIds`, or failed when that is undefined. */
  blockResolved(batchTimeMs: number, blockId: string, executorIds: string[] | undefined): void {
    const batch = this.pending.get(batchTimeMs);
    const i = batch ? batch.blocks.findIndex((b) => b.blockId === blockId) : -1;
    if (!batch || i < 0 || batch.blocks[i]!.state !== 'replicating') {
      throw new Error(`block ${blockId} of batch ${batchTimeMs} of '${this.opts.stream}' is not replicating`);
    }
    const { records, bytes } = batch.blocks[i]!;
    batch.blocks[i] = executorIds ? { blockId, records, bytes, state: 'stored', executorIds } : { blockId, records, bytes, state: 'failed' };
    batch.unresolved--;
    this.announceReady();
  }

  batchClosed(batchTimeMs: number): void {
    this.batch(batchTimeMs).closed = true;
    this.announceReady();
  }

  /**
   * A batch recovered from the write-ahead log: complete with `blocks` (its
   * logged, i.e. acked, blocks). Announced now unless `alreadyAnnounced`.
   * Only before any block of this tracker was sealed, in time order.
   */
  restore(batchTimeMs: number, blocks: StoredBlockRef[], alreadyAnnounced: boolean): void {
    if (this.pending.size > 0) throw new Error(`cannot restore batch ${batchTimeMs} of '${this.opts.stream}': batches are in progress`);
    if (this.lastAnnouncedMs !== undefined && batchTimeMs <= this.lastAnnouncedMs) {
      throw new Error(`batch ${batchTimeMs} of '${this.opts.stream}' restored out of order`);
    }
    this.lastAnnouncedMs = batchTimeMs;
    this.history.set(batchTimeMs, blocks);
    while (this.history.size > this.opts.retainBatches) this.history.delete(this.history.keys().next().value!);
    if (!alreadyAnnounced) {
      this.opts.announce({ stream: this.opts.stream, batchTimeMs, batchIntervalMs: this.opts.batchIntervalMs, blocks });
    }
  }

  /** The batch's allocation, or undefined when this tracker knows nothing of it. */
  lookup(batchTimeMs: number): BatchLookup | undefined {
    const pending = this.pending.get(batchTimeMs);
    if (pending) return { complete: false, blocks: storedOf(pending.blocks) };
    const announced = this.history.get(batchTimeMs);
    if (announced) return { complete: true, blocks: announced };
    return undefined;
  }

  private batch(batchTimeMs: number): PendingBatch {
    let batch = this.pending.get(batchTimeMs);
    if (!batch) {
      if (this.lastAnnouncedMs !== undefined && batchTimeMs <= this.lastAnnouncedMs) {
        throw new Error(`batch ${batchTimeMs} of '${this.opts.stream}' was already announced`);
      }
      batch = { batchTimeMs, closed: false, unresolved: 0, blocks: [] };
      this.pending.set(batchTimeMs, batch);
    }
    return batch;
  }

  private announceReady(): void {
    for (const batch of this.pending.values()) {
      if (!batch.closed || batch.unresolved > 0) break;
      const blocks = storedOf(batch.blocks);
      this.pending.delete(batch.batchTimeMs);
      this.lastAnnouncedMs = batch.batchTimeMs;
      this.history.set(batch.batchTimeMs, blocks);
      while (this.history.size > this.opts.retainBatches) this.history.delete(this.history.keys().next().value!);
      this.opts.announce({
        stream: this.opts.stream,
        batchTimeMs: batch.batchTimeMs,
        batchIntervalMs: this.opts.batchIntervalMs,
        blocks,
      });
    }
  }
}

function storedOf(blocks: BlockState[]): StoredBlockRef[] {
  const out: StoredBlockRef[] = [];
  for (const b of blocks) {
    if (b.state === 'stored') out.push({ blockId: b.blockId, records: b.records, bytes: b.bytes, executorIds: b.executorIds });
  }
  return out;
}
