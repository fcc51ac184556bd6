// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface SubmitJobResponse {
  'jobId'?: (string);
  'bundleHash'?: (string);
  'streams'?: (string)[];
  'outputs'?: (string)[];
  /**
   * The first batch the job will process.
   */
  'firstBatchTimeMs'?: (number | string | Long);
}

export interface SubmitJobResponse__Output {
  'jobId': (string);
  'bundleHash': (string);
  'streams': (string)[];
  'outputs': (string)[];
  /**
   * The first batch the job will process.
   */
  'firstBatchTimeMs': (number);
}
