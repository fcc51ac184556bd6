// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { Long } from '@grpc/proto-loader';

export interface SubmitDrivenJobResponse {
  'jobId'?: (string);
  /**
   * The job's queue streams, and its named outputs (output(name) only).
   */
  'queueStreams'?: (string)[];
  'outputs'?: (string)[];
  'batchIntervalMs'?: (number | string | Long);
}

export interface SubmitDrivenJobResponse__Output {
  'jobId': (string);
  /**
   * The job's queue streams, and its named outputs (output(name) only).
   */
  'queueStreams': (string)[];
  'outputs': (string)[];
  'batchIntervalMs': (number);
}
