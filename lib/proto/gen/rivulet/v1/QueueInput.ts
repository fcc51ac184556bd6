// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';

/**
 * The records one queue stream produced in the batch, cut into blocks (one
 * partition per block; no blocks: an empty dataset). No QueueInput for a
 * stream: it generated no dataset this batch (Spark's "no RDD for this time"),
 * see lib/dstream/planner.ts.
 */
export interface QueueInput {
  'stream'?: (string);
  'blocks'?: (_rivulet_v1_RecordBatch)[];
}

/**
 * The records one queue stream produced in the batch, cut into blocks (one
 * partition per block; no blocks: an empty dataset). No QueueInput for a
 * stream: it generated no dataset this batch (Spark's "no RDD for this time"),
 * see lib/dstream/planner.ts.
 */
export interface QueueInput__Output {
  'stream': (string);
  'blocks': (_rivulet_v1_RecordBatch__Output)[];
}
