/**
 * Which batches to forget: ForgetBatches (the scheduler forgets what its
 * windows and state no longer reach), the `maxBatchesPerJob` bound on
 * registration (the oldest batches of the job make room, and the outcome
 * reports them so the service can log it), and trimming jobs that a restart
 * with a lower bound found above it. Pure: each takes a job's batch times
 * (ascending) and returns the times to forget, oldest first.
 *
 * Later batches whose parents are forgotten keep their refs; PlanRebuild
 * reports what it can no longer reach as unrecoverable.
 *
 * May not: forget anything itself — the store removes the chosen batches'
 * graph and locations together once the forgetting is durable.
 */
import { InvalidArgumentError, ResourceExhaustedError } from '../../lib/errors.js';
import { checkName } from '../../lib/names.js';
import { formatBatch, type BatchId } from './lineage-types.js';

/** ForgetBatches(jobId, before): every batch older than `beforeBatchTimeMs`. */
export function timesBefore(times: readonly number[], beforeBatchTimeMs: number): number[] {
  return times.filter((t) => t < beforeBatchTimeMs);
}

export function validateForgetBatches(jobId: unknown, beforeBatchTimeMs: unknown): void {
  checkName('ForgetBatches: job_id', jobId);
  if (!Number.isSafeInteger(beforeBatchTimeMs)) throw new InvalidArgumentError('ForgetBatches: before_batch_time_ms must be an integer');
}

/**
 * The oldest batches to evict so that registering `batch` keeps its job within
 * `maxBatchesPerJob`. RESOURCE_EXHAUSTED when `batch` is older than every
 * batch kept: it would itself be the one evicted.
 */
export function evictionsToRegister(times: readonly number[], batch: BatchId, maxBatchesPerJob: number): number[] {
  const excess = times.length + 1 - maxBatchesPerJob;
  if (excess <= 0) return [];
  const older = times.filter((t) => t < batch.batchTimeMs).length;
  if (older < excess) {
    throw new ResourceExhaustedError(
      `batch ${formatBatch(batch)} is older than the ${maxBatchesPerJob} batches kept for job ${batch.jobId} (maxBatchesPerJob) and would be evicted at once`,
    );
  }
  return times.slice(0, excess);
}

/** The oldest batches of a job above `maxBatchesPerJob` (after a restart with a lower limit, or a half-done eviction). */
export function timesOverLimit(times: readonly number[], maxBatchesPerJob: number): number[] {
  return times.slice(0, Math.max(0, times.length - maxBatchesPerJob));
}
