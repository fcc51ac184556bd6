// Original file: proto/rivulet/v1/lineage.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';

export interface PartitionRef {
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'partition'?: (number);
}

export interface PartitionRef__Output {
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'partition': (number);
}
