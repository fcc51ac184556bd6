// Original file: proto/rivulet/v1/executor.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';

export interface PushedBlock {
  'blockId'?: (string);
  'batch'?: (_rivulet_v1_RecordBatch | null);
}

export interface PushedBlock__Output {
  'blockId': (string);
  'batch': (_rivulet_v1_RecordBatch__Output | null);
}
