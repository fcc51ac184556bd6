/**
 * Checks shared by every lineage request: ids, counts, executor lists, and
 * whether a location fits the dataset it names. Pure; each throws
 * InvalidArgumentError with the caller's context in front, and returns the
 * value normalised where there is something to normalise (executor ids are
 * deduplicated and sorted).
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { checkName } from '../../lib/names.js';

/** Replicas one location may list. */
const MAX_EXECUTOR_IDS = 64;
import type { DatasetRecord, LocationKind } from './lineage-types.js';
import { mapPartitionCount } from './partition-mapping.js';

export function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function validateBatchId(jobId: unknown, batchTimeMs: unknown, what: string): void {
  checkName(`${what}: job_id`, jobId);
  if (!isUint(batchTimeMs)) throw new InvalidArgumentError(`${what}: batch_time_ms must be a non-negative integer, got ${String(batchTimeMs)}`);
}

export function validateExecutorIds(ids: readonly string[], what: string): string[] {
  if (ids.length > MAX_EXECUTOR_IDS) throw new InvalidArgumentError(`${what}: ${ids.length} executor ids, over ${MAX_EXECUTOR_IDS}`);
  for (const id of ids) checkName(`${what}: one of its executor ids`, id);
  return [...new Set(ids)].sort();
}

export function validateBytes(bytes: unknown, what: string): number {
  if (!isUint(bytes)) throw new InvalidArgumentError(`${what}: bytes must be a non-negative integer`);
  return bytes;
}

/**
 * A recorded location must name a block, and a partition the dataset has
 * for that kind: INPUT_BLOCKs belong to SOURCE datasets, SHUFFLE_OUTPUTs to
 * the shuffled dataset and are numbered by map partition. `context` is
 * "<rpc>: <which location>".
 */
export function checkLocationFits(
  loc: { readonly kind: LocationKind; readonly partition: number; readonly blockId: string },
  ds: DatasetRecord,
  context: string,
): void {
  if (typeof loc.blockId !== 'string' || loc.blockId.length === 0) throw new InvalidArgumentError(`${context} needs a block_id`);
  checkName(`${context}: block_id`, loc.blockId, 'id');
  if (!isUint(loc.partition)) throw new InvalidArgumentError(`${context}: partition must be a non-negative integer`);
  let bound: number;
  switch (loc.kind) {
    case 'INPUT_BLOCK':
      if (ds.dependency !== 'SOURCE') throw new InvalidArgumentError(`${context}: INPUT_BLOCK needs a SOURCE dataset`);
      bound = ds.numPartitions;
      break;
    case 'SHUFFLE_OUTPUT':
      if (ds.dependency !== 'SHUFFLE') {
        throw new InvalidArgumentError(`${context}: SHUFFLE_OUTPUT must name the shuffled (SHUFFLE) dataset`);
      }
      bound = mapPartitionCount(ds);
      break;
    case 'PARTITION':
    case 'CHECKPOINT':
      bound = ds.numPartitions;
      break;
  }
  if (loc.partition >= bound) throw new InvalidArgumentError(`${context}: partition out of range (< ${bound})`);
}
