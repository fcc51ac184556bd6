// Original file: proto/rivulet/v1/lineage.proto

import type { Location as _rivulet_v1_Location, Location__Output as _rivulet_v1_Location__Output } from '../../rivulet/v1/Location.js';

export interface LostOnExecutorResponse {
  'lost'?: (_rivulet_v1_Location)[];
  'underReplicated'?: (_rivulet_v1_Location)[];
}

export interface LostOnExecutorResponse__Output {
  'lost': (_rivulet_v1_Location__Output)[];
  'underReplicated': (_rivulet_v1_Location__Output)[];
}
