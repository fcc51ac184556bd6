// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { QueueInput as _rivulet_v1_QueueInput, QueueInput__Output as _rivulet_v1_QueueInput__Output } from '../../rivulet/v1/QueueInput.js';
import type { Long } from '@grpc/proto-loader';

export interface RunBatchRequest {
  'jobId'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'inputs'?: (_rivulet_v1_QueueInput)[];
}

export interface RunBatchRequest__Output {
  'jobId': (string);
  'batchTimeMs': (number);
  'inputs': (_rivulet_v1_QueueInput__Output)[];
}
