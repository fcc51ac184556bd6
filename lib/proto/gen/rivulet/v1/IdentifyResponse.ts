// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

export interface IdentifyResponse {
  'executorId'?: (string);
  'epoch'?: (number | string | Long);
}

export interface IdentifyResponse__Output {
  'executorId': (string);
  'epoch': (number);
}
