// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';

/**
 * The records one queue stream produced in the batch, cut into blocks (one
 * partition per block). No QueueInput for a stream: it produced nothing
 * (the batch has no partitions of it).
 */
export interface QueueInput {
  'stream'?: (string);
  'blocks'?: (_rivulet_v1_RecordBatch)[];
}

/**
 * The records one queue stream produced in the batch, cut into blocks (one
 * partition per block). No QueueInput for a stream: it produced nothing
 * (the batch has no partitions of it).
 */
export interface QueueInput__Output {
  'stream': (string);
  'blocks': (_rivulet_v1_RecordBatch__Output)[];
}
