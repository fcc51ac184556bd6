// Original file: proto/rivulet/v1/lineage.proto

import type { Location as _rivulet_v1_Location, Location__Output as _rivulet_v1_Location__Output } from '../../rivulet/v1/Location.js';

export interface DropLocationsRequest {
  'locations'?: (_rivulet_v1_Location)[];
}

export interface DropLocationsRequest__Output {
  'locations': (_rivulet_v1_Location__Output)[];
}
