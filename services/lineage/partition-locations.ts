/**
 * Where every materialised piece of every registered batch lives — input
 * blocks, shuffle map outputs, cached partitions, checkpoints — and the
 * executor index that answers "what does losing executor X take away"
 * without a full scan. The index is exact at all times: every change to a
 * dataset's location set goes through `replace`, which unindexes the old set
 * and indexes the new one.
 *
 * Changes are planned on a `LocationsDraft` (copy-on-write of the datasets
 * they touch), which yields the records to persist and is applied only once
 * those are durable (the store's two-phase mutations). A location whose last
 * executor is removed stays recorded with none: that is how the rebuild
 * planner knows it must be recomputed.
 *
 * Owns: locations and the executor index. May not: decide whether a batch or
 * dataset exists or what a partition number may be (the store checks against
 * the graph before it drafts anything), nor forget batches on its own — the
 * store adds and removes a batch's locations together with its graph.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../lib/errors.js';
import {
  LOCATION_KINDS,
  batchKeyOf,
  datasetKey,
  groupKey,
  pieceKey,
  type BatchId,
  type DatasetId,
  type DatasetLocationsRecord,
  type LocationKind,
  type LocationSpec,
} from './lineage-types.js';

/** A recorded piece in memory. */
export interface LocationState extends LocationSpec {
  /** Globally unique key: batch, node, kind, partition, blockId (blockId last so the key is unambiguous). */
  readonly key: string;
}

/** One dataset's pieces, by pieceKey. */
type Pieces = Map<string, LocationState>;

/**
 * A piece reported again (another replica, a speculative copy): the executor
 * lists are merged, and bytes 0 means "not reported", keeping what was known.
 */
export function mergeReplica(
  prev: { readonly executorIds: readonly string[]; readonly bytes: number } | undefined,
  executorIds: string[],
  bytes: number,
): { executorIds: string[]; bytes: number } {
  return {
    executorIds: prev ? [...new Set([...prev.executorIds, ...executorIds])].sort() : executorIds,
    bytes: bytes || prev?.bytes || 0,
  };
}

function toLocationSpec(l: LocationState): LocationSpec {
  return {
    kind: l.kind,
    dataset: { ...l.dataset },
    partition: l.partition,
    blockId: l.blockId,
    executorIds: [...l.executorIds],
    bytes: l.bytes,
  };
}

function byKey(a: LocationState, b: LocationState): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export class PartitionLocations {
  /** batchKey → nodeId → the dataset's pieces. */
  private readonly byBatch = new Map<string, Map<number, Pieces>>();
  /** executorId → locations that list it, by location key. */
  private readonly byExecutor = new Map<string, Map<string, LocationState>>();

  /** Start tracking a newly registered (or restored) batch with these location records. */
  addBatch(batch: BatchId, records: readonly DatasetLocationsRecord[]): void {
    const bk = batchKeyOf(batch);
    this.byBatch.set(bk, new Map());
    for (const rec of records) {
      const pieces: Pieces = new Map();
      for (const l of rec.locations) {
        const pk = pieceKey(l.kind, l.partition, l.blockId);
        pieces.set(pk, {
          key: `${bk}|${rec.nodeId}|${pk}`,
          kind: l.kind,
          dataset: { jobId: batch.jobId, batchTimeMs: batch.batchTimeMs, nodeId: rec.nodeId },
          partition: l.partition,
          blockId: l.blockId,
          executorIds: [...l.executorIds],
          bytes: l.bytes,
        });
      }
      this.replace(bk, rec.nodeId, pieces);
    }
  }

  /** Drop every location of a batch (it was forgotten or evicted). */
  removeBatch(batch: BatchId): void {
    const bk = batchKeyOf(batch);
    for (const pieces of this.byBatch.get(bk)?.values() ?? []) for (const loc of pieces.values()) this.unindex(loc);
    this.byBatch.delete(bk);
  }

  /** Whether the dataset has a location set (possibly emptied by drops). */
  has(ref: DatasetId): boolean {
    return this.pieces(ref) !== undefined;
  }

  /** Every location of a batch, by node id, then kind, partition and block id. */
  ofBatch(batch: BatchId): LocationSpec[] {
    const nodes = this.byBatch.get(batchKeyOf(batch));
    const out: LocationSpec[] = [];
    for (const nodeId of [...(nodes?.keys() ?? [])].sort((a, b) => a - b)) {
      const pieces = [...nodes!.get(nodeId)!.values()].sort(
        (a, b) =>
          LOCATION_KINDS.indexOf(a.kind) - LOCATION_KINDS.indexOf(b.kind) ||
          a.partition - b.partition ||
          (a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0),
      );
      for (const l of pieces) out.push(toLocationSpec(l));
    }
    return out;
  }

  /** Locations only `executorId` holds (lost) and those it shares with another executor (under-replicated). */
  lostOnExecutor(executorId: string): { lost: LocationSpec[]; underReplicated: LocationSpec[] } {
    if (typeof executorId !== 'string' || executorId.length === 0) {
      throw new InvalidArgumentError('LostOnExecutor: executor_id is required');
    }
    const lost: LocationSpec[] = [];
    const underReplicated: LocationSpec[] = [];
    const held = [...(this.byExecutor.get(executorId)?.values() ?? [])].sort(byKey);
    for (const loc of held) (loc.executorIds.length === 1 ? lost : underReplicated).push(toLocationSpec(loc));
    return { lost, underReplicated };
  }

  /**
   * For each (kind, partition) group of a dataset's locations (keyed by
   * groupKey), whether it is live: ≥1 location and each with ≥1 executor.
   */
  liveGroups(ref: DatasetId): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const loc of this.pieces(ref)?.values() ?? []) {
      const g = groupKey(loc.kind, loc.partition);
      out.set(g, (out.get(g) ?? true) && loc.executorIds.length > 0);
    }
    return out;
  }

  /** Whether every one of the dataset's `numPartitions` partitions has a CHECKPOINT recorded (live or not). */
  checkpointed(ref: DatasetId, numPartitions: number): boolean {
    if (numPartitions === 0) return false;
    const pieces = this.pieces(ref);
    if (!pieces) return false;
    const covered = new Set<number>();
    for (const loc of pieces.values()) if (loc.kind === 'CHECKPOINT') covered.add(loc.partition);
    return covered.size === numPartitions;
  }

  /** How many locations are recorded, over every batch. */
  count(): number {
    let n = 0;
    for (const nodes of this.byBatch.values()) for (const pieces of nodes.values()) n += pieces.size;
    return n;
  }

  /** An empty draft of changes against the current locations. */
  draft(): LocationsDraft {
    return new LocationsDraft(
      (ref) => this.pieces(ref),
      (bk, nodeId, pieces) => this.replace(bk, nodeId, pieces),
    );
  }

  /** A draft taking `executorId` off every location that lists it; `updated` counts those locations. */
  draftWithoutExecutor(executorId: string): { draft: LocationsDraft; updated: number } {
    const held = this.byExecutor.get(executorId);
    const draft = this.draft();
    for (const loc of held?.values() ?? []) draft.put({ ...loc, executorIds: loc.executorIds.filter((e) => e !== executorId) });
    return { draft, updated: held?.size ?? 0 };
  }

  private pieces(ref: DatasetId): Pieces | undefined {
    return this.byBatch.get(batchKeyOf(ref))?.get(ref.nodeId);
  }

  /** Swap a dataset's location map for `next`, keeping the executor index exact. */
  private replace(bk: string, nodeId: number, next: Pieces): void {
    const nodes = this.byBatch.get(bk);
    if (!nodes) throw new FailedPreconditionError(`locations of batch ${bk} changed after it was forgotten`);
    for (const loc of nodes.get(nodeId)?.values() ?? []) this.unindex(loc);
    nodes.set(nodeId, next);
    for (const loc of next.values()) this.index(loc);
  }

  private index(loc: LocationState): void {
    for (const e of loc.executorIds) {
      let m = this.byExecutor.get(e);
      if (!m) this.byExecutor.set(e, (m = new Map<string, LocationState>()));
      m.set(loc.key, loc);
    }
  }

  private unindex(loc: LocationState): void {
    for (const e of loc.executorIds) {
      const m = this.byExecutor.get(e);
      if (!m) continue;
      m.delete(loc.key);
      if (m.size === 0) this.byExecutor.delete(e);
    }
  }
}

