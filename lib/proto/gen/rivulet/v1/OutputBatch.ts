// Original file: proto/rivulet/v1/scheduler.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One committed batch of an output, or one piece of it: a batch whose payload
 * would not fit one gRPC message is sent as `chunks` consecutive messages
 * (chunk 0 … chunks-1) of the same batch time, each with a slice of the
 * packed payload and records.count set on chunk 0 only; the receiver
 * concatenates the slices. chunks 0 or 1 means the message is the whole batch.
 */
export interface OutputBatch {
  'jobId'?: (string);
  'output'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'records'?: (_rivulet_v1_RecordBatch | null);
  'chunk'?: (number);
  'chunks'?: (number);
}

/**
 * One committed batch of an output, or one piece of it: a batch whose payload
 * would not fit one gRPC message is sent as `chunks` consecutive messages
 * (chunk 0 … chunks-1) of the same batch time, each with a slice of the
 * packed payload and records.count set on chunk 0 only; the receiver
 * concatenates the slices. chunks 0 or 1 means the message is the whole batch.
 */
export interface OutputBatch__Output {
  'jobId': (string);
  'output': (string);
  'batchTimeMs': (number);
  'records': (_rivulet_v1_RecordBatch__Output | null);
  'chunk': (number);
  'chunks': (number);
}
