/**
 * The cached partitions of every job (Spark's BlockManagerMaster, for the
 * datasets windows and states read in later batches): which batch's dataset,
 * which partition, which block, and on which executors it is kept.
 *
 * Every batch, a persist stage computes each dataset a later window reads
 * (a window's parent; an inverse-reduce window itself; a state and its
 * values) and keeps each partition as the pinned block
 * `rdd/<job>:<batch>:<node>:<incarnation>/<p>` on its executor; the
 * replication manager copies it to a second one. Once no window or state can
 * reach a dataset (planner.ts cacheRetention; a state's values until a
 * checkpoint covers them) its blocks are dropped everywhere and lineage is
 * told, so its rebuild plans never count on them.
 *
 * Owns: the registry. May not: launch tasks, decide placement, or change a
 * batch. It tells executors (DropBlocks) and lineage about what it drops.
 */
import { cachedNodes, cacheRetention } from '../../lib/dstream/planner.js';
import { stateNodes } from '../../lib/dstream/graph.js';
import type { BatchRun } from './batch-run.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { Job } from './job-registry.js';
import type { PartitionBlockRef, SchedulerPorts } from './ports.js';
import { appendTo } from '../../lib/collections.js';

/** One partition of a cached dataset and where it is kept. */
export interface CachedBlock extends PartitionBlockRef {
  records: number;
  executorIds: string[];
}

/** A dataset of one batch kept for windows and states of later batches. */
export interface CachedDataset {
  nodeId: number;
  batchTimeMs: number;
  /** Undefined until the persist task of that partition succeeds. */
  blocks: Array<CachedBlock | undefined>;
}

/** What lineage knows of one earlier batch of a restored job (GetBatch), for its cached partitions. */
export interface RestoredBatch {
  batchTimeMs: number;
  datasets: Array<{ nodeId: number; numPartitions: number }>;
  locations: Array<{ kind: string; nodeId: number; partition: number; blockId: string; executorIds: string[] }>;
}

export function cachedBlockId(jobId: string, batchTimeMs: number, nodeId: number, partition: number, incarnation: string): string {
  // The incarnation: a batch re-run by a restarted scheduler may partition a
  // dataset differently, so an earlier run's block must never pass for this one's.
  return `rdd/${jobId}:${batchTimeMs}:${nodeId}:${incarnation}/${partition}`;
}

const datasetKey = (nodeId: number, batchTimeMs: number) => `${nodeId}@${batchTimeMs}`;

export class CacheRegistry {
  /** Cached datasets by job, keyed `<node>@<batch>`. */
  private readonly byJob = new Map<string, Map<string, CachedDataset>>();
  private readonly byBlockId = new Map<string, CachedBlock>();

  constructor(
    private readonly executors: ExecutorTracker,
    private readonly ports: Pick<SchedulerPorts, 'gateway' | 'dropCachedPartitions'>,
    private readonly incarnation: string,
  ) {}

  blockId(jobId: string, batchTimeMs: number, nodeId: number, partition: number): string {
    return cachedBlockId(jobId, batchTimeMs, nodeId, partition, this.incarnation);
  }

  /** A batch about to run: its persisted datasets get their (empty) entries. */
  declare(run: BatchRun): void {
    const kept = this.jobCache(run.job.id);
    for (const nodeId of run.plan!.persisted) {
      kept.set(datasetKey(nodeId, run.batchTimeMs), {
        nodeId,
        batchTimeMs: run.batchTimeMs,
        blocks: new Array<CachedBlock | undefined>(run.plan!.partitions[nodeId]!).fill(undefined),
      });
    }
  }

  /** How many partitions a cached dataset of an earlier batch has (the planner sizes windows by it). */
  partitionCount(jobId: string, nodeId: number, batchTimeMs: number): number | undefined {
    return this.byJob.get(jobId)?.get(datasetKey(nodeId, batchTimeMs))?.blocks.length;
  }

  /** Whether that batch generated the dataset at all (a null input generates none). */
  hasDataset(jobId: string, nodeId: number, batchTimeMs: number): boolean {
    return this.byJob.get(jobId)?.has(datasetKey(nodeId, batchTimeMs)) ?? false;
  }

  /** The cached block a task reads, or undefined when it is not kept on any live executor. */
  block(jobId: string, nodeId: number, batchTimeMs: number, partition: number): CachedBlock | undefined {
    const b = this.byJob.get(jobId)?.get(datasetKey(nodeId, batchTimeMs))?.blocks[partition];
    return b && b.executorIds.some((id) => this.executors.isAlive(id)) ? b : undefined;
  }

  byId(blockId: string): CachedBlock | undefined {
    return this.byBlockId.get(blockId);
  }

  /** A persist task succeeded on `executorId`: its partition is kept there. Undefined when the dataset was dropped meanwhile. */
  recordPersisted(run: BatchRun, nodeId: number, partition: number, executorId: string, records: number): CachedBlock | undefined {
    const ds = this.byJob.get(run.job.id)?.get(datasetKey(nodeId, run.batchTimeMs));
    if (!ds) return undefined;
    const old = ds.blocks[partition];
    if (old) this.byBlockId.delete(old.blockId);
    const block: CachedBlock = {
      jobId: run.job.id,
      batchTimeMs: run.batchTimeMs,
      nodeId,
      partition,
      blockId: this.blockId(run.job.id, run.batchTimeMs, nodeId, partition),
      records,
      executorIds: [executorId],
    };
    ds.blocks[partition] = block;
    this.byBlockId.set(block.blockId, block);
    return block;
  }

