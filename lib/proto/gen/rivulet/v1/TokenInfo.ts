// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface TokenInfo {
  'id'?: (string);
  'user'?: (string);
  'role'?: (string);
  'streams'?: (string)[];
  'createdAtMs'?: (number | string | Long);
  /**
   * 0: never expires.
   */
  'expiresAtMs'?: (number | string | Long);
  'createdBy'?: (string);
}

export interface TokenInfo__Output {
  'id': (string);
  'user': (string);
  'role': (string);
  'streams': (string)[];
  'createdAtMs': (number);
  /**
   * 0: never expires.
   */
  'expiresAtMs': (number);
  'createdBy': (string);
}
