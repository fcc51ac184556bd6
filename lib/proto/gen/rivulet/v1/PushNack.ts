// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushNack {
  'seq'?: (number | string | Long);
  /**
   * A google.rpc.Code value (e.g. 14 UNAVAILABLE when no executor can store the block).
   */
  'code'?: (number);
  'message'?: (string);
  /**
   * With code 8 RESOURCE_EXHAUSTED (the stream's ingest rate limit, set by
   * backpressure, is exceeded by more than the receiver's rateLimitMaxDelay):
   * how long to wait before re-sending this message. Nothing of it was stored.
   */
  'retryAfterMs'?: (number);
}

export interface PushNack__Output {
  'seq': (number);
  /**
   * A google.rpc.Code value (e.g. 14 UNAVAILABLE when no executor can store the block).
   */
  'code': (number);
  'message': (string);
  /**
   * With code 8 RESOURCE_EXHAUSTED (the stream's ingest rate limit, set by
   * backpressure, is exceeded by more than the receiver's rateLimitMaxDelay):
   * how long to wait before re-sending this message. Nothing of it was stored.
   */
  'retryAfterMs': (number);
}
