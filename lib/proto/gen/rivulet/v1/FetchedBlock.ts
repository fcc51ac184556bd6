// Original file: proto/rivulet/v1/executor.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One block, or one slice of a block larger than a message: a block whose
 * payload does not fit in maxMessageBytes comes as consecutive messages with
 * the same block_id, each holding the slice of the payload that starts at
 * `offset`; every slice carries the block's record count and `total_bytes`,
 * the payload's full size (so the reader knows when it has it all).
 */
export interface FetchedBlock {
  'blockId'?: (string);
  'batch'?: (_rivulet_v1_RecordBatch | null);
  'offset'?: (number | string | Long);
  'totalBytes'?: (number | string | Long);
}

/**
 * One block, or one slice of a block larger than a message: a block whose
 * payload does not fit in maxMessageBytes comes as consecutive messages with
 * the same block_id, each holding the slice of the payload that starts at
 * `offset`; every slice carries the block's record count and `total_bytes`,
 * the payload's full size (so the reader knows when it has it all).
 */
export interface FetchedBlock__Output {
  'blockId': (string);
  'batch': (_rivulet_v1_RecordBatch__Output | null);
  'offset': (number);
  'totalBytes': (number);
}
