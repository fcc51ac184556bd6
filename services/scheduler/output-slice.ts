/**
 * SliceOutput's answer (scheduler.proto): the retained committed batches of one
 * output of a job in a time range — Spark's `DStream.slice(fromTime, toTime)`
 * asked of the scheduler, which is where an output's batches are remembered
 * (the OutputStore, bounded by outputRetentionBatches / outputRetentionBytes,
 * as Spark's `remember(duration)` bounds what a DStream still has).
 *
 * The range is aligned down to the output's grid (lib/dstream/slice.ts). What
 * is served is a snapshot of the ring taken at once, so a batch committed while
 * the answer is being written is not in it (and a later slice has it).
 *
 * A range reaching before the oldest retained batch is not refused: Spark's
 * slice returns the RDDs it still has, so this returns the retained part and
 * says so (`truncated`), with the retained window, so a caller can tell a
 * complete answer from a partial one. `truncated` assumes the output committed
 * at every grid point since the job started — true of clocked jobs; a driven
 * job (rivulet/testing) whose first batches' queue inputs were all `null`
 * committed nothing then, and a range over those may be flagged needlessly.
 * Owns nothing; changes nothing.
 */
import type { OutputNode } from '../../lib/dstream/graph.js';
import { nodeSlides } from '../../lib/dstream/planner.js';
import { alignSliceRange, inRange, type AlignedRange, type BatchGrid } from '../../lib/dstream/slice.js';
import type { Job } from './job-registry.js';
import type { CommittedBatch } from './output-store.js';

export interface SliceWindowInfo extends AlignedRange, BatchGrid {
  retainedBatches: number;
  /** Undefined when nothing is retained (nothing committed yet). */
  oldestRetainedMs?: number;
  newestRetainedMs?: number;
  /** Part of the range lies before the oldest retained batch, after the job started: batches there were dropped. */
  truncated: boolean;
  /** The range reaches past the newest committed batch of a running job: more batches in range may come. */
  pending: boolean;
  jobState: Job['state'];
}

export interface OutputSliceAnswer {
  window: SliceWindowInfo;
  /** Oldest first. */
  batches: CommittedBatch[];
}

/**
 * The grid of `output`'s batch times: the batch interval from the job's zero
 * time, or the slide of a windowed output (outputs that are not nodes of the
 * graph — JetStream sources' dead letters — commit every batch).
 */
export function outputGrid(job: Pick<Job, 'graph' | 'zeroTimeMs'>, output: string, batchIntervalMs: number): BatchGrid {
  const node = job.graph.outputs.find((o: OutputNode) => o.name === output);
  const gridMs = node ? nodeSlides(job.graph, batchIntervalMs)[node.id]! : batchIntervalMs;
  return { gridMs, zeroTimeMs: job.zeroTimeMs };
}

/**
 * Slice `retained` (the output's ring, oldest first) to [from, to] after
 * checking and aligning the range. Throws InvalidArgumentError for a bad range.
 */
export function sliceRetained(
  job: Pick<Job, 'graph' | 'zeroTimeMs' | 'state'>,
  output: string,
  retained: readonly CommittedBatch[],
  fromMs: number,
  toMs: number,
  batchIntervalMs: number,
): OutputSliceAnswer {
  const grid = outputGrid(job, output, batchIntervalMs);
  const range = alignSliceRange(fromMs, toMs, grid, 'SliceOutput');
  const oldest = retained[0]?.batchTimeMs;
  const newest = retained[retained.length - 1]?.batchTimeMs;
  // The output's first batch time is the first grid point after the zero time: nothing was committed before it.
  const firstPossible = Math.max(range.fromMs, grid.zeroTimeMs + grid.gridMs);
  const truncated = oldest !== undefined && firstPossible < oldest && firstPossible <= range.toMs;
  const pending = job.state === 'RUNNING' && (newest === undefined || range.toMs > newest);
  return {
    window: {
      ...range,
      ...grid,
      retainedBatches: retained.length,
      oldestRetainedMs: oldest,
      newestRetainedMs: newest,
      truncated,
      pending,
      jobState: job.state,
    },
    batches: inRange(retained, range, (b) => b.batchTimeMs),
  };
}
