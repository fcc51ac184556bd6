// Original file: proto/rivulet/v1/lineage.proto

import type { PartitionRef as _rivulet_v1_PartitionRef, PartitionRef__Output as _rivulet_v1_PartitionRef__Output } from '../../rivulet/v1/PartitionRef.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';

export interface RebuildTask {
  /**
   * The partition to compute; for a shuffle's map side, the map partition.
   */
  'partition'?: (_rivulet_v1_PartitionRef | null);
  /**
   * Set when this task rewrites the map output of a shuffle.
   */
  'shuffleFor'?: (_rivulet_v1_DatasetRef | null);
  /**
   * Depth in the rebuild DAG: tasks of depth 0 read only durable data and can
   * all run at once; depth d waits for depth d-1.
   */
  'depth'?: (number);
  /**
   * Materialised partitions the task reads where the walk stopped (cached,
   * checkpointed, or a source's input blocks), through the narrow ancestors
   * it pipelines — for a lost state: the checkpoint it starts from and the
   * values of every batch it replays. Map outputs it reads are not listed.
   */
  'reads'?: (_rivulet_v1_PartitionRef)[];
}

export interface RebuildTask__Output {
  /**
   * The partition to compute; for a shuffle's map side, the map partition.
   */
  'partition': (_rivulet_v1_PartitionRef__Output | null);
  /**
   * Set when this task rewrites the map output of a shuffle.
   */
  'shuffleFor': (_rivulet_v1_DatasetRef__Output | null);
  /**
   * Depth in the rebuild DAG: tasks of depth 0 read only durable data and can
   * all run at once; depth d waits for depth d-1.
   */
  'depth': (number);
  /**
   * Materialised partitions the task reads where the walk stopped (cached,
   * checkpointed, or a source's input blocks), through the narrow ancestors
   * it pipelines — for a lost state: the checkpoint it starts from and the
   * values of every batch it replays. Map outputs it reads are not listed.
   */
  'reads': (_rivulet_v1_PartitionRef__Output)[];
}
