// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

export interface PutBlockResponse {
  'executorId'?: (string);
  'epoch'?: (number | string | Long);
}

export interface PutBlockResponse__Output {
  'executorId': (string);
  'epoch': (number);
}
