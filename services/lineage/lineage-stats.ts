/**
 * GetStats: how much lineage is held, and its longest dependency chain
 * (lineage.proto LineageStats.max_depth): walked back through parents, across
 * batches, until a source, a checkpointed dataset (every partition has a
 * CHECKPOINT location) or a forgotten batch — what a rebuild could have to
 * walk. Pure: reads the graph and locations through narrow views.
 */
import { datasetKey, type BatchId, type DatasetId, type DatasetRecord, type LineageStats } from './lineage-types.js';

/** What stats read of the graph (lineage-graph.ts). */
export interface StatsGraph {
  readonly jobCount: number;
  /** Every registered batch. */
  batches(): Iterable<BatchId & { readonly datasets: ReadonlyMap<number, DatasetRecord> }>;
  dataset(ref: DatasetId): DatasetRecord | undefined;
}

/** What stats read of the locations (partition-locations.ts). */
export interface StatsLocations {
  count(): number;
  checkpointed(ref: DatasetId, numPartitions: number): boolean;
}

export function lineageStats(graph: StatsGraph, locations: StatsLocations): LineageStats {
  let batches = 0;
  let datasets = 0;
  for (const b of graph.batches()) {
    batches++;
    datasets += b.datasets.size;
  }
  return { jobs: graph.jobCount, batches, datasets, locations: locations.count(), maxDepth: maxLineageDepth(graph, locations) };
}

/** Longest dependency chain (see module doc), memoised per dataset. */
export function maxLineageDepth(graph: StatsGraph, locations: StatsLocations): number {
  const depth = new Map<string, number>();
  const of = (ref: DatasetId): number => {
    const key = datasetKey(ref);
    const known = depth.get(key);
    if (known !== undefined) return known;
    const ds = graph.dataset(ref);
    let d = 0;
    if (ds && ds.dependency !== 'SOURCE' && !locations.checkpointed(ref, ds.numPartitions)) {
      // Parents are in the same or earlier batches and the graph is acyclic
      // (registration.ts), so this terminates; chains are bounded by maxBatchesPerJob.
      for (const p of ds.parents) d = Math.max(d, 1 + of(p));
    }
    depth.set(key, d);
    return d;
  };
  let max = 0;
  for (const batch of graph.batches()) {
    for (const id of batch.datasets.keys()) max = Math.max(max, of({ jobId: batch.jobId, batchTimeMs: batch.batchTimeMs, nodeId: id }));
  }
  return max;
}
