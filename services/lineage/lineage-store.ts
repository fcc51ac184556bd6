/**
 * The lineage domain: for every live batch of every job, the dataset graph
 * and where each materialised piece lives. This class coordinates the
 * components that own each kind of state and rule (see each file's header):
 *
 *   lineage-graph        registered batches and their datasets, per job in time order
 *   partition-locations  where pieces live, the executor index, drafts of location changes
 *   registration         (pure) RegisterBatch's checks and the records it writes
 *   retention            (pure) which batches ForgetBatches and maxBatchesPerJob forget
 *   rebuild-planner      (pure) PlanRebuild: the minimal tasks that rebuild lost partitions
 *   lineage-stats        (pure) GetStats and the longest dependency chain
 *   partition-mapping    (pure) which parent partitions a partition reads; shuffle numbering
 *   validation           (pure) checks shared by every request
 *   lineage-types        the vocabulary, persisted records and keys
 *
 * No I/O, no clock, no logging. Mutations are two-phase so the service can
 * log before it mutates: `planX(...)` validates against the current state and
 * returns a `Mutation` holding the records to persist (`writes`) without
 * touching memory; after the writes are durable the caller runs `commit()`,
 * which applies exactly what was planned. Plans must be committed in the
 * order they were made, one at a time (server.ts runs every mutation through
 * one queue); a plan made against a state that changed since is refused at
 * commit rather than silently applied. This class owns that version, and is
 * the only place a batch's graph and its locations are added or removed —
 * always together.
 */
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../lib/errors.js';
import { LineageGraph, type RegisteredBatch } from './lineage-graph.js';
import { lineageStats } from './lineage-stats.js';
import {
  LOCATION_KINDS,
  formatBatch,
  formatDataset,
  type BatchGraphRecord,
  type BatchId,
  type BatchView,
  type DatasetLocationsRecord,
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
import { PartitionLocations, type LocationsDraft } from './partition-locations.js';
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

const NO_WRITES: StoreWrites = { locations: [], graphs: [], forget: [] };

function idOf(b: BatchId): BatchId {
  return { jobId: b.jobId, batchTimeMs: b.batchTimeMs };
}

export class LineageStore {
  private readonly graph = new LineageGraph();
  private readonly locations = new PartitionLocations();
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

  /** Register a batch; `maxBatchesPerJob` is enforced here, evicting the job's oldest batches (reported in the outcome). */
  planRegisterBatch(input: RegisterBatchInput): Mutation<RegisterOutcome> {
    const { graph, locations } = registrationRecords(input, (ref) => this.graph.dataset(ref));
    const existing = this.graph.batch(input.jobId, input.batchTimeMs);
    if (existing) {
      if (existing.fingerprint === graph.fingerprint) {
        // A retry of a registration that already succeeded: replace nothing (in
        // particular, don't re-add executors removed since).
        return this.mutation<RegisterOutcome>({ created: false, evicted: [] }, NO_WRITES, () => {});
      }
      const differs = sameDatasets(existing.datasets.values(), graph.datasets) ? 'different input blocks' : 'a different dataset graph';
      throw new AlreadyExistsError(`batch ${formatBatch(input)} is already registered with ${differs}`);
    }
    const evicted = this.batchesAt(input.jobId, evictionsToRegister(this.graph.times(input.jobId), input, this.maxBatchesPerJob));
    const evictedIds = evicted.map(idOf);
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
    const draft = this.locations.draft();
    for (const loc of locations) {
      if (!loc.dataset) throw new InvalidArgumentError(`${what}: every location needs a dataset ref`);
      const d = loc.dataset;
      validateBatchId(d.jobId, d.batchTimeMs, what);
      const where = `${loc.kind} ${loc.blockId || '(no block id)'} of ${formatDataset(d)} partition ${loc.partition}`;
      if (!LOCATION_KINDS.includes(loc.kind)) throw new InvalidArgumentError(`${what}: location of ${formatDataset(d)} has no valid kind`);
      const batch = this.graph.batch(d.jobId, d.batchTimeMs);
      if (!batch) throw new NotFoundError(`${what}: batch ${formatBatch(d)} is not registered (or was forgotten)`);
      const ds = batch.datasets.get(d.nodeId);
      if (!ds) throw new InvalidArgumentError(`${what}: ${where}: batch has no node ${d.nodeId}`);
      checkLocationFits(loc, ds, `${what}: ${where}`);
      const executorIds = validateExecutorIds(loc.executorIds, `${what}: ${where}`);
      const bytes = validateBytes(loc.bytes, `${what}: ${where}`);
      draft.upsert(d, loc.kind, loc.partition, loc.blockId, executorIds, bytes);
    }
    return this.draftMutation({ recorded: locations.length }, draft);
  }

  /**
   * Forget pieces dropped on purpose (see lineage.proto DropLocations):
   * matched by kind, dataset, partition and block id; anything unknown
   * (batch forgotten, piece never recorded) is skipped.
   */
  planDropLocations(locations: readonly LocationSpec[]): Mutation<{ dropped: number }> {
    const what = 'DropLocations';
    const draft = this.locations.draft();
    let dropped = 0;
    for (const loc of locations) {
      if (!loc.dataset) throw new InvalidArgumentError(`${what}: every location needs a dataset ref`);
      validateBatchId(loc.dataset.jobId, loc.dataset.batchTimeMs, what);
      if (!LOCATION_KINDS.includes(loc.kind)) throw new InvalidArgumentError(`${what}: location of ${formatDataset(loc.dataset)} has no valid kind`);
      if (!this.locations.has(loc.dataset)) continue;
      if (draft.delete(loc.dataset, loc.kind, loc.partition, loc.blockId)) dropped++;
    }
    return this.draftMutation({ dropped }, draft);
  }

  planRemoveExecutor(executorId: string): Mutation<{ locationsUpdated: number }> {
    if (typeof executorId !== 'string' || executorId.length === 0) {
      throw new InvalidArgumentError('RemoveExecutor: executor_id is required');
    }
    const { draft, updated } = this.locations.draftWithoutExecutor(executorId);
    return this.draftMutation({ locationsUpdated: updated }, draft);
  }

  /** Forget every batch of `jobId` older than `beforeBatchTimeMs` (retention.ts). */
  planForgetBatches(jobId: string, beforeBatchTimeMs: number): Mutation<{ batchesForgotten: number }> {
    validateForgetBatches(jobId, beforeBatchTimeMs);
    const victims = this.batchesAt(jobId, timesBefore(this.graph.times(jobId), beforeBatchTimeMs));
    return this.forgetMutation(victims, (ids) => ({ batchesForgotten: ids.length }));
  }

  /** Forget one batch (RegisterBatch with `replace`: a restarted scheduler re-planned it differently). */
  planForgetBatch(jobId: string, batchTimeMs: number): Mutation<{ batchesForgotten: number }> {
    const b = this.graph.batch(jobId, batchTimeMs);
    return this.forgetMutation(b ? [b] : [], (ids) => ({ batchesForgotten: ids.length }));
  }

  /**
   * Evict the oldest batches of every job above maxBatchesPerJob. Needed after
   * a restart with a lower limit, or when a crash left an eviction half done.
   */
  planEnforceBatchLimit(): Mutation<{ evicted: BatchId[] }> {
    const victims: RegisteredBatch[] = [];
    for (const [jobId, times] of this.graph.jobTimes()) {
      victims.push(...this.batchesAt(jobId, timesOverLimit(times, this.maxBatchesPerJob)));
    }
    return this.forgetMutation(victims, (ids) => ({ evicted: ids }));
  }

  /**
   * Put back a batch read from durable storage on start. Trusts the records
   * (they were validated when first registered); parents may be forgotten.
   */
  restoreBatch(graph: BatchGraphRecord, locations: readonly DatasetLocationsRecord[]): void {
    if (this.graph.batch(graph.jobId, graph.batchTimeMs)) {
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
    const batch = this.graph.batch(jobId, batchTimeMs);
    if (!batch) throw new NotFoundError(`batch ${jobId}@${batchTimeMs} is not registered (or was forgotten)`);
    const datasets: DatasetSpec[] = [...batch.datasets.values()]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((d) => ({
        ref: { jobId, batchTimeMs, nodeId: d.nodeId },
        operator: d.operator,
        dependency: d.dependency,
        parents: d.parents.map((p) => ({ ...p })),
        numPartitions: d.numPartitions,
      }));
    return { jobId, batchTimeMs, datasets, locations: this.locations.ofBatch(batch) };
  }

  /** Locations only `executorId` holds (lost) and those it shares with another executor (under-replicated). */
  lostOnExecutor(executorId: string): { lost: LocationSpec[]; underReplicated: LocationSpec[] } {
    return this.locations.lostOnExecutor(executorId);
  }

  /** The minimal set of tasks that rebuilds `partitions` (rebuild-planner.ts). */
  planRebuild(partitions: readonly PartitionId[]): RebuildPlan {
    return planRebuild(
      { dataset: (ref) => this.graph.dataset(ref), liveGroups: (ref) => this.locations.liveGroups(ref) },
      partitions,
      this.maxLineageDepth,
    );
  }

  stats(): LineageStats {
    return lineageStats(this.graph, this.locations);
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

  /** A mutation that persists and applies a locations draft. */
  private draftMutation<R>(result: R, draft: LocationsDraft): Mutation<R> {
    return this.mutation(result, { locations: draft.records(), graphs: [], forget: [] }, () => draft.apply());
  }

  /** A mutation that forgets `victims`, graph and locations. */
  private forgetMutation<R>(victims: readonly RegisteredBatch[], result: (ids: BatchId[]) => R): Mutation<R> {
    const ids = victims.map(idOf);
    return this.mutation(result(ids), { locations: [], graphs: [], forget: ids }, () => {
      for (const b of victims) this.removeBatch(b);
    });
  }

  private batchesAt(jobId: string, times: readonly number[]): RegisteredBatch[] {
    return times.map((t) => this.graph.batch(jobId, t)!);
  }

  private insertBatch(graph: BatchGraphRecord, locations: readonly DatasetLocationsRecord[]): void {
    this.locations.addBatch(this.graph.insert(graph), locations);
  }

  private removeBatch(batch: RegisteredBatch): void {
    if (this.graph.remove(batch)) this.locations.removeBatch(batch);
  }
}
