// Original file: proto/rivulet/v1/executor.proto

import type { BlockCopy as _rivulet_v1_BlockCopy, BlockCopy__Output as _rivulet_v1_BlockCopy__Output } from '../../rivulet/v1/BlockCopy.js';

export interface ReplicateBlocksRequest {
  'blocks'?: (_rivulet_v1_BlockCopy)[];
}

export interface ReplicateBlocksRequest__Output {
  'blocks': (_rivulet_v1_BlockCopy__Output)[];
}
