// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

export interface DropBlocksResponse {
  'dropped'?: (number);
  'bytesFreed'?: (number | string | Long);
}

export interface DropBlocksResponse__Output {
  'dropped': (number);
  'bytesFreed': (number);
}
