// Original file: proto/rivulet/v1/scheduler.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';
import type { Long } from '@grpc/proto-loader';

export interface OutputBatch {
  'jobId'?: (string);
  'output'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'records'?: (_rivulet_v1_RecordBatch | null);
}

export interface OutputBatch__Output {
  'jobId': (string);
  'output': (string);
  'batchTimeMs': (number);
  'records': (_rivulet_v1_RecordBatch__Output | null);
}
