// Original file: proto/rivulet/v1/executor.proto

import type { PushedBlock as _rivulet_v1_PushedBlock, PushedBlock__Output as _rivulet_v1_PushedBlock__Output } from '../../rivulet/v1/PushedBlock.js';

export interface PushBlocksRequest {
  'blocks'?: (_rivulet_v1_PushedBlock)[];
}

export interface PushBlocksRequest__Output {
  'blocks': (_rivulet_v1_PushedBlock__Output)[];
}
