// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';

export interface CommittedOutput {
  'output'?: (string);
  'records'?: (_rivulet_v1_RecordBatch | null);
}

export interface CommittedOutput__Output {
  'output': (string);
  'records': (_rivulet_v1_RecordBatch__Output | null);
}
