// Original file: proto/rivulet/v1/executor.proto

import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';

export interface BlockCopy {
  'blockId'?: (string);
  /**
   * Records in the block (stored with it; the payload is not decoded here).
   */
  'records'?: (number);
  'source'?: (_rivulet_v1_ExecutorRef | null);
}

export interface BlockCopy__Output {
  'blockId': (string);
  /**
   * Records in the block (stored with it; the payload is not decoded here).
   */
  'records': (number);
  'source': (_rivulet_v1_ExecutorRef__Output | null);
}
