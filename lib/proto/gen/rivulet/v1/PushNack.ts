// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushNack {
  'seq'?: (number | string | Long);
  /**
   * A google.rpc.Code value (e.g. 14 UNAVAILABLE when no executor can store the block).
   */
  'code'?: (number);
  'message'?: (string);
}

export interface PushNack__Output {
  'seq': (number);
  /**
   * A google.rpc.Code value (e.g. 14 UNAVAILABLE when no executor can store the block).
   */
  'code': (number);
  'message': (string);
}
