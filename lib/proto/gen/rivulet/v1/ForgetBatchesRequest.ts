// Original file: proto/rivulet/v1/lineage.proto

import type { Long } from '@grpc/proto-loader';

export interface ForgetBatchesRequest {
  'jobId'?: (string);
  /**
   * Forget every batch of the job with batch_time_ms < this.
   */
  'beforeBatchTimeMs'?: (number | string | Long);
}

export interface ForgetBatchesRequest__Output {
  'jobId': (string);
  /**
   * Forget every batch of the job with batch_time_ms < this.
   */
  'beforeBatchTimeMs': (number);
}
