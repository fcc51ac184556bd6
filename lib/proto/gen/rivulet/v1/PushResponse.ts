// Original file: proto/rivulet/v1/receiver.proto

import type { PushOpened as _rivulet_v1_PushOpened, PushOpened__Output as _rivulet_v1_PushOpened__Output } from '../../rivulet/v1/PushOpened.js';
import type { PushAck as _rivulet_v1_PushAck, PushAck__Output as _rivulet_v1_PushAck__Output } from '../../rivulet/v1/PushAck.js';
import type { PushNack as _rivulet_v1_PushNack, PushNack__Output as _rivulet_v1_PushNack__Output } from '../../rivulet/v1/PushNack.js';

export interface PushResponse {
  'opened'?: (_rivulet_v1_PushOpened | null);
  'ack'?: (_rivulet_v1_PushAck | null);
  'nack'?: (_rivulet_v1_PushNack | null);
  'kind'?: "opened"|"ack"|"nack";
}

export interface PushResponse__Output {
  'opened'?: (_rivulet_v1_PushOpened__Output | null);
  'ack'?: (_rivulet_v1_PushAck__Output | null);
  'nack'?: (_rivulet_v1_PushNack__Output | null);
  'kind'?: "opened"|"ack"|"nack";
}
