// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushAck {
  'seq'?: (number | string | Long);
  'count'?: (number);
  'blockId'?: (string);
  'batchTimeMs'?: (number | string | Long);
  /**
   * This seq of the session was stored before (a retry): its records were
   * not stored again. block_id/batch_time_ms are those of the first store
   * when still known, else empty/0.
   */
  'duplicate'?: (boolean);
}

export interface PushAck__Output {
  'seq': (number);
  'count': (number);
  'blockId': (string);
  'batchTimeMs': (number);
  /**
   * This seq of the session was stored before (a retry): its records were
   * not stored again. block_id/batch_time_ms are those of the first store
   * when still known, else empty/0.
   */
  'duplicate': (boolean);
}