  /** An executor incarnation is gone: forget it as a holder. Returns the blocks that still have a copy elsewhere (to copy again). */
  executorLost(executorId: string): CachedBlock[] {
    const survivors: CachedBlock[] = [];
    for (const block of this.byBlockId.values()) {
      const i = block.executorIds.indexOf(executorId);
      if (i < 0) continue;
      block.executorIds.splice(i, 1);
      if (block.executorIds.length > 0) survivors.push(block);
    }
    return survivors;
  }

  /** The oldest batch of a job with a cached dataset kept (lineage must keep it), or undefined. */
  oldestBatch(jobId: string): number | undefined {
    let oldest: number | undefined;
    for (const ds of this.byJob.get(jobId)?.values() ?? []) oldest = Math.min(oldest ?? Infinity, ds.batchTimeMs);
    return oldest;
  }

  /**
   * Drop cached datasets no window can reach any more, once batch `t` of the
   * job completed. A state's values stay until a checkpoint covers their
   * batch (`stateCheckpoint` gives the state node's last one).
   */
  release(job: Job, t: number, batchIntervalMs: number, stateCheckpoint: (stateNodeId: number) => number | undefined): void {
    const kept = this.byJob.get(job.id);
    if (!kept || kept.size === 0) return;
    const retention = cacheRetention(job.graph, batchIntervalMs);
    const stateOfValues = new Map(stateNodes(job.graph).map((n) => [n.parent, n.id]));
    const dropped: CachedBlock[] = [];
    for (const [key, ds] of kept) {
      const stateId = stateOfValues.get(ds.nodeId);
      if (stateId !== undefined) {
        const c = stateCheckpoint(stateId);
        if (c === undefined || ds.batchTimeMs > c) continue;
      } else if (ds.batchTimeMs > t - (retention.get(ds.nodeId) ?? 0)) continue;
      kept.delete(key);
      for (const b of ds.blocks) {
        if (!b) continue;
        this.byBlockId.delete(b.blockId);
        dropped.push(b);
      }
    }
    this.dropEverywhere(dropped);
  }

  /** A job ended: forget its cache and drop its blocks on every executor. */
  dropJob(jobId: string): void {
    const kept = this.byJob.get(jobId);
    if (!kept) return;
    this.byJob.delete(jobId);
    for (const ds of kept.values()) for (const b of ds.blocks) if (b) this.byBlockId.delete(b.blockId);
    for (const e of this.executors.alive()) this.ports.gateway.drop(e, [], [`rdd/${jobId}:`]);
  }

  /**
   * A restored job's cached partitions, as lineage recorded them for its
   * batches up to the last completed one. Returns how many were restored.
   */
  restore(job: Job, sortedBatches: readonly RestoredBatch[]): number {
    const kept = this.jobCache(job.id);
    const wanted = new Set(cachedNodes(job.graph));
    let restored = 0;
    for (const b of sortedBatches) {
      for (const ds of b.datasets) {
        if (!wanted.has(ds.nodeId)) continue;
        const blocks = new Array<CachedBlock | undefined>(ds.numPartitions).fill(undefined);
        for (const loc of b.locations) {
          if (loc.kind !== 'PARTITION' || loc.nodeId !== ds.nodeId || loc.partition >= ds.numPartitions) continue;
          const block: CachedBlock = {
            jobId: job.id,
            batchTimeMs: b.batchTimeMs,
            nodeId: ds.nodeId,
            partition: loc.partition,
            blockId: loc.blockId,
            records: 0,
            executorIds: [...loc.executorIds],
          };
          blocks[loc.partition] = block;
          this.byBlockId.set(block.blockId, block);
          restored++;
        }
        kept.set(datasetKey(ds.nodeId, b.batchTimeMs), { nodeId: ds.nodeId, batchTimeMs: b.batchTimeMs, blocks });
      }
    }
    return restored;
  }

  private dropEverywhere(dropped: CachedBlock[]): void {
    if (dropped.length === 0) return;
    const byExecutor = new Map<string, string[]>();
    for (const b of dropped) for (const id of b.executorIds) appendTo(byExecutor, id, b.blockId);
    for (const [id, blockIds] of byExecutor) {
      const e = this.executors.get(id);
      if (e && e.state === 'ALIVE') this.ports.gateway.drop(e, blockIds, []);
    }
    // Lineage must not take them for live copies when it plans a rebuild.
    this.ports.dropCachedPartitions?.(
      dropped.map((b) => ({ jobId: b.jobId, batchTimeMs: b.batchTimeMs, nodeId: b.nodeId, partition: b.partition, blockId: b.blockId })),
    );
  }

  private jobCache(jobId: string): Map<string, CachedDataset> {
    let kept = this.byJob.get(jobId);
    if (!kept) this.byJob.set(jobId, (kept = new Map<string, CachedDataset>()));
    return kept;
  }
}
