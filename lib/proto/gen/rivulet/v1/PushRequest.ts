// Original file: proto/rivulet/v1/receiver.proto

import type { PushOpen as _rivulet_v1_PushOpen, PushOpen__Output as _rivulet_v1_PushOpen__Output } from '../../rivulet/v1/PushOpen.js';
import type { PushRecords as _rivulet_v1_PushRecords, PushRecords__Output as _rivulet_v1_PushRecords__Output } from '../../rivulet/v1/PushRecords.js';

export interface PushRequest {
  'open'?: (_rivulet_v1_PushOpen | null);
  'records'?: (_rivulet_v1_PushRecords | null);
  'kind'?: "open"|"records";
}

export interface PushRequest__Output {
  'open'?: (_rivulet_v1_PushOpen__Output | null);
  'records'?: (_rivulet_v1_PushRecords__Output | null);
  'kind'?: "open"|"records";
}
