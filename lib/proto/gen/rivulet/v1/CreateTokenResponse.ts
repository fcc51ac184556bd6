// Original file: proto/rivulet/v1/scheduler.proto

import type { TokenInfo as _rivulet_v1_TokenInfo, TokenInfo__Output as _rivulet_v1_TokenInfo__Output } from '../../rivulet/v1/TokenInfo.js';

export interface CreateTokenResponse {
  /**
   * rvt_<id>_<secret>: shown once, never stored.
   */
  'token'?: (string);
  'info'?: (_rivulet_v1_TokenInfo | null);
}

export interface CreateTokenResponse__Output {
  /**
   * rvt_<id>_<secret>: shown once, never stored.
   */
  'token': (string);
  'info': (_rivulet_v1_TokenInfo__Output | null);
}
