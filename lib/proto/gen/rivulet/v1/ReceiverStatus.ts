// Original file: proto/rivulet/v1/scheduler.proto

import type { StreamIngestRate as _rivulet_v1_StreamIngestRate, StreamIngestRate__Output as _rivulet_v1_StreamIngestRate__Output } from '../../rivulet/v1/StreamIngestRate.js';
import type { Long } from '@grpc/proto-loader';

export interface ReceiverStatus {
  'receiverId'?: (string);
  'address'?: (string);
  /**
   * ALIVE, or GONE (silent for receiverTimeout: batches take its share from its write-ahead log).
   */
  'state'?: (string);
  /**
   * Changes every time the receiver process starts.
   */
  'incarnation'?: (string);
  /**
   * When the scheduler last heard it (its clock, ms since the epoch).
   */
  'lastSeenMs'?: (number | string | Long);
  /**
   * Records per second it acked, per stream, over about the last second (its heartbeats).
   */
  'ingestRates'?: (_rivulet_v1_StreamIngestRate)[];
}

export interface ReceiverStatus__Output {
  'receiverId': (string);
  'address': (string);
  /**
   * ALIVE, or GONE (silent for receiverTimeout: batches take its share from its write-ahead log).
   */
  'state': (string);
  /**
   * Changes every time the receiver process starts.
   */
  'incarnation': (string);
  /**
   * When the scheduler last heard it (its clock, ms since the epoch).
   */
  'lastSeenMs': (number);
  /**
   * Records per second it acked, per stream, over about the last second (its heartbeats).
   */
  'ingestRates': (_rivulet_v1_StreamIngestRate__Output)[];
}
