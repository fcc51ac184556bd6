// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushOpened {
  'stream'?: (string);
  'batchIntervalMs'?: (number | string | Long);
  /**
   * Largest PushRecords message the receiver accepts, so clients can size batches.
   */
  'maxMessageBytes'?: (number);
  /**
   * The receiver's id (receiverId): the SDK names it in previous_receiver_ids
   * when it fails over to another receiver.
   */
  'receiverId'?: (string);
}

export interface PushOpened__Output {
  'stream': (string);
  'batchIntervalMs': (number);
  /**
   * Largest PushRecords message the receiver accepts, so clients can size batches.
   */
  'maxMessageBytes': (number);
  /**
   * The receiver's id (receiverId): the SDK names it in previous_receiver_ids
   * when it fails over to another receiver.
   */
  'receiverId': (string);
}
