// Original file: proto/rivulet/v1/receiver.proto

import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from '../../rivulet/v1/BlockRef.js';
import type { Long } from '@grpc/proto-loader';

export interface GetBatchBlocksResponse {
  'stream'?: (string);
  'batchTimeMs'?: (number | string | Long);
  /**
   * False while the batch is still open or its blocks are still replicating.
   * A receiver restarted from its write-ahead log answers complete with the
   * logged blocks, and complete with no blocks for a batch within its
   * retention that it has no record of (nothing was acked in it).
   */
  'complete'?: (boolean);
  'blocks'?: (_rivulet_v1_BlockRef)[];
}

export interface GetBatchBlocksResponse__Output {
  'stream': (string);
  'batchTimeMs': (number);
  /**
   * False while the batch is still open or its blocks are still replicating.
   * A receiver restarted from its write-ahead log answers complete with the
   * logged blocks, and complete with no blocks for a batch within its
   * retention that it has no record of (nothing was acked in it).
   */
  'complete': (boolean);
  'blocks': (_rivulet_v1_BlockRef__Output)[];
}
