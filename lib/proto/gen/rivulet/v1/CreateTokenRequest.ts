// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateTokenRequest {
  /**
   * Who the token names (1-128 characters: letters, digits, . _ @ -).
   */
  'user'?: (string);
  /**
   * admin, submit, push or view.
   */
  'role'?: (string);
  /**
   * For push tokens: the only streams it may push to (empty: every stream).
   */
  'streams'?: (string)[];
  /**
   * 0: never expires.
   */
  'ttlMs'?: (number | string | Long);
}

export interface CreateTokenRequest__Output {
  /**
   * Who the token names (1-128 characters: letters, digits, . _ @ -).
   */
  'user': (string);
  /**
   * admin, submit, push or view.
   */
  'role': (string);
  /**
   * For push tokens: the only streams it may push to (empty: every stream).
   */
  'streams': (string)[];
  /**
   * 0: never expires.
   */
  'ttlMs': (number);
}
