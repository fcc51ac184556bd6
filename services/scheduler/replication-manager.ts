/**
 * Keeps every input block and cached partition at its number of copies
 * (Spark's BlockManagerMaster replication): after an executor loss, each
 * input block some batch still needs is copied from a surviving replica to
 * the executor holding the fewest blocks, and each cached partition gets its
 * second copy back; new copies are recorded here and in lineage once the
 * target confirms (`blocksReplicated`).
 *
 * Owns: nothing but the decisions; where blocks live is in the job
 * generator's input blocks and the cache registry, which it updates. May not:
 * launch tasks or change batches.
 */
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { CachedBlock, CacheRegistry } from './cache-registry.js';
import type { PostEvent } from './events.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { ExecutorEndpoint } from './executor-gateway.js';
import type { LiveInputBlocks } from './job-generator.js';
import type { PartitionBlockRef, SchedulerPorts } from './ports.js';
import { appendTo } from '../../lib/collections.js';

export class ReplicationManager {
  constructor(
    private readonly replication: number,
    private readonly executors: ExecutorTracker,
    private readonly cache: CacheRegistry,
    private readonly ports: Pick<SchedulerPorts, 'gateway' | 'recordReplicas' | 'recordCachedPartition'>,
    private readonly post: PostEvent,
    private readonly log: Logger,
  ) {}

  /**
   * Bring every input block that still has a replica back to `replication`
   * copies, spreading the copies over the executors holding the fewest
   * blocks. A block with no replica left is reported: its records cannot be
   * recomputed (two failures inside the replication window).
   */
  reReplicateInputs(live: LiveInputBlocks): void {
    const alive = this.executors.alive();
    const load = new Map(alive.map((e) => [e.id, e.lastReport.blockCount]));
    const plans = new Map<string, Array<{ blockId: string; records: number; source: ExecutorEndpoint }>>();
    for (const { block } of live.values()) {
      const holders = block.executorIds.filter((id) => this.executors.isAlive(id));
      if (holders.length === 0) {
        // Its batches wait: an executor that held it may rejoin and report it (adoptInputBlocks).
        this.log.warn({ blockId: block.blockId }, 'input block has no live replica; batches reading it wait for an executor holding it to rejoin');
        continue;
      }
      if (holders.length >= this.replication) continue;
      const target = alive.filter((e) => !holders.includes(e.id)).sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0))[0];
      if (!target) continue;
      load.set(target.id, (load.get(target.id) ?? 0) + 1);
      const source = this.executors.get(holders[0]!)!;
      appendTo(plans, target.id, { blockId: block.blockId, records: block.records, source: endpoint(source) });
    }
    for (const [targetId, copies] of plans) {
      this.log.info({ executorId: targetId, blocks: copies.length }, 're-replicating input blocks');
      this.copyTo(targetId, copies, 're-replication failed');
    }
  }

  /** Keep a second copy of a cached partition, so that it survives the loss of one executor. */
  replicateCached(block: CachedBlock): void {
    const holder = this.executors.get(block.executorIds[0]!);
    if (!holder || holder.state !== 'ALIVE') return;
    const target = this.executors
      .alive()
      .filter((e) => !block.executorIds.includes(e.id))
      .sort((a, b) => a.lastReport.blockCount - b.lastReport.blockCount)[0];
    if (!target) return;
    this.copyTo(target.id, [{ blockId: block.blockId, records: block.records, source: endpoint(holder) }], 'cached partition replication failed');
  }

  private copyTo(targetId: string, copies: Array<{ blockId: string; records: number; source: ExecutorEndpoint }>, failure: string): void {
    const target = this.executors.get(targetId)!;
    const epoch = target.epoch;
    this.ports.gateway.replicate(endpoint(target), copies).then(
      () => this.post({ type: 'blocksReplicated', executorId: targetId, epoch, blockIds: copies.map((c) => c.blockId) }),
      (err: unknown) => this.log.warn({ err: errorMessage(err), executorId: targetId, blocks: copies.length }, failure),
    );
  }

  /**
   * A (re)joined incarnation reports the input blocks it holds (Spark's
   * BlockManager re-registration): input blocks are immutable, so every one a
   * batch still needs gets this executor back among its locations, here and
   * in lineage. Cached partitions and shuffle outputs are never re-adopted:
   * the executor dropped those of its fenced incarnation. Returns how many
   * blocks were adopted.
   */
  adoptInputBlocks(executorId: string, epoch: number, blockIds: readonly string[], live: LiveInputBlocks): number {
    if (!this.executors.isAlive(executorId, epoch)) return 0;
    const lineageRefs: PartitionBlockRef[] = [];
    let adopted = 0;
    for (const id of blockIds) {
      const entry = live.get(id);
      if (!entry || entry.block.executorIds.includes(executorId)) continue;
      entry.block.executorIds.push(executorId);
      adopted++;
      for (const p of entry.partitions) {
        if (p.run.started) lineageRefs.push({ jobId: p.run.job.id, batchTimeMs: p.run.batchTimeMs, nodeId: p.nodeId, partition: p.partition, blockId: id });
      }
    }
    if (lineageRefs.length > 0) this.ports.recordReplicas(lineageRefs, executorId);
    return adopted;
  }

  /** The target confirmed its copies: record them (here and in lineage). */
  blocksReplicated(executorId: string, epoch: number, blockIds: string[], live: LiveInputBlocks): void {
    if (!this.executors.isAlive(executorId, epoch)) return;
    const lineageRefs: PartitionBlockRef[] = [];
    const released: string[] = [];
    for (const id of blockIds) {
      const cached = this.cache.byId(id);
      if (cached && !cached.executorIds.includes(executorId)) {
        cached.executorIds.push(executorId);
        this.ports.recordCachedPartition?.(
          { jobId: cached.jobId, batchTimeMs: cached.batchTimeMs, nodeId: cached.nodeId },
          cached.partition,
          cached.blockId,
          executorId,
          0,
        );
      }
      // A cached partition released while its copy was in flight: drop the copy too.
      if (!cached && id.startsWith('rdd/')) released.push(id);
      const entry = live.get(id);
      if (!entry) continue;
      if (!entry.block.executorIds.includes(executorId)) entry.block.executorIds.push(executorId);
      for (const p of entry.partitions) {
        if (p.run.started) lineageRefs.push({ jobId: p.run.job.id, batchTimeMs: p.run.batchTimeMs, nodeId: p.nodeId, partition: p.partition, blockId: id });
      }
    }
    if (lineageRefs.length > 0) this.ports.recordReplicas(lineageRefs, executorId);
    if (released.length > 0) this.ports.gateway.drop(endpoint(this.executors.get(executorId)!), released, []);
  }
}

export function endpoint(e: { id: string; epoch: number; address: string }): ExecutorEndpoint {
  return { id: e.id, epoch: e.epoch, address: e.address };
}
