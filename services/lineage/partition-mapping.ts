/**
 * What a dependency edge means partition by partition: which partitions of
 * its parents a dataset's partition reads, and how a shuffle numbers its map
 * partitions. Pure functions of a dataset record: RegisterBatch checks the
 * partition counts they rely on; the rebuild planner and the location checks
 * use them.
 *
 * SHUFFLE map partitions are numbered across the shuffle's parents in order:
 * parent 0's partitions are map partitions [0, n0), parent 1's are
 * [n0, n0 + n1), … With one parent (reduceByKey) the map partition is simply
 * the parent's partition. `parentPartitions` in the record keeps each
 * parent's count from registration, so the numbering survives the parents
 * being forgotten.
 */
import type { DatasetRecord } from './lineage-types.js';

/** A union is the one NARROW dataset whose partitions are its parents' concatenated (lib/dstream/graph.ts). */
export function isUnion(ds: { dependency: string; operator: string }): boolean {
  return ds.dependency === 'NARROW' && ds.operator === 'union';
}

/**
 * Which partitions of its `parentIndex`-th parent partition `p` of a NARROW
 * dataset reads.
 *  - `union` (operator label "union"): its partitions are its parents'
 *    partitions concatenated in order, so partition p reads parent i's
 *    partition p - offset(i) when offset(i) <= p < offset(i) + parentPartitions[i],
 *    and nothing from the other parents;
 *  - every other narrow dataset is one-to-one with each of its parents (map,
 *    filter, flatMap, mapValues; updateStateByKey over a co-partitioned state).
 */
export function narrowParentPartitions(child: DatasetRecord, parentIndex: number, p: number): number[] {
  if (!isUnion(child)) return [p];
  let offset = 0;
  for (let i = 0; i < parentIndex; i++) offset += child.parentPartitions[i]!;
  const n = child.parentPartitions[parentIndex]!;
  return p >= offset && p < offset + n ? [p - offset] : [];
}

/** First global map partition of each parent of a SHUFFLE dataset (see module doc). */
export function shuffleOffsets(ds: DatasetRecord): number[] {
  const offsets: number[] = [];
  let next = 0;
  for (const n of ds.parentPartitions) {
    offsets.push(next);
    next += n;
  }
  return offsets;
}

/** How many map partitions a SHUFFLE dataset has: its parents' partitions together. */
export function mapPartitionCount(ds: DatasetRecord): number {
  return ds.parentPartitions.reduce((a, b) => a + b, 0);
}
