// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface GetBatchBlocksRequest {
  'stream'?: (string);
  'batchTimeMs'?: (number | string | Long);
}

export interface GetBatchBlocksRequest__Output {
  'stream': (string);
  'batchTimeMs': (number);
}