/**
 * Planned changes to some datasets' location sets. The first change to a
 * dataset copies its current set; `records()` are the full sets to persist,
 * in the order the datasets were first touched, and `apply()` installs them.
 */
export class LocationsDraft {
  private readonly touched = new Map<string, { ref: DatasetId; batchKey: string; pieces: Pieces }>();

  constructor(
    private readonly current: (ref: DatasetId) => Pieces | undefined,
    private readonly install: (batchKey: string, nodeId: number, pieces: Pieces) => void,
  ) {}

  /** Record a piece, merging it with the one already there under the same key (mergeReplica). */
  upsert(ref: DatasetId, kind: LocationKind, partition: number, blockId: string, executorIds: string[], bytes: number): void {
    const entry = this.edit(ref);
    const pk = pieceKey(kind, partition, blockId);
    const prev = entry.pieces.get(pk);
    entry.pieces.set(pk, {
      key: `${entry.batchKey}|${ref.nodeId}|${pk}`,
      kind,
      dataset: { jobId: ref.jobId, batchTimeMs: ref.batchTimeMs, nodeId: ref.nodeId },
      partition,
      blockId,
      ...mergeReplica(prev, executorIds, bytes),
    });
  }

  /** Forget one piece; false when the dataset had no such piece. */
  delete(ref: DatasetId, kind: LocationKind, partition: number, blockId: string): boolean {
    return this.edit(ref).pieces.delete(pieceKey(kind, partition, blockId));
  }

  /** Replace a piece as a whole (same key). */
  put(loc: LocationState): void {
    this.edit(loc.dataset).pieces.set(pieceKey(loc.kind, loc.partition, loc.blockId), loc);
  }

  records(): DatasetLocationsRecord[] {
    return [...this.touched.values()].map((e) => ({
      jobId: e.ref.jobId,
      batchTimeMs: e.ref.batchTimeMs,
      nodeId: e.ref.nodeId,
      locations: [...e.pieces.values()].map((l) => ({
        kind: l.kind,
        partition: l.partition,
        blockId: l.blockId,
        executorIds: [...l.executorIds],
        bytes: l.bytes,
      })),
    }));
  }

  apply(): void {
    for (const e of this.touched.values()) this.install(e.batchKey, e.ref.nodeId, e.pieces);
  }

  private edit(ref: DatasetId): { ref: DatasetId; batchKey: string; pieces: Pieces } {
    const dk = datasetKey(ref);
    let entry = this.touched.get(dk);
    if (!entry) {
      entry = { ref, batchKey: batchKeyOf(ref), pieces: new Map(this.current(ref) ?? []) };
      this.touched.set(dk, entry);
    }
    return entry;
  }
}
