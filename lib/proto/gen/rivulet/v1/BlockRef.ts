// Original file: proto/rivulet/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * An input block cut by the receiver and the executors that hold a replica.
 */
export interface BlockRef {
  'blockId'?: (string);
  'stream'?: (string);
  'records'?: (number);
  'bytes'?: (number | string | Long);
  'executorIds'?: (string)[];
}

/**
 * An input block cut by the receiver and the executors that hold a replica.
 */
export interface BlockRef__Output {
  'blockId': (string);
  'stream': (string);
  'records': (number);
  'bytes': (number);
  'executorIds': (string)[];
}
