// Original file: proto/rivulet/v1/lineage.proto

import type { Dataset as _rivulet_v1_Dataset, Dataset__Output as _rivulet_v1_Dataset__Output } from '../../rivulet/v1/Dataset.js';
import type { Location as _rivulet_v1_Location, Location__Output as _rivulet_v1_Location__Output } from '../../rivulet/v1/Location.js';
import type { Long } from '@grpc/proto-loader';

export interface BatchLineage {
  'jobId'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'datasets'?: (_rivulet_v1_Dataset)[];
  'locations'?: (_rivulet_v1_Location)[];
}

export interface BatchLineage__Output {
  'jobId': (string);
  'batchTimeMs': (number);
  'datasets': (_rivulet_v1_Dataset__Output)[];
  'locations': (_rivulet_v1_Location__Output)[];
}
