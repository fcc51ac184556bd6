// Original file: proto/rivulet/v1/lineage.proto

import type { PartitionRef as _rivulet_v1_PartitionRef, PartitionRef__Output as _rivulet_v1_PartitionRef__Output } from '../../rivulet/v1/PartitionRef.js';

export interface PlanRebuildRequest {
  'partitions'?: (_rivulet_v1_PartitionRef)[];
}

export interface PlanRebuildRequest__Output {
  'partitions': (_rivulet_v1_PartitionRef__Output)[];
}
