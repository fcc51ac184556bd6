/**
 * The lineage service's vocabulary: what a batch, a dataset, a partition and
 * a materialised piece are (as registered, queried and persisted), what a
 * two-phase mutation hands back, and the keys and labels every module names
 * them by. Declarations and key functions only: no state, no I/O, and no
 * rule about what a valid value is (validation.ts and RegisterBatch's checks
 * hold those).
 *
 * Semantics worth knowing (the scheduler relies on them):
 * - A batch is (jobId, batchTimeMs). Every dataset registered with it has that
 *   job and time in its ref. Parents are datasets of the same batch or of an
 *   earlier, still registered batch of the same job (windows, state).
 * - A location is keyed by (kind, dataset, partition, blockId). Replicas and
 *   speculative copies of one piece are the same key with more executors.
 *   A piece group (kind, dataset, partition) is *live* when it has at least
 *   one location and every location in it has at least one executor: several
 *   block ids under one partition are read as parts of it, so all must
 *   survive. Locations whose last executor was removed stay recorded with no
 *   executor: that is how the planner knows they must be recomputed.
 * - SHUFFLE map partitions are numbered across the shuffle's parents in
 *   order (partition-mapping.ts); a SHUFFLE_OUTPUT location names the
 *   shuffled (child) dataset and that global map partition.
 */
export type DependencyKind = 'SOURCE' | 'NARROW' | 'SHUFFLE';
export type LocationKind = 'INPUT_BLOCK' | 'SHUFFLE_OUTPUT' | 'PARTITION' | 'CHECKPOINT';

export const DEPENDENCY_KINDS: readonly DependencyKind[] = ['SOURCE', 'NARROW', 'SHUFFLE'];
export const LOCATION_KINDS: readonly LocationKind[] = ['INPUT_BLOCK', 'SHUFFLE_OUTPUT', 'PARTITION', 'CHECKPOINT'];

export interface BatchId {
  readonly jobId: string;
  readonly batchTimeMs: number;
}

export interface DatasetId extends BatchId {
  readonly nodeId: number;
}

export interface PartitionId {
  readonly dataset: DatasetId;
  readonly partition: number;
}

/** One dataset as registered (and as returned by getBatch). */
export interface DatasetSpec {
  readonly ref: DatasetId;
  readonly operator: string;
  readonly dependency: DependencyKind;
  readonly parents: readonly DatasetId[];
  readonly numPartitions: number;
}

/** One materialised piece, as recorded (and as returned by queries). */
export interface LocationSpec {
  readonly kind: LocationKind;
  readonly dataset: DatasetId;
  readonly partition: number;
  readonly blockId: string;
  readonly executorIds: readonly string[];
  readonly bytes: number;
}

export interface RegisterBatchInput extends BatchId {
  readonly datasets: readonly DatasetSpec[];
  /** INPUT_BLOCK locations of the batch's SOURCE datasets. */
  readonly inputs: readonly LocationSpec[];
}

export interface BatchView extends BatchId {
  readonly datasets: DatasetSpec[];
  readonly locations: LocationSpec[];
}

export interface RebuildTask {
  /** The partition the task computes; for a shuffle map task, the map-side partition. */
  readonly partition: PartitionId;
  /** Set when the task (re)writes the map output of this shuffled dataset. */
  readonly shuffleFor?: DatasetId;
  readonly depth: number;
  /**
   * Materialised partitions the task reads where the walk stopped (cached,
   * checkpointed, or a source's input blocks), through the narrow ancestors
   * it pipelines: e.g. for a lost state, the checkpoint it starts from and
   * the values of every batch it replays.
   */
  readonly reads: PartitionId[];
}

export interface RebuildPlan {
  readonly tasks: RebuildTask[];
  readonly unrecoverable: PartitionId[];
}

export interface LineageStats {
  readonly jobs: number;
  readonly batches: number;
  readonly datasets: number;
  readonly locations: number;
  /** See lineage.proto LineageStats.max_depth. */
  readonly maxDepth: number;
}

// ---------------------------------------------------------------------------
// Persisted records. These are what kv-persistence.ts stores (one graph record
// per batch, one locations record per dataset that has locations) and what
// restoreBatch() takes back on start. Plain data only: they are msgpack-encoded.

export interface DatasetRecord {
  readonly nodeId: number;
  readonly operator: string;
  readonly dependency: DependencyKind;
  readonly parents: readonly DatasetId[];
  readonly numPartitions: number;
  /**
   * numPartitions of each parent when the batch was registered. Kept so the
   * shuffle map-partition numbering (and its bounds) survive the parents
   * being forgotten.
   */
  readonly parentPartitions: readonly number[];
}

export interface BatchGraphRecord extends BatchId {
  /** sha256 of the canonical graph + input block ids: what "same registration" means. */
  readonly fingerprint: string;
  readonly datasets: readonly DatasetRecord[];
}

export interface StoredLocation {
  readonly kind: LocationKind;
  readonly partition: number;
  readonly blockId: string;
  readonly executorIds: readonly string[];
  readonly bytes: number;
}

export interface DatasetLocationsRecord extends DatasetId {
  readonly locations: readonly StoredLocation[];
}

/** What a mutation needs made durable before it may be committed. */
export interface StoreWrites {
  /** Full location set of each touched dataset (write these first). */
  readonly locations: readonly DatasetLocationsRecord[];
  /** Graph records of newly registered batches (write after their locations: the graph is the commit marker). */
  readonly graphs: readonly BatchGraphRecord[];
  /** Batches to delete entirely, graph and locations. */
  readonly forget: readonly BatchId[];
}

export interface Mutation<R> {
  readonly result: R;
  readonly writes: StoreWrites;
  /** Apply the planned change to memory. Call once, after `writes` are durable. */
  commit(): R;
}

export interface RegisterOutcome {
  /** False when the identical batch was already registered (nothing to do). */
  readonly created: boolean;
  /** Batches evicted by maxBatchesPerJob to make room. */
  readonly evicted: BatchId[];
}

export function isEmptyWrites(w: StoreWrites): boolean {
  return w.locations.length === 0 && w.graphs.length === 0 && w.forget.length === 0;
}

// ---------------------------------------------------------------------------
// Keys and labels.

export function batchKeyOf(b: BatchId): string {
  return JSON.stringify([b.jobId, b.batchTimeMs]);
}

export function datasetKey(d: DatasetId): string {
  return JSON.stringify([d.jobId, d.batchTimeMs, d.nodeId]);
}

/** A piece within its dataset: kind, partition, block id (block id last so the key is unambiguous). */
export function pieceKey(kind: LocationKind, partition: number, blockId: string): string {
  return `${kind}|${partition}|${blockId}`;
}

/** A piece group (kind, partition) within its dataset; see liveness in the module doc. */
export function groupKey(kind: LocationKind, partition: number): string {
  return `${kind}|${partition}|`;
}

export function formatDataset(d: DatasetId): string {
  return `${d.jobId}@${d.batchTimeMs}#${d.nodeId}`;
}

export function formatBatch(b: BatchId): string {
  return `${b.jobId}@${b.batchTimeMs}`;
}

export function comparePartitionIds(a: PartitionId, b: PartitionId): number {
  const x = a.dataset;
  const y = b.dataset;
  return x.batchTimeMs - y.batchTimeMs || x.nodeId - y.nodeId || a.partition - b.partition || (x.jobId < y.jobId ? -1 : x.jobId > y.jobId ? 1 : 0);
}
