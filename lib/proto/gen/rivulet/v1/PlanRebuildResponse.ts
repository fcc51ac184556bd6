// Original file: proto/rivulet/v1/lineage.proto

import type { RebuildTask as _rivulet_v1_RebuildTask, RebuildTask__Output as _rivulet_v1_RebuildTask__Output } from '../../rivulet/v1/RebuildTask.js';
import type { PartitionRef as _rivulet_v1_PartitionRef, PartitionRef__Output as _rivulet_v1_PartitionRef__Output } from '../../rivulet/v1/PartitionRef.js';

export interface PlanRebuildResponse {
  'tasks'?: (_rivulet_v1_RebuildTask)[];
  /**
   * Partitions that cannot be rebuilt (their input is gone everywhere).
   */
  'unrecoverable'?: (_rivulet_v1_PartitionRef)[];
}

export interface PlanRebuildResponse__Output {
  'tasks': (_rivulet_v1_RebuildTask__Output)[];
  /**
   * Partitions that cannot be rebuilt (their input is gone everywhere).
   */
  'unrecoverable': (_rivulet_v1_PartitionRef__Output)[];
}
