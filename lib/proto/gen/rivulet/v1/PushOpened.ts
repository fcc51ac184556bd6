// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushOpened {
  'stream'?: (string);
  'batchIntervalMs'?: (number | string | Long);
  /**
   * Largest PushRecords message the receiver accepts, so clients can size batches.
   */
  'maxMessageBytes'?: (number);
}

export interface PushOpened__Output {
  'stream': (string);
  'batchIntervalMs': (number);
  /**
   * Largest PushRecords message the receiver accepts, so clients can size batches.
   */
  'maxMessageBytes': (number);
}
