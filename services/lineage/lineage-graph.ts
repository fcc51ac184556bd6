/**
 * The registered dataset graph: per job, its live batches in time order, and
 * per batch the datasets as registered (operator, dependency kind, parents,
 * partition counts) with the fingerprint that identifies the registration.
 *
 * Owns: which batches exist. May not: check a registration (registration.ts
 * does, before anything is inserted), choose what to forget (retention.ts),
 * or hold locations (partition-locations.ts) — the store inserts and removes
 * a batch here and its locations there together.
 */
import { type BatchGraphRecord, type BatchId, type DatasetId, type DatasetRecord } from './lineage-types.js';

/** One batch as registered. */
export interface RegisteredBatch extends BatchId {
  /** sha256 of the canonical graph and input block ids (registration.ts). */
  readonly fingerprint: string;
  readonly datasets: ReadonlyMap<number, DatasetRecord>;
}

interface JobState {
  readonly batches: Map<number, RegisteredBatch>;
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

export class LineageGraph {
  /** In the order jobs were (first, or again after being emptied) registered. */
  private readonly jobs = new Map<string, JobState>();

  get jobCount(): number {
    return this.jobs.size;
  }

  batch(jobId: string, batchTimeMs: number): RegisteredBatch | undefined {
    return this.jobs.get(jobId)?.batches.get(batchTimeMs);
  }

  dataset(ref: DatasetId): DatasetRecord | undefined {
    return this.jobs.get(ref.jobId)?.batches.get(ref.batchTimeMs)?.datasets.get(ref.nodeId);
  }

  /** A job's batch times, ascending; empty for a job with none. */
  times(jobId: string): readonly number[] {
    return this.jobs.get(jobId)?.times ?? [];
  }

  /** Every job that has batches, with its batch times ascending. */
  *jobTimes(): IterableIterator<[jobId: string, times: readonly number[]]> {
    for (const [jobId, job] of this.jobs) yield [jobId, job.times];
  }

  /** Every registered batch, job by job, each job's in time order. */
  *batches(): IterableIterator<RegisteredBatch> {
    for (const job of this.jobs.values()) for (const t of job.times) yield job.batches.get(t)!;
  }

  insert(graph: BatchGraphRecord): RegisteredBatch {
    const batch: RegisteredBatch = {
      jobId: graph.jobId,
      batchTimeMs: graph.batchTimeMs,
      fingerprint: graph.fingerprint,
      datasets: new Map(graph.datasets.map((d) => [d.nodeId, d])),
    };
    let job = this.jobs.get(graph.jobId);
    if (!job) this.jobs.set(graph.jobId, (job = { batches: new Map(), times: [] }));
    job.batches.set(graph.batchTimeMs, batch);
    insertSorted(job.times, graph.batchTimeMs);
    return batch;
  }

  /** Remove `batch` if it is still the registered one; false when it was not. */
  remove(batch: RegisteredBatch): boolean {
    const job = this.jobs.get(batch.jobId);
    if (!job || job.batches.get(batch.batchTimeMs) !== batch) return false;
    job.batches.delete(batch.batchTimeMs);
    const i = job.times.indexOf(batch.batchTimeMs);
    if (i >= 0) job.times.splice(i, 1);
    if (job.batches.size === 0) this.jobs.delete(batch.jobId);
    return true;
  }
}
