// Original file: proto/rivulet/v1/receiver.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';
import type { Long } from '@grpc/proto-loader';

export interface PushRecords {
  /**
   * Chosen by the client, echoed in the ack/nack. Without a session it must
   * increase within a call; with one it identifies the message within the
   * session (a retry re-sends the same seq).
   */
  'seq'?: (number | string | Long);
  'batch'?: (_rivulet_v1_RecordBatch | null);
}

export interface PushRecords__Output {
  /**
   * Chosen by the client, echoed in the ack/nack. Without a session it must
   * increase within a call; with one it identifies the message within the
   * session (a retry re-sends the same seq).
   */
  'seq': (number);
  'batch': (_rivulet_v1_RecordBatch__Output | null);
}
