/**
 * The lineage domain: for every live batch of every job, the dataset graph
 * (operator, dependency kind, parents, partition count) and where each
 * materialised piece lives (input blocks, shuffle map outputs, cached
 * partitions, checkpoints). It answers "what does losing executor X take
 * away" from an executor index (never a full scan); rebuild-planner.ts plans
 * the minimal set of tasks that rebuilds lost partitions from what it holds.
 *
 * This module is pure: no I/O, no clock, no logging. Mutations are two-phase
 * so the service can log before it mutates: `planX(...)` validates against
 * the current state and returns a `Mutation` holding the records to persist
 * (`writes`) without touching memory; after the writes are durable the caller
 * runs `commit()`, which applies exactly what was planned. Plans must be
 * committed in the order they were made, one at a time (server.ts runs every
 * mutation through one queue); a plan made against a state that changed since
 * is refused at commit rather than silently applied.
 *
 * The vocabulary and what it means (batches, datasets, locations, live piece
 * groups) is in lineage-types.ts; partition-mapping.ts says which parent
 * partitions a partition reads. `maxBatchesPerJob` is enforced on
 * registration: the oldest batches of the job are evicted and reported in
 * the outcome (the service logs them).
 */
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../lib/errors.js';
import {
  LOCATION_KINDS,
  batchKeyOf,
  datasetKey,
  formatBatch,
  formatDataset,
  groupKey,
  pieceKey,
  type BatchGraphRecord,
  type BatchId,
  type BatchView,
  type DatasetId,
  type DatasetLocationsRecord,
  type DatasetRecord,
  type DatasetSpec,
  type LineageStats,
  type LocationSpec,
  type Mutation,
  type PartitionId,
  type RebuildPlan,
  type RegisterBatchInput,
  type RegisterOutcome,
  type StoreWrites,
} from './lineage-types.js';
import { planRebuild } from './rebuild-planner.js';
import { registrationRecords, sameDatasets } from './registration.js';
import { evictionsToRegister, timesBefore, timesOverLimit, validateForgetBatches } from './retention.js';
import { checkLocationFits, validateBatchId, validateBytes, validateExecutorIds } from './validation.js';

export interface LineageStoreOptions {
  /** Upper bound on batches kept per job; the oldest are evicted beyond it. */
  readonly maxBatchesPerJob: number;
  /**
   * How deep PlanRebuild may walk lineage before giving up with
   * FAILED_PRECONDITION (stateful streams must checkpoint). Bounds the stack.
   * @default 2000
   */
  readonly maxLineageDepth?: number;
}

// ---------------------------------------------------------------------------
// In-memory state.

interface LocationState extends LocationSpec {
  /** Globally unique key: batch, node, kind, partition, blockId (blockId last so the key is unambiguous). */
  readonly key: string;
}

class BatchState implements BatchId {
  readonly key: string;
  /** nodeId → (pieceKey → location). */
  readonly locations = new Map<number, Map<string, LocationState>>();
  constructor(
    readonly jobId: string,
    readonly batchTimeMs: number,
    readonly fingerprint: string,
    readonly datasets: ReadonlyMap<number, DatasetRecord>,
  ) {
    this.key = batchKeyOf(this);
  }
}

interface JobState {
  readonly batches: Map<number, BatchState>;
  /** Batch times, ascending. */
  readonly times: number[];
}

function insertSorted(arr: number[], v: number): void {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  arr.splice(lo, 0, v);
}

