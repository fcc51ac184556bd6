// Original file: proto/rivulet/v1/lineage.proto

import type { Long } from '@grpc/proto-loader';

export interface GetBatchRequest {
  'jobId'?: (string);
  'batchTimeMs'?: (number | string | Long);
}

export interface GetBatchRequest__Output {
  'jobId': (string);
  'batchTimeMs': (number);
}
