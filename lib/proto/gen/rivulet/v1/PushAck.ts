// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface PushAck {
  'seq'?: (number | string | Long);
  'count'?: (number);
  'blockId'?: (string);
  'batchTimeMs'?: (number | string | Long);
}

export interface PushAck__Output {
  'seq': (number);
  'count': (number);
  'blockId': (string);
  'batchTimeMs': (number);
}