function toSpec(jobId: string, batchTimeMs: number, d: DatasetRecord): DatasetSpec {
  return {
    ref: { jobId, batchTimeMs, nodeId: d.nodeId },
    operator: d.operator,
    dependency: d.dependency,
    parents: d.parents.map((p) => ({ ...p })),
    numPartitions: d.numPartitions,
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

// ---------------------------------------------------------------------------

export class LineageStore {
  private readonly jobs = new Map<string, JobState>();
  /** executorId → locations that list it, by location key. */
  private readonly byExecutor = new Map<string, Map<string, LocationState>>();
  /** Bumped by every commit; a plan made against another version is refused. */
  private version = 0;
  private readonly maxBatchesPerJob: number;
  private readonly maxLineageDepth: number;

  constructor(opts: LineageStoreOptions) {
    if (!Number.isInteger(opts.maxBatchesPerJob) || opts.maxBatchesPerJob < 1) {
      throw new InvalidArgumentError(`maxBatchesPerJob must be a positive integer, got ${opts.maxBatchesPerJob}`);
    }
    this.maxBatchesPerJob = opts.maxBatchesPerJob;
    this.maxLineageDepth = opts.maxLineageDepth ?? 2000;
  }

  // ------------------------------------------------------------------ mutations

  planRegisterBatch(input: RegisterBatchInput): Mutation<RegisterOutcome> {
    const { graph, locations } = registrationRecords(input, (ref) => this.lookup(ref));
    const job = this.jobs.get(input.jobId);
    const existing = job?.batches.get(input.batchTimeMs);
    if (existing) {
      if (existing.fingerprint === graph.fingerprint) {
        // A retry of a registration that already succeeded: replace nothing (in
        // particular, don't re-add executors removed since).
        return this.mutation<RegisterOutcome>({ created: false, evicted: [] }, { locations: [], graphs: [], forget: [] }, () => {});
      }
      throw new AlreadyExistsError(
        `batch ${formatBatch(input)} is already registered with ${sameDatasets(existing.datasets.values(), graph.datasets) ? 'different input blocks' : 'a different dataset graph'}`,
      );
    }
    // maxBatchesPerJob: make room by evicting the oldest batches of the job (retention.ts).
    const evicted = evictionsToRegister(job?.times ?? [], input, this.maxBatchesPerJob).map((t) => job!.batches.get(t)!);
    const evictedIds = evicted.map((b) => ({ jobId: b.jobId, batchTimeMs: b.batchTimeMs }));
    return this.mutation<RegisterOutcome>(
      { created: true, evicted: evictedIds },
      { locations, graphs: [graph], forget: evictedIds },
      () => {
        for (const b of evicted) this.removeBatch(b);
        this.insertBatch(graph, locations);
      },
    );
  }

  planRecordLocations(locations: readonly LocationSpec[]): Mutation<{ recorded: number }> {
    const what = 'RecordLocations';
    // dataset key → the dataset's location map as it will be after this request.
    const touched = new Map<string, { batch: BatchState; nodeId: number; pieces: Map<string, LocationState> }>();
    for (const loc of locations) {
      if (!loc.dataset) throw new InvalidArgumentError(`${what}: every location needs a dataset ref`);
      const d = loc.dataset;
      validateBatchId(d.jobId, d.batchTimeMs, what);
      const where = `${loc.kind} ${loc.blockId || '(no block id)'} of ${formatDataset(d)} partition ${loc.partition}`;
      if (!LOCATION_KINDS.includes(loc.kind)) throw new InvalidArgumentError(`${what}: location of ${formatDataset(d)} has no valid kind`);
      const batch = this.jobs.get(d.jobId)?.batches.get(d.batchTimeMs);
      if (!batch) throw new NotFoundError(`${what}: batch ${formatBatch(d)} is not registered (or was forgotten)`);
      const ds = batch.datasets.get(d.nodeId);
      if (!ds) throw new InvalidArgumentError(`${what}: ${where}: batch has no node ${d.nodeId}`);
      checkLocationFits(loc, ds, `${what}: ${where}`);
      const executorIds = validateExecutorIds(loc.executorIds, `${what}: ${where}`);
      const bytes = validateBytes(loc.bytes, `${what}: ${where}`);

      const dk = datasetKey(d);
      let entry = touched.get(dk);
      if (!entry) {
        entry = { batch, nodeId: d.nodeId, pieces: new Map(batch.locations.get(d.nodeId) ?? []) };
        touched.set(dk, entry);
      }
      const pk = pieceKey(loc.kind, loc.partition, loc.blockId);
      const prev = entry.pieces.get(pk);
      entry.pieces.set(pk, {
        key: `${batch.key}|${d.nodeId}|${pk}`,
        kind: loc.kind,
        dataset: { jobId: d.jobId, batchTimeMs: d.batchTimeMs, nodeId: d.nodeId },
        partition: loc.partition,
        blockId: loc.blockId,
        executorIds: prev ? [...new Set([...prev.executorIds, ...executorIds])].sort() : executorIds,
        // bytes 0 means "not reported"; keep what we knew.
        bytes: bytes || prev?.bytes || 0,
      });
    }
    const entries = [...touched.values()];
    return this.mutation(
      { recorded: locations.length },
      { locations: entries.map((e) => this.locationsRecord(e.batch, e.nodeId, e.pieces.values())), graphs: [], forget: [] },
      () => {
        for (const e of entries) this.replaceDatasetLocations(e.batch, e.nodeId, e.pieces);
      },
    );
  }

  /**
   * Forget pieces dropped on purpose (see lineage.proto DropLocations):
   * matched by kind, dataset, partition and block id; anything unknown
   * (batch forgotten, piece never recorded) is skipped.
   */
  planDropLocations(locations: readonly LocationSpec[]): Mutation<{ dropped: number }> {
    const what = 'DropLocations';
    const touched = new Map<string, { batch: BatchState; nodeId: number; pieces: Map<string, LocationState> }>();
    let dropped = 0;
    for (const loc of locations) {
      if (!loc.dataset) throw new InvalidArgumentError(`${what}: every location needs a dataset ref`);
      validateBatchId(loc.dataset.jobId, loc.dataset.batchTimeMs, what);
      if (!LOCATION_KINDS.includes(loc.kind)) throw new InvalidArgumentError(`${what}: location of ${formatDataset(loc.dataset)} has no valid kind`);
      const batch = this.jobs.get(loc.dataset.jobId)?.batches.get(loc.dataset.batchTimeMs);
      const current = batch?.locations.get(loc.dataset.nodeId);
      if (!batch || !current) continue;
      const dk = datasetKey(loc.dataset);
      let entry = touched.get(dk);
      if (!entry) touched.set(dk, (entry = { batch, nodeId: loc.dataset.nodeId, pieces: new Map(current) }));
      if (entry.pieces.delete(pieceKey(loc.kind, loc.partition, loc.blockId))) dropped++;
    }
    const entries = [...touched.values()];
    return this.mutation(
      { dropped },
      { locations: entries.map((e) => this.locationsRecord(e.batch, e.nodeId, e.pieces.values())), graphs: [], forget: [] },
      () => {
        for (const e of entries) this.replaceDatasetLocations(e.batch, e.nodeId, e.pieces);
      },
    );
  }

  planRemoveExecutor(executorId: string): Mutation<{ locationsUpdated: number }> {
    if (typeof executorId !== 'string' || executorId.length === 0) {
      throw new InvalidArgumentError('RemoveExecutor: executor_id is required');
    }
    const held = this.byExecutor.get(executorId);
    const touched = new Map<string, { batch: BatchState; nodeId: number; pieces: Map<string, LocationState> }>();
    for (const loc of held?.values() ?? []) {
      const dk = datasetKey(loc.dataset);
      let entry = touched.get(dk);
      if (!entry) {
        const batch = this.jobs.get(loc.dataset.jobId)!.batches.get(loc.dataset.batchTimeMs)!;
        entry = { batch, nodeId: loc.dataset.nodeId, pieces: new Map(batch.locations.get(loc.dataset.nodeId)!) };
        touched.set(dk, entry);
      }
      entry.pieces.set(pieceKey(loc.kind, loc.partition, loc.blockId), {
        ...loc,
        executorIds: loc.executorIds.filter((e) => e !== executorId),
      });
    }
    const entries = [...touched.values()];
    return this.mutation(
      { locationsUpdated: held?.size ?? 0 },
      { locations: entries.map((e) => this.locationsRecord(e.batch, e.nodeId, e.pieces.values())), graphs: [], forget: [] },
      () => {
        for (const e of entries) this.replaceDatasetLocations(e.batch, e.nodeId, e.pieces);
      },
    );
  }

  /** Forget every batch of `jobId` older than `beforeBatchTimeMs` (retention.ts). */
  planForgetBatches(jobId: string, beforeBatchTimeMs: number): Mutation<{ batchesForgotten: number }> {
    validateForgetBatches(jobId, beforeBatchTimeMs);
    const job = this.jobs.get(jobId);
    const victims = timesBefore(job?.times ?? [], beforeBatchTimeMs).map((t) => job!.batches.get(t)!);
    return this.mutation(
      { batchesForgotten: victims.length },
      { locations: [], graphs: [], forget: victims.map((b) => ({ jobId: b.jobId, batchTimeMs: b.batchTimeMs })) },
      () => {
        for (const b of victims) this.removeBatch(b);
      },
    );
  }

  /** Forget one batch (RegisterBatch with `replace`: a restarted scheduler re-planned it differently). */
  planForgetBatch(jobId: string, batchTimeMs: number): Mutation<{ batchesForgotten: number }> {
    const b = this.jobs.get(jobId)?.batches.get(batchTimeMs);
    return this.mutation(
      { batchesForgotten: b ? 1 : 0 },
      { locations: [], graphs: [], forget: b ? [{ jobId: b.jobId, batchTimeMs: b.batchTimeMs }] : [] },
      () => {
        if (b) this.removeBatch(b);
      },
    );
  }

  /**
   * Evict the oldest batches of every job above maxBatchesPerJob. Needed after
   * a restart with a lower limit, or when a crash left an eviction half done.
   */
  planEnforceBatchLimit(): Mutation<{ evicted: BatchId[] }> {
    const victims: BatchState[] = [];
    for (const job of this.jobs.values()) {
      for (const t of timesOverLimit(job.times, this.maxBatchesPerJob)) victims.push(job.batches.get(t)!);
    }
    const ids = victims.map((b) => ({ jobId: b.jobId, batchTimeMs: b.batchTimeMs }));
    return this.mutation({ evicted: ids }, { locations: [], graphs: [], forget: ids }, () => {
      for (const b of victims) this.removeBatch(b);
    });
  }

  /**
   * Put back a batch read from durable storage on start. Trusts the records
   * (they were validated when first registered); parents may be forgotten.
   */
  restoreBatch(graph: BatchGraphRecord, locations: readonly DatasetLocationsRecord[]): void {
    if (this.jobs.get(graph.jobId)?.batches.has(graph.batchTimeMs)) {
      throw new FailedPreconditionError(`batch ${formatBatch(graph)} restored twice`);
    }
    const known = new Set(graph.datasets.map((d) => d.nodeId));
    this.insertBatch(
      graph,
      locations.filter((l) => known.has(l.nodeId)),
    );
    this.version++;
  }

  // ------------------------------------------------------------------ queries

  getBatch(jobId: string, batchTimeMs: number): BatchView {
    validateBatchId(jobId, batchTimeMs, 'GetBatch');
    const batch = this.jobs.get(jobId)?.batches.get(batchTimeMs);
    if (!batch) throw new NotFoundError(`batch ${jobId}@${batchTimeMs} is not registered (or was forgotten)`);
    const datasets = [...batch.datasets.values()].sort((a, b) => a.nodeId - b.nodeId).map((d) => toSpec(jobId, batchTimeMs, d));
    const locations: LocationSpec[] = [];
    for (const nodeId of [...batch.locations.keys()].sort((a, b) => a - b)) {
      const pieces = [...batch.locations.get(nodeId)!.values()].sort(
        (a, b) =>
          LOCATION_KINDS.indexOf(a.kind) - LOCATION_KINDS.indexOf(b.kind) ||
          a.partition - b.partition ||
          (a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0),
      );
      for (const l of pieces) locations.push(toLocationSpec(l));
    }
    return { jobId, batchTimeMs, datasets, locations };
  }

  /** Locations only `executorId` holds (lost) and those it shares with another executor (under-replicated). */
  lostOnExecutor(executorId: string): { lost: LocationSpec[]; underReplicated: LocationSpec[] } {
    if (typeof executorId !== 'string' || executorId.length === 0) {
      throw new InvalidArgumentError('LostOnExecutor: executor_id is required');
    }
    const lost: LocationSpec[] = [];
    const underReplicated: LocationSpec[] = [];
    const held = [...(this.byExecutor.get(executorId)?.values() ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const loc of held) (loc.executorIds.length === 1 ? lost : underReplicated).push(toLocationSpec(loc));
    return { lost, underReplicated };
  }

  /** The minimal set of tasks that rebuilds `partitions` (rebuild-planner.ts). */
  planRebuild(partitions: readonly PartitionId[]): RebuildPlan {
    return planRebuild({ dataset: (ref) => this.lookup(ref), liveGroups: (ref) => this.liveGroups(ref) }, partitions, this.maxLineageDepth);
  }

  stats(): LineageStats {
    let batches = 0;
    let datasets = 0;
    let locations = 0;
    for (const job of this.jobs.values()) {
      for (const b of job.batches.values()) {
        batches++;
        datasets += b.datasets.size;
        for (const pieces of b.locations.values()) locations += pieces.size;
      }
    }
    return { jobs: this.jobs.size, batches, datasets, locations, maxDepth: this.maxDepth() };
  }

  /** Longest dependency chain (see LineageStats.maxDepth), memoised per dataset. */
  private maxDepth(): number {
    const depth = new Map<string, number>();
    const of = (ref: DatasetId): number => {
      const key = datasetKey(ref);
      const known = depth.get(key);
      if (known !== undefined) return known;
      const batch = this.jobs.get(ref.jobId)?.batches.get(ref.batchTimeMs);
      const ds = batch?.datasets.get(ref.nodeId);
      let d = 0;
      if (batch && ds && ds.dependency !== 'SOURCE' && !this.checkpointed(batch, ds)) {
        // Parents are in the same or earlier batches and the graph is acyclic
        // (checkAcyclic), so this terminates; chains are bounded by maxBatchesPerJob.
        for (const p of ds.parents) d = Math.max(d, 1 + of(p));
      }
      depth.set(key, d);
      return d;
    };
    let max = 0;
    for (const job of this.jobs.values()) {
      for (const t of job.times) {
        const batch = job.batches.get(t)!;
        for (const id of batch.datasets.keys()) max = Math.max(max, of({ jobId: batch.jobId, batchTimeMs: t, nodeId: id }));
      }
    }
    return max;
  }

  private checkpointed(batch: BatchState, ds: DatasetRecord): boolean {
    if (ds.numPartitions === 0) return false;
    const pieces = batch.locations.get(ds.nodeId);
    if (!pieces) return false;
    const covered = new Set<number>();
    for (const loc of pieces.values()) if (loc.kind === 'CHECKPOINT') covered.add(loc.partition);
    return covered.size === ds.numPartitions;
  }

  // ------------------------------------------------------------------ what the rebuild planner reads

  private lookup(ref: DatasetId): DatasetRecord | undefined {
    return this.jobs.get(ref.jobId)?.batches.get(ref.batchTimeMs)?.datasets.get(ref.nodeId);
  }

  /**
   * For each (kind, partition) group of a dataset's locations (keyed by
   * groupKey), whether it is live: ≥1 location and each with ≥1 executor.
   */
  private liveGroups(ref: DatasetId): Map<string, boolean> {
    const out = new Map<string, boolean>();
    const pieces = this.jobs.get(ref.jobId)?.batches.get(ref.batchTimeMs)?.locations.get(ref.nodeId);
    for (const loc of pieces?.values() ?? []) {
      const g = groupKey(loc.kind, loc.partition);
      out.set(g, (out.get(g) ?? true) && loc.executorIds.length > 0);
    }
    return out;
  }

  // ------------------------------------------------------------------ internals

  private mutation<R>(result: R, writes: StoreWrites, apply: () => void): Mutation<R> {
    const planned = this.version;
    let committed = false;
    return {
      result,
      writes,
      commit: () => {
        if (committed) throw new FailedPreconditionError('lineage mutation committed twice');
        if (this.version !== planned) {
          throw new FailedPreconditionError('lineage state changed between planning and committing a mutation; mutations must be serialised');
        }
        apply();
        committed = true;
        this.version++;
        return result;
      },
    };
  }

  private locationsRecord(batch: BatchState, nodeId: number, pieces: Iterable<LocationState>): DatasetLocationsRecord {
    return {
      jobId: batch.jobId,
      batchTimeMs: batch.batchTimeMs,
      nodeId,
      locations: [...pieces].map((l) => ({
        kind: l.kind,
        partition: l.partition,
        blockId: l.blockId,
        executorIds: [...l.executorIds],
        bytes: l.bytes,
      })),
    };
  }

  private insertBatch(graph: BatchGraphRecord, locations: readonly DatasetLocationsRecord[]): void {
    const batch = new BatchState(graph.jobId, graph.batchTimeMs, graph.fingerprint, new Map(graph.datasets.map((d) => [d.nodeId, d])));
    let job = this.jobs.get(graph.jobId);
    if (!job) this.jobs.set(graph.jobId, (job = { batches: new Map(), times: [] }));
    job.batches.set(graph.batchTimeMs, batch);
    insertSorted(job.times, graph.batchTimeMs);
    for (const rec of locations) {
      const pieces = new Map<string, LocationState>();
      for (const l of rec.locations) {
        const pk = pieceKey(l.kind, l.partition, l.blockId);
        pieces.set(pk, {
          key: `${batch.key}|${rec.nodeId}|${pk}`,
          kind: l.kind,
          dataset: { jobId: graph.jobId, batchTimeMs: graph.batchTimeMs, nodeId: rec.nodeId },
          partition: l.partition,
          blockId: l.blockId,
          executorIds: [...l.executorIds],
          bytes: l.bytes,
        });
      }
      this.replaceDatasetLocations(batch, rec.nodeId, pieces);
    }
  }

  /** Swap a dataset's location map for `next`, keeping the executor index exact. */
  private replaceDatasetLocations(batch: BatchState, nodeId: number, next: Map<string, LocationState>): void {
    const prev = batch.locations.get(nodeId);
    for (const loc of prev?.values() ?? []) this.unindex(loc);
    batch.locations.set(nodeId, next);
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

  private removeBatch(batch: BatchState): void {
    const job = this.jobs.get(batch.jobId);
    if (!job || job.batches.get(batch.batchTimeMs) !== batch) return;
    for (const pieces of batch.locations.values()) for (const loc of pieces.values()) this.unindex(loc);
    job.batches.delete(batch.batchTimeMs);
    const i = job.times.indexOf(batch.batchTimeMs);
    if (i >= 0) job.times.splice(i, 1);
    if (job.batches.size === 0) this.jobs.delete(batch.jobId);
  }
}
