// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ListStreamsResponse {
  'streams'?: (string)[];
  'batchIntervalMs'?: (number | string | Long);
}

export interface ListStreamsResponse__Output {
  'streams': (string)[];
  'batchIntervalMs': (number);
}
