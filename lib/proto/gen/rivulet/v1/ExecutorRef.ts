// Original file: proto/rivulet/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Where an executor can be reached, and which incarnation of it this is.
 * The epoch changes every time the executor process starts, so results and
 * blocks from an old incarnation can be told apart from a new one.
 */
export interface ExecutorRef {
  'executorId'?: (string);
  'address'?: (string);
  'epoch'?: (number | string | Long);
}

/**
 * Where an executor can be reached, and which incarnation of it this is.
 * The epoch changes every time the executor process starts, so results and
 * blocks from an old incarnation can be told apart from a new one.
 */
export interface ExecutorRef__Output {
  'executorId': (string);
  'address': (string);
  'epoch': (number);
}
