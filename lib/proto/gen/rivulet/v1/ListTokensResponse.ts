// Original file: proto/rivulet/v1/scheduler.proto

import type { TokenInfo as _rivulet_v1_TokenInfo, TokenInfo__Output as _rivulet_v1_TokenInfo__Output } from '../../rivulet/v1/TokenInfo.js';

export interface ListTokensResponse {
  'tokens'?: (_rivulet_v1_TokenInfo)[];
}

export interface ListTokensResponse__Output {
  'tokens': (_rivulet_v1_TokenInfo__Output)[];
}
